"""The warm engine process (:mod:`aiida_unconmlip.engine.warm` has the client and the whole story): it listens on the
socket, runs the jobs handed over one at a time in this process with the models it keeps, stops a job whose client
went away, and leaves after its idle time. Run as ``python -m aiida_unconmlip.engine.warm_server ADDRESS
--idle-seconds S`` by the first client that finds none."""

from __future__ import annotations

import _thread
import argparse
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from .kept_models import KeptModels
from .warm import locked


class ClientWatch:
    """Stops the running job (KeyboardInterrupt in the main thread) when its client goes away.

    Only while :meth:`armed`: a client killed as its job was handed over must not interrupt the main thread while it
    sets the job up (the client's stdout in place of this process's, the job's folder as working directory), where an
    exception would leave them so or escape the handler and end this process.
    """

    def __init__(self, connection: socket.socket):
        self._connection, self._lock = connection, threading.Lock()
        self._running, self.client_gone = False, False
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        try:
            data = self._connection.recv(1)
        except OSError:
            data = b''
        with self._lock:
            self.client_gone = not data
            if self._running and self.client_gone:
                _thread.interrupt_main()

    @contextmanager
    def armed(self) -> Iterator[None]:
        """The job's run: a client gone before it starts or while it runs stops it with KeyboardInterrupt."""
        with self._lock:
            if self.client_gone:
                raise KeyboardInterrupt
            self._running = True
        try:
            yield
        finally:
            with self._lock:
                self._running = False


@contextmanager
def job_output(stdout: int, stderr: int) -> Iterator[None]:
    """The client's stdout and stderr as this process's for the job's duration."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(stdout, 1)
    os.dup2(stderr, 2)
    try:
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for descriptor in (*saved, stdout, stderr):
            os.close(descriptor)


@contextmanager
def inside(folder: str) -> Iterator[None]:
    """The job's folder as the working directory, as for a job in a process of its own."""
    before = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(before)


def receive_request(connection: socket.socket) -> tuple[dict, list[int]] | None:
    message, descriptors, _, _ = socket.recv_fds(connection, 65536, 2)
    while message and not message.endswith(b'\n'):
        chunk = connection.recv(65536)
        if not chunk:
            break
        message += chunk
    if not message.endswith(b'\n') or len(descriptors) != 2:
        for descriptor in descriptors:
            os.close(descriptor)
        return None  # a client that died while waiting for its turn
    return json.loads(message), descriptors


def serve_one(connection: socket.socket, models: KeptModels) -> None:
    from .jobs import run_folder

    request = receive_request(connection)
    if request is None:
        return
    (job, (stdout, stderr)), start = request, time.perf_counter()
    watch = ClientWatch(connection)
    try:
        with job_output(stdout, stderr), inside(job['folder']), watch.armed():
            status = run_folder('.', models)
    except KeyboardInterrupt:
        if not watch.client_gone:
            raise
        models.forget()  # a job stopped half-way may have left a model in any state
        print(f'{job["folder"]}: stopped, its job was killed', flush=True)
        return
    print(f'{job["folder"]}: exit status {status} in {time.perf_counter() - start:.2f} s', flush=True)
    with suppress(OSError):  # the client went away as the job finished
        connection.sendall(json.dumps({'status': status}).encode())


def serve(address: Path, idle_seconds: float) -> None:
    """Listen at ``address``; run the jobs handed over, one at a time; leave after ``idle_seconds`` without one,
    or at SIGTERM (:func:`stop_warm_engines`)."""
    import select
    import signal

    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(address))
    socket_inode = address.stat().st_ino

    def leave(*_) -> None:
        """SIGTERM: leave at once, wherever the process is. An exception raised here could be swallowed by library
        code during the imports, and the process would stay; a job stopped half-way ends as if killed."""
        remove_own_files(address, socket_inode)
        sys.stdout.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, leave)  # before the PID file that stop_warm_engines reads
    try:
        address.with_suffix('.pid').write_text(str(os.getpid()))
        listener.listen(64)  # once the PID file exists: a client that started this process may then read it
        preload()
        models = KeptModels(last_model=address.with_suffix('.model.json'))
        models.load_last()
        while True:
            if not select.select([listener], [], [], idle_seconds)[0]:
                with locked(address.with_suffix('.lock')):
                    if not select.select([listener], [], [], 0)[0]:
                        print(f'no job for {idle_seconds:g} s: leaving', flush=True)
                        remove_own_files(address, socket_inode)  # under the lock: no client connects meanwhile
                        return
            connection, _ = listener.accept()
            try:
                serve_one(connection, models)
            finally:
                with suppress(OSError):  # the client may be gone already
                    connection.shutdown(socket.SHUT_RDWR)  # wakes the watch thread too, which close() would not
                connection.close()
    finally:
        remove_own_files(address, socket_inode)


def remove_own_files(address: Path, socket_inode: int) -> None:
    """Remove the socket and PID file of this process, not those of a warm process started after it left."""
    with suppress(FileNotFoundError):
        if address.stat().st_ino == socket_inode:
            address.unlink()
    pid_file = address.with_suffix('.pid')
    with suppress(FileNotFoundError):
        if pid_file.read_text() == str(os.getpid()):
            pid_file.unlink()


def preload() -> None:
    """Import what the jobs need before the first one arrives (about 2.5 s here, which a run started ahead hides):
    the tasks, torch with the metatomic backend, phonopy's calculations and symfc (which the phonopy job's second
    process uses, forked from this one)."""
    import metatomic.torch  # noqa: F401
    import symfc  # noqa: F401

    from ..phonons import calculation  # noqa: F401
    from . import jobs, phonopy_task  # noqa: F401
    from .potentials import metatomic_backend  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog='python -m aiida_unconmlip.engine.warm_server', description=__doc__)
    parser.add_argument('address', type=Path, help='the Unix socket to listen at')
    parser.add_argument('--idle-seconds', type=float, required=True, help='leave after this long without a job')
    arguments = parser.parse_args(argv)
    serve(arguments.address, arguments.idle_seconds)


if __name__ == '__main__':
    main()
