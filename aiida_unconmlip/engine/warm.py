"""A warm engine process for a machine without a queue: torch, the model and the libraries loaded once per run.

A new engine process per job pays about three seconds on the development machine (Python, torch and metatomic
imported, the model loaded) for a fraction of a second of model work, and a phonon run has three or more jobs. With
``UNCONMLIP_ENGINE_WARM_SECONDS`` in the job's environment, ``unconmlip-engine FOLDER`` becomes a client: it hands
the folder and its own stdout and stderr to the warm engine process of this user, Python, package files and
engine-relevant environment (threads, visible devices), waits for the exit status and exits with it. The job's folder,
files and exit status are those of a job run in a process of its own.

The warm process, started by the first client that finds none, runs one job at a time (what a machine without a
queue can take: two jobs at once would share the same cores), keeps up to four loaded models (each job's model file
is checked against its sha256 before a kept one is used), loads as it starts the model its predecessor loaded last,
and leaves after the given seconds without a job. A client that is killed stops its job in the warm process as a
signal would (at the next Python instruction), so a killed job behaves as before; a warm process that dies during a
job leaves it an ``ENGINE_CRASH`` error, which running the job again fixes. Where no warm process can be used (an
unsafe or too long socket folder), the job runs in the client.

The socket and its lock live in ``$TMPDIR/unconmlip-engine-<uid>``, a folder only its user can enter.
"""

from __future__ import annotations

import _thread
import argparse
import fcntl
import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

# Environment variables that change what a job computes or how fast: a warm process serves only jobs whose values are
# the ones it started with.
ENGINE_ENVIRONMENT = ('CUDA', 'HIP', 'ROCR', 'OMP', 'MKL', 'OPENBLAS', 'KMP', 'TORCH', 'PYTORCH', 'PYTHON', 'LD_',
                      'UNCONMLIP', 'METATOMIC', 'VESIN')  # fmt: skip
WARM_SECONDS_VARIABLE = 'UNCONMLIP_ENGINE_WARM_SECONDS'
SERVER_MODULE = 'aiida_unconmlip.engine.warm'  # run as python -m
KEPT_MODELS = 4
START_SECONDS = 60.0  # how long a client waits for a warm process it started to listen


class WarmEngineUnavailable(Exception):
    """No warm engine process can be used here; the job runs in the client's own process."""


def endpoint_folder() -> Path:
    """The folder of this user's warm engine sockets, created private; refused unless it is the user's alone."""
    folder = Path(tempfile.gettempdir()) / f'unconmlip-engine-{os.getuid()}'
    folder.mkdir(mode=0o700, exist_ok=True)
    status = folder.lstat()
    if not stat.S_ISDIR(status.st_mode) or status.st_uid != os.getuid() or status.st_mode & 0o077:
        raise WarmEngineUnavailable(f'{folder} is not a folder of this user alone (mode 700)')
    return folder


def engine_key(environment: Mapping[str, str]) -> str:
    """Which warm process may run a job of ``environment``: same Python, package files and engine environment.

    The Python is its environment and real interpreter: ``python`` and ``python3`` of one virtual environment are one.
    """
    digest = hashlib.sha256(f'{sys.prefix}\n{os.path.realpath(sys.executable)}\n'.encode())
    package = Path(__file__).resolve().parent.parent
    for path in sorted(package.rglob('*.py')):
        status = path.stat()
        digest.update(f'{path.relative_to(package)}:{status.st_mtime_ns}:{status.st_size}\n'.encode())
    for name in sorted(environment):
        if name.startswith(ENGINE_ENVIRONMENT):
            digest.update(f'{name}={environment[name]}\n'.encode())
    return digest.hexdigest()[:20]


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the lock that makes finding, starting and leaving a warm process one step each."""
    with open(path, 'a') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# The client: one per job.


def warm_seconds() -> float | None:
    """How long a warm engine process should stay after its last job, from the environment (``None``: no warm one)."""
    value = os.environ.get(WARM_SECONDS_VARIABLE, '').strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        print(f'unconmlip-engine: ignoring {WARM_SECONDS_VARIABLE}={value!r}: not a number of seconds', file=sys.stderr)
        return None
    return seconds if seconds > 0 else None


def connect(address: Path) -> socket.socket | None:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(str(address))
    except (FileNotFoundError, ConnectionRefusedError):
        connection.close()
        return None
    return connection


def start_warm_engine(address: Path, idle_seconds: float, environment: Mapping[str, str]) -> subprocess.Popen:
    """Start a warm process that will listen at ``address``."""
    with open(address.with_suffix('.log'), 'w') as log:
        return subprocess.Popen(
            [sys.executable, '-m', SERVER_MODULE, str(address), '--idle-seconds', str(idle_seconds)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=address.parent,
            env=dict(environment),
            start_new_session=True,  # not killed with the job that started it
        )


def wait_for(address: Path, process: subprocess.Popen) -> socket.socket:
    """Connect to the warm process just started, once it listens."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        connection = connect(address)
        if connection is not None:
            return connection
        if process.poll() is not None:
            raise WarmEngineUnavailable(f'the warm engine process ended at start; see {address.with_suffix(".log")}')
        time.sleep(0.01)
    process.kill()
    raise WarmEngineUnavailable(f'the warm engine process did not listen within {START_SECONDS:.0f} s')


def warm_engine_address(environment: Mapping[str, str]) -> Path:
    address = endpoint_folder() / f'{engine_key(environment)}.sock'
    if len(str(address)) > 100:
        raise WarmEngineUnavailable(f'the socket path {address} is too long for a Unix socket')
    return address


def warm_engine_connection(idle_seconds: float, environment: Mapping[str, str]) -> socket.socket:
    """A connection to the warm engine process of jobs of ``environment``, started if there is none (or only a dead
    one's socket)."""
    address = warm_engine_address(environment)
    with locked(address.with_suffix('.lock')):
        connection = connect(address)
        if connection is None:
            address.unlink(missing_ok=True)
            connection = wait_for(address, start_warm_engine(address, idle_seconds, environment))
    return connection


def start_ahead(idle_seconds: float, environment: Mapping[str, str]) -> None:
    """Start the warm process that jobs of ``environment`` will use, unless it runs: called by a run on this machine
    before its first job, it imports torch and the libraries while the run prepares its inputs. The connection closes
    without a request, which the warm process skips."""
    warm_engine_connection(idle_seconds, environment).close()


def run_in_warm_engine(folder: str | Path, idle_seconds: float) -> int:
    """Run the job in ``folder`` in the warm engine process and return its exit status (the job's own if none)."""
    folder = Path(folder).resolve()
    try:
        connection = warm_engine_connection(idle_seconds, os.environ)
    except (WarmEngineUnavailable, OSError) as exc:
        print(f'unconmlip-engine: running in this process, without a warm engine process: {exc}', file=sys.stderr)
        from .jobs import run_folder

        return run_folder(folder)
    with connection:
        sys.stdout.flush()
        sys.stderr.flush()
        request = json.dumps({'folder': str(folder)}).encode() + b'\n'
        socket.send_fds(connection, [request], [sys.stdout.fileno(), sys.stderr.fileno()])
        reply = b''
        while chunk := connection.recv(4096):
            reply += chunk
    if not reply:
        from .errors import EXIT_CRASH, EngineCrash
        from .io import write_error

        message = 'the warm engine process ended during the job (killed from outside, or out of memory)'
        write_error(folder, EngineCrash.code, message)
        print(f'unconmlip-engine: {EngineCrash.code}: {message}', file=sys.stderr)
        return EXIT_CRASH
    return int(json.loads(reply)['status'])


# The warm process.


class KeptModels:
    """``load_potential`` for the warm process: the last few models kept, each used again only for a file of its
    sha256 (the model files of jobs are copies in each job's folder).

    The model loaded last is noted in ``last_model``, and the next warm process of the same jobs loads it as it starts
    (:meth:`load_last`): a run's first job then finds the model it will most likely ask for loaded already."""

    def __init__(self, capacity: int = KEPT_MODELS, last_model: Path | None = None):
        self._capacity, self._kept, self._last_model = capacity, OrderedDict(), last_model

    def __call__(self, path, backend: str, sha256: str | None = None, device: str = 'auto', dtype: str | None = None):
        from .hashing import verify_sha256
        from .potentials import load_potential

        if sha256 is None or not Path(path).is_file():
            return load_potential(path, backend, sha256, device=device, dtype=dtype)
        verify_sha256(path, sha256)
        key = (backend, sha256, device, dtype)
        if key not in self._kept:
            self._kept[key] = load_potential(path, backend, device=device, dtype=dtype)  # its sha256 checked above
            self._note_last(path, key)
            while len(self._kept) > self._capacity:
                self._kept.popitem(last=False)
        self._kept.move_to_end(key)
        return self._kept[key]

    def _note_last(self, path, key: tuple) -> None:
        if self._last_model is not None:
            with suppress(OSError):
                self._last_model.write_text(json.dumps([str(Path(path).resolve()), *key]))

    def load_last(self) -> None:
        """Load the model that the previous warm process loaded last, if its file is still there with its sha256 (the
        default PET takes 0.25 s here)."""
        if self._last_model is None or not self._last_model.is_file():
            return
        try:
            path, *key = json.loads(self._last_model.read_text())
            self(path, *key)
        except Exception as exc:  # its file gone or changed, or anything else: the first job loads its model itself
            print(f'no model loaded ahead: {exc}', flush=True)
        else:
            print(f'loaded ahead: the model of sha256 {key[1]}', flush=True)

    def forget(self) -> None:
        self._kept.clear()


class ClientWatch:
    """Stops the running job (KeyboardInterrupt in the main thread) when its client goes away."""

    def __init__(self, connection: socket.socket):
        self._connection, self._lock = connection, threading.Lock()
        self._running, self.client_gone = True, False
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        try:
            data = self._connection.recv(1)
        except OSError:
            data = b''
        with self._lock:
            if self._running and not data:
                self.client_gone = True
                _thread.interrupt_main()

    def finish(self) -> None:
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
        with job_output(stdout, stderr), inside(job['folder']):
            try:
                status = run_folder('.', models)
            finally:
                watch.finish()
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


def stop_warm_engines() -> list[int]:
    """Stop this user's warm engine processes (SIGTERM; a job running in one ends as if killed); their PIDs."""
    import signal

    stopped = []
    for pid_file in endpoint_folder().glob('*.pid'):
        with suppress(ValueError, ProcessLookupError, FileNotFoundError):
            pid = int(pid_file.read_text())
            if SERVER_MODULE.encode() not in Path(f'/proc/{pid}/cmdline').read_bytes():
                pid_file.unlink()  # left by a warm process that was killed; the PID is another process's now
                continue
            os.kill(pid, signal.SIGTERM)
            stopped.append(pid)
    return stopped


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog='python -m aiida_unconmlip.engine.warm', description=__doc__)
    parser.add_argument('address', type=Path, help='the Unix socket to listen at')
    parser.add_argument('--idle-seconds', type=float, required=True, help='leave after this long without a job')
    arguments = parser.parse_args(argv)
    serve(arguments.address, arguments.idle_seconds)


if __name__ == '__main__':
    main()
