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

The socket and its lock live in ``$TMPDIR/unconmlip-engine-<uid>``, a folder only its user can enter. This module is
the client side (one per job) and what both sides share; the warm process is :mod:`.warm_server`, its model cache
:mod:`.kept_models`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

from ..speedups import enabled

# Environment variables that change what a job computes or how fast: a warm process serves only jobs whose values are
# the ones it started with.
ENGINE_ENVIRONMENT = ('CUDA', 'HIP', 'ROCR', 'OMP', 'MKL', 'OPENBLAS', 'KMP', 'TORCH', 'PYTORCH', 'PYTHON', 'LD_',
                      'UNCONMLIP', 'METATOMIC', 'VESIN')  # fmt: skip
WARM_SECONDS_VARIABLE = 'UNCONMLIP_ENGINE_WARM_SECONDS'
SERVER_MODULE = 'aiida_unconmlip.engine.warm_server'  # run as python -m
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
    if not value or not enabled('warm_engine'):
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
    without a request, which the warm process skips. Nothing with the speed-up ``warm_engine`` switched off."""
    if enabled('warm_engine'):
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
