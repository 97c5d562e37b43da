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

SIGINT (Ctrl-C) and SIGTERM stop the whole run (:meth:`ForegroundRunner.stop`): every process it started is killed,
with the signal as the reason, and the scheduler job of every CalcJob is stopped. AiiDA's own handler kills only the
top process: without a broker it cannot reach the children, which stayed Waiting for good, their jobs running on.
SIGKILL cannot be caught: what it leaves is for ``verdi process repair`` (docs/trust.rst).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import plumpy
from aiida.engine.runners import Runner
from aiida.engine.utils import is_process_function, loop_scope, prepare_inputs
from aiida.orm import CalcJobNode

from ..speedups import enabled
from .local_jobs import WatchedJobManager

# The fallback poll, for processes this runner did not start; its own children never wait for it.
FALLBACK_POLL_SECONDS = 1.0
STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM)
STOP_SECONDS = 30.0
LOGGER = logging.getLogger(__name__)


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
        self.stopped_by: str | None = None  # the signal that stopped the run, if one did

    @property
    def job_manager(self):
        """Jobs on this machine are watched through their processes, not polled (:mod:`.local_jobs`; the speed-up
        ``local_jobs``)."""
        return self._watched_job_manager if enabled('local_jobs') else super().job_manager

    def instantiate_process(self, process, **inputs):
        instance = super().instantiate_process(process, **inputs)
        self._live[instance.pid] = instance
        return instance

    def live_processes(self) -> list:
        """The processes this runner started that are still referenced (running or about to be)."""
        return list(self._live.values())

    def _run(self, process, inputs: dict[str, Any] | None = None, **kwargs: Any):
        """Run ``process`` here until it terminates; SIGINT and SIGTERM stop it and everything it started."""
        if is_process_function(process):
            return super()._run(process, inputs, **kwargs)
        with loop_scope(self.loop):
            top = self.instantiate_process(process, **prepare_inputs(inputs, **kwargs))
            with self._signals_stop_the_run():
                with suppress(plumpy.KilledError):  # the node says it was killed, and why
                    top.execute()
                self._await_the_stopped()
            return top.outputs, top.node

    def _await_the_stopped(self) -> None:
        """Once the top process has ended, let any process whose kill waited for its step to end terminate too."""
        pending = [process.future() for process in self._live.values() if not process.has_terminated()]
        if self.stopped_by and pending:
            self.loop.run_until_complete(asyncio.wait(pending, timeout=STOP_SECONDS))

    @contextmanager
    def _signals_stop_the_run(self) -> Iterator[None]:
        def stop_soon(number: int, _frame) -> None:
            # Only noted here: the kill runs on the loop between steps, never inside a step the signal interrupted.
            self.stopped_by = signal.Signals(number).name
            self.loop.call_soon_threadsafe(self.stop, f'the foreground command received {self.stopped_by}')

        previous = {number: signal.getsignal(number) for number in STOPPING_SIGNALS}
        for number in STOPPING_SIGNALS:
            signal.signal(number, stop_soon)
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def stop(self, reason: str) -> None:
        """Kill every process of the run that has not terminated, and stop the scheduler job of each CalcJob.

        A CalcJob is interrupted first (plumpy's kill: its waiting step ends as Killed, whatever its job does next),
        then its job is stopped; AiiDA's kill would stop the job first and wait for that on the running loop, and a
        job that ends meanwhile lets the CalcJob go on to retrieve and parse. Work chains get AiiDA's kill; the
        children it cannot reach without a broker are among those killed here.
        """
        self.loop.set_exception_handler(quiet_about_interruptions)
        running = [process for process in self._live.values() if not process.has_terminated()]
        for process in running:
            if isinstance(process.node, CalcJobNode):
                plumpy.Process.kill(process, msg_text=reason)
                stop_job(process.node)
            else:
                process.kill(msg_text=reason)

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


def quiet_about_interruptions(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The loop's exception handler once a run is stopped: the job tasks that the kill interrupted end with the
    interruption, which nothing awaits any more; anything else is reported as before."""
    if isinstance(context.get('exception'), plumpy.process_states.Interruption):
        return
    loop.default_exception_handler(context)


def stop_job(node: CalcJobNode) -> None:
    """The scheduler job of a killed CalcJob stopped through its scheduler, as AiiDA's kill does (the direct
    scheduler's kill ends the job script and everything it started, and with the engine's client its job in the
    warm engine process)."""
    from aiida.engine.daemon.execmanager import kill_calculation

    if node.get_job_id() is None:
        return
    try:
        with node.get_authinfo().get_transport() as transport:
            kill_calculation(node, transport)
    except Exception as exc:  # the run is killed either way; the job is named so that it can be stopped by hand
        LOGGER.warning('could not stop job %s of CalcJob<%s>: %s', node.get_job_id(), node.pk, exc)


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
    own ``disable_expire_on_commit``; every AiiDA storage has an SQLAlchemy session): the speed-up
    ``rows_kept_across_commits``."""
    from aiida.manage import get_manager
    from aiida.storage.psql_dos.orm.utils import disable_expire_on_commit

    if not enabled('rows_kept_across_commits'):
        yield
        return
    with disable_expire_on_commit(get_manager().get_profile_storage().get_session()):
        yield
