"""The runner of a foreground run: a parent learns that a child of the same run terminated from the child itself.

Without a broker, AiiDA's runner learns that a child process terminated by loading the child's node every
``poll_interval`` seconds. A run of the main job waits on ten children through three levels of work chains, so each
poll interval was paid several times over (polling every 0.25 s cost about 0.9 s of a 12 s run on 2 cores), and
polling more often takes CPU from the engine. Every child of a foreground run is a process object in this runner, so
its future says when it terminated; polling stays as the fallback for anything else. (A process listener would say it
too, but listeners are part of a process's checkpoint, and a callback cannot be.)

A foreground run also keeps the rows its database session has loaded across commits (:func:`rows_kept_across_commits`).
AiiDA commits at every state change, and by default a commit marks every loaded row stale, so the next ``is_stored``,
``pk`` or ``uuid`` of any node reads its row again: about 2200 of the 6400 SQL statements of the main job. AiiDA reads a
node's mutable columns (attributes, extras, label...) from the database at each access outside a transaction anyway,
so what is no longer read again are the columns that never change.

Its jobs on this machine are watched through their processes instead of polled with ``ps`` (:mod:`.local_jobs`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from aiida.engine.runners import Runner

from .local_jobs import WatchedJobManager

# The fallback poll, for processes this runner did not start; its own children never wait for it.
FALLBACK_POLL_SECONDS = 1.0


def once(callback: Callable[[], Any]) -> Callable[[], None]:
    """``callback``, called at most once however often the wrapper is."""
    called = False

    def call() -> None:
        nonlocal called
        if not called:
            called = True
            callback()

    return call


class ForegroundRunner(Runner):
    """A runner without a broker whose work chains resume as soon as a child they wait on terminates."""

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._live: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._watched_job_manager = WatchedJobManager(self.transport)

    @property
    def job_manager(self) -> WatchedJobManager:
        """Jobs on this machine are watched through their processes, not polled (:mod:`.local_jobs`)."""
        return self._watched_job_manager

    def instantiate_process(self, process, **inputs):
        instance = super().instantiate_process(process, **inputs)
        self._live[instance.pid] = instance
        return instance

    def live_processes(self) -> list:
        """The processes this runner started that are still referenced (running or about to be)."""
        return list(self._live.values())

    def call_on_process_finish(self, pk: int, callback: Callable[[], Any]) -> None:
        process = self._live.get(pk)
        if process is None or process.has_terminated():
            super().call_on_process_finish(pk, callback)
            return
        callback = once(callback)
        # The future is settled as the child enters its terminal state, and asyncio runs done-callbacks on a later turn
        # of the loop: after the node has its state, exit status and outputs, and is sealed.
        process.future().add_done_callback(lambda _: callback())
        super().call_on_process_finish(pk, callback)


def foreground_runner() -> ForegroundRunner:
    """A runner of this process with the profile's persister and no broker, as ``aiida.engine.run`` makes one."""
    from aiida.manage import get_manager

    return ForegroundRunner(
        poll_interval=FALLBACK_POLL_SECONDS,
        broker_submit=False,
        communicator=None,
        persister=get_manager().get_persister(),
    )


@contextmanager
def rows_kept_across_commits() -> Iterator[None]:
    """The profile's database session does not mark its loaded rows stale at each commit while this lasts (AiiDA's
    own ``disable_expire_on_commit``; every AiiDA storage has an SQLAlchemy session)."""
    from aiida.manage import get_manager
    from aiida.storage.psql_dos.orm.utils import disable_expire_on_commit

    with disable_expire_on_commit(get_manager().get_profile_storage().get_session()):
        yield
