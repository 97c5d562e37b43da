"""The engine's own progress during a foreground run's long evaluate jobs, on stderr.

The engine prints ``[   12.3 s] 40/400 structures done`` to the job's stdout after each batch (:mod:`..engine.jobs`);
on this machine that is the scheduler's stdout file in the job's working directory. A foreground run reads the last
such line of each of its running evaluate jobs every :data:`CHECK_SECONDS` and, once a job has run for
:data:`QUIET_SECONDS` (short jobs stay silent), prints structures done, the rate and an estimate of the time left at
most every :data:`QUIET_SECONDS` per job. Jobs on other computers are left to ``verdi process`` and the scheduler.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CHECK_SECONDS = 1.0
QUIET_SECONDS = 10.0
PROGRESS = re.compile(r'^\[\s*(?P<seconds>[\d.]+) s\] (?P<done>\d+)/(?P<total>\d+) structures done$', re.M)


@dataclass(frozen=True)
class Progress:
    """How far an evaluate job is, as the engine last said: seconds since its evaluation began, structures done."""

    seconds: float
    done: int
    total: int

    @property
    def rate(self) -> float:
        """Structures per second so far."""
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        line = f'{self.done}/{self.total} structures done in {self.seconds:.0f} s ({self.rate:.2f} structures/s'
        if 0 < self.done < self.total and self.rate > 0:
            line += f', about {(self.total - self.done) / self.rate:.0f} s left'
        return line + ')'


def last_progress(text: str) -> Progress | None:
    """The last progress line of the engine's stdout ``text``."""
    matches = list(PROGRESS.finditer(text))
    if not matches:
        return None
    last = matches[-1]
    return Progress(float(last['seconds']), int(last['done']), int(last['total']))


def job_stdout(node) -> Path | None:
    """The scheduler's stdout file of a running job on this machine, or ``None`` (another computer, not yet
    submitted)."""
    workdir = node.get_remote_workdir()
    if workdir is None or node.computer is None or node.computer.transport_type != 'core.local':
        return None
    return Path(workdir) / node.get_option('scheduler_stdout')


class EvaluateProgress:
    """Reads the progress of the running evaluate jobs among ``processes()`` and hands a line to ``echo``."""

    def __init__(self, processes: Callable[[], list], echo: Callable[[str], None]):
        self.processes, self.echo = processes, echo
        self.first_seen: dict[int, float] = {}
        self.last_said: dict[int, tuple[float, Progress]] = {}

    def check(self, now: float) -> None:
        for process in self.processes():
            node = process.node
            if process.has_terminated() or node.process_label != 'EvaluateCalculation':
                continue
            stdout = job_stdout(node)
            if stdout is None or not stdout.is_file():
                continue
            since = self.first_seen.setdefault(node.pk, now)
            progress = last_progress(stdout.read_text(errors='replace'))
            said_at, said = self.last_said.get(node.pk, (since, None))
            if progress is None or progress == said or now - said_at < QUIET_SECONDS:
                continue
            self.last_said[node.pk] = (now, progress)
            self.echo(f'EvaluateCalculation<{node.pk}>: {progress.describe()}')


@contextmanager
def evaluate_progress(runner, echo: Callable[[str], None]) -> Iterator[None]:
    """While this lasts, ``runner``'s loop checks its evaluate jobs every :data:`CHECK_SECONDS`."""
    watcher = EvaluateProgress(runner.live_processes, echo)
    handle = None

    def tick() -> None:
        nonlocal handle
        handle = runner.loop.call_later(CHECK_SECONDS, tick)  # first, so that a failed check does not end the checks
        watcher.check(time.monotonic())

    handle = runner.loop.call_later(CHECK_SECONDS, tick)
    try:
        yield
    finally:
        handle.cancel()
