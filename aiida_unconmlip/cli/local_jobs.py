"""The jobs of a foreground run on this machine, watched through their processes instead of polled with ``ps``.

AiiDA's runner learns that a job ended by polling its scheduler every ``minimum_scheduler_poll_interval``. For a job
on this machine (``core.local`` transport, ``core.direct`` scheduler) each poll runs ``ps`` in a shell and writes the
job's scheduler state, job info and process status to the database: 10 to 25 ms of CPU every 0.2 s, taken from the
engine on 2 cores (the model time of 40 supercells was 5.1 s polled every 0.2 s and 4.2 to 4.6 s every 2 s), and a
job that ends is noticed up to a poll interval later.

Here the first poll of a job is AiiDA's own, so the node records the scheduler's answer as before. A job that poll
finds running is then watched through a pidfd of its process (the job id of the direct scheduler is the PID of the
job's script): until the process ends, its update request waits without ``ps`` and without database writes, and the
list looks at the pidfds every :data:`WATCH_SECONDS`, which costs microseconds. Once the process has ended, the
request settles as a poll that no longer finds the job does, and the job is retrieved. Jobs whose process cannot be
watched (no pidfd on this system) are polled as before.
"""

from __future__ import annotations

import os
import select
import time

from aiida.engine.processes.calcjobs.manager import JobManager, JobsList
from aiida.schedulers.datastructures import JobState

# How often the pidfds of watched jobs are looked at: a job's end is noticed within this, at no cost worth counting.
WATCH_SECONDS = 0.02


def process_watch(pid: str) -> int | None:
    """A pidfd of process ``pid``, readable once it has ended; ``-1`` if it has ended already; ``None`` where
    processes cannot be watched (not Linux >= 5.3, or ``pid`` is no PID)."""
    try:
        return os.pidfd_open(int(pid))
    except ProcessLookupError:
        return -1
    except (AttributeError, ValueError, OSError):
        return None


def has_ended(watch: int) -> bool:
    return watch == -1 or bool(select.select([watch], [], [], 0)[0])


class WatchedJobsList(JobsList):
    """A ``JobsList`` of a computer on this machine: jobs found running are watched, not polled."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._watches: dict[str, int] = {}

    def get_minimum_update_interval(self) -> float:
        if self._watches and set(self._outstanding()) <= self._watches.keys():
            return WATCH_SECONDS  # only pidfds to look at
        return super().get_minimum_update_interval()

    def _outstanding(self) -> list[str]:
        return [str(job_id) for job_id, request in self._job_update_requests.items() if not request.done()]

    async def _get_jobs_from_scheduler(self):
        outstanding = self._outstanding()
        self._forget_watches(set(self._watches) - set(outstanding))  # requests cancelled: the process was killed
        ended = {job_id for job_id in outstanding if job_id in self._watches and has_ended(self._watches[job_id])}
        polled = [job_id for job_id in outstanding if job_id not in self._watches]
        jobs = await super()._get_jobs_from_scheduler() if polled else {}
        self._last_updated = time.time()
        for job_id in polled:
            info = jobs.get(job_id)
            if info is not None and info.job_state in (JobState.QUEUED, JobState.RUNNING):
                watch = process_watch(job_id)
                if watch is not None:
                    self._watches[job_id] = watch
        self._forget_watches(ended)
        # Only these requests settle now: the others are watched jobs whose process runs.
        self._polling_jobs = frozenset(polled) | frozenset(ended)
        return {job_id: info for job_id, info in jobs.items() if job_id not in ended}

    def _forget_watches(self, job_ids) -> None:
        for job_id in job_ids:
            watch = self._watches.pop(job_id)
            if watch != -1:
                os.close(watch)


class WatchedJobManager(JobManager):
    """A ``JobManager`` whose jobs on this machine are watched (:class:`WatchedJobsList`)."""

    def get_jobs_list(self, authinfo):
        computer = authinfo.computer
        if authinfo.pk not in self._job_lists and (computer.transport_type, computer.scheduler_type) == (
            'core.local',
            'core.direct',
        ):
            self._job_lists[authinfo.pk] = WatchedJobsList(authinfo, self._transport_queue)
        return super().get_jobs_list(authinfo)
