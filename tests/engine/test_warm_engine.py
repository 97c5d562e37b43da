"""The warm engine process: a job handed to it is the job run in a process of its own (files, output, exit status),
a killed client stops its job there, and a dead or unusable warm process never costs a job."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from ase.build import bulk

from aiida_unconmlip.engine.errors import EXIT_ENGINE_ERROR
from aiida_unconmlip.engine.io import write_job
from aiida_unconmlip.engine.warm import WARM_SECONDS_VARIABLE, engine_key
from aiida_unconmlip.engine.warm_server import ClientWatch
from aiida_unconmlip.models import default_model_name, shipped_models
from tests.helpers import rattled_copper

ENGINE = Path(sys.executable).parent / 'unconmlip-engine'
MODELS = {model.name: model for model in shipped_models()}


@pytest.fixture
def warm_environment(private_warm_engines):
    """The environment of a job on a code that asks for a warm engine process (this test's own)."""
    return {**os.environ, WARM_SECONDS_VARIABLE: '60'}


def endpoint(environment: dict) -> Path:
    return Path(environment['TMPDIR']) / f'unconmlip-engine-{os.getuid()}'


def server_pid(environment: dict) -> int:
    (pid_file,) = endpoint(environment).glob('*.pid')
    return int(pid_file.read_text())


def server_log(environment: dict) -> str:
    return ''.join(log.read_text() for log in endpoint(environment).glob('*.log'))


def job_folder(parent: Path, name: str, model: str, structures: list, restoration: dict | None = None) -> Path:
    """An input folder as the CalcJobs write it: the model file copied in, the structures, the settings."""
    folder = parent / name
    folder.mkdir()
    shipped = MODELS[model]
    shutil.copy(shipped.path, folder / shipped.path.name)
    backend = 'ase' if shipped.path.suffix == '.json' else 'metatomic'
    model_spec = {'backend': backend, 'path': shipped.path.name, 'sha256': shipped.sha256}
    write_job(folder, structures, model_spec, restoration or {}, {'dtype': 'float64'})
    return folder


def run_engine(folder: Path, environment: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [ENGINE, str(folder)], env=environment, cwd=folder, capture_output=True, text=True, timeout=300, check=False
    )


def results(folder: Path) -> dict:
    with np.load(folder / 'results.npz') as data:
        return {name: data[name] for name in data.files}


def test_jobs_in_one_warm_process_equal_jobs_run_alone(warm_environment, tmp_path):
    alone_environment = {k: v for k, v in warm_environment.items() if k != WARM_SECONDS_VARIABLE}
    restoration = {'rotational_average': {'l_max': 2, 'inversion': True}}
    folders = {
        name: job_folder(tmp_path, name, 'emt', rattled_copper(3), restoration) for name in ('alone', 'warm', 'again')
    }

    alone = run_engine(folders['alone'], alone_environment)
    first = run_engine(folders['warm'], warm_environment)
    pid = server_pid(warm_environment)
    again = run_engine(folders['again'], warm_environment)

    for run in (alone, first, again):
        assert run.returncode == 0, run.stderr
        assert '3/3 structures done' in run.stdout  # the job's output reaches the job's own stdout
    assert server_pid(warm_environment) == pid  # the second job found the warm process of the first
    assert server_log(warm_environment).count('exit status 0') == 2
    expected = results(folders['alone'])
    for name in ('warm', 'again'):
        got = results(folders[name])
        assert got.keys() == expected.keys()
        for key, value in expected.items():
            np.testing.assert_array_equal(got[key], value)
        report = json.loads((folders[name] / 'report.json').read_text())
        assert (
            report['restoration_steps']
            == json.loads((folders['alone'] / 'report.json').read_text())['restoration_steps']
        )


def test_engine_errors_keep_their_exit_status_and_record(warm_environment, tmp_path):
    folder = job_folder(tmp_path, 'silicon', 'emt', [bulk('Si', 'diamond', a=5.43)])
    run = run_engine(folder, warm_environment)
    assert run.returncode == EXIT_ENGINE_ERROR
    assert json.loads((folder / 'error.json').read_text())['code'] == 'UNSUPPORTED_ELEMENT'
    assert 'UNSUPPORTED_ELEMENT' in run.stderr

    broken = tmp_path / 'broken'
    broken.mkdir()
    (broken / 'job.json').write_text('{"task": "phonons please"}')
    run = run_engine(broken, warm_environment)
    assert run.returncode == EXIT_ENGINE_ERROR
    assert json.loads((broken / 'error.json').read_text())['code'] == 'INVALID_JOB'


def test_a_killed_client_stops_its_job_and_the_warm_process_serves_the_next(warm_environment, tmp_path):
    silicon = []
    for seed in range(40):
        atoms = bulk('Si', 'diamond', a=5.431, cubic=True)
        atoms.rattle(0.02, seed=seed)
        silicon.append(atoms)
    slow = job_folder(
        tmp_path, 'slow', default_model_name(), silicon, {'rotational_average': {'l_max': 3, 'inversion': True}}
    )
    with open(tmp_path / 'slow.out', 'w') as out:
        client = subprocess.Popen([ENGINE, str(slow)], env=warm_environment, cwd=slow, stdout=out, stderr=out)
    deadline = time.monotonic() + 120
    while '2/40 structures done' not in (tmp_path / 'slow.out').read_text():
        assert client.poll() is None and time.monotonic() < deadline, (tmp_path / 'slow.out').read_text()
        time.sleep(0.05)
    client.send_signal(signal.SIGKILL)
    client.wait()
    while 'stopped, its job was killed' not in server_log(warm_environment):
        assert time.monotonic() < deadline, server_log(warm_environment)
        time.sleep(0.05)
    parts = len(list((slow / 'partial').glob('part_*.npz')))
    assert 2 <= parts < 40 and not (slow / 'results.npz').exists()

    pid = server_pid(warm_environment)
    quick = job_folder(tmp_path, 'quick', 'emt', rattled_copper(1))
    assert run_engine(quick, warm_environment).returncode == 0
    assert server_pid(warm_environment) == pid
    assert len(list((slow / 'partial').glob('part_*.npz'))) == parts  # nothing ran on after the stop


def watched_connection() -> tuple[ClientWatch, socket.socket]:
    server_side, client_side = socket.socketpair()
    return ClientWatch(server_side), client_side


def test_a_client_gone_before_its_job_starts_stops_it_before_it_runs():
    """Killed as its job is handed over: the job never starts, and nothing interrupts the set-up before it."""
    watch, client = watched_connection()
    client.close()
    deadline = time.monotonic() + 10
    while not watch.client_gone:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    ran = []
    with pytest.raises(KeyboardInterrupt), watch.armed():
        ran.append(True)
    assert not ran


def test_a_client_gone_while_its_job_runs_interrupts_it_and_after_it_does_not():
    watch, client = watched_connection()
    with pytest.raises(KeyboardInterrupt), watch.armed():
        client.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            time.sleep(0.01)
    assert watch.client_gone

    finished, client = watched_connection()
    with finished.armed():
        pass
    client.close()
    time.sleep(0.2)  # an interrupt now would end this test with KeyboardInterrupt
    assert finished.client_gone


def test_a_dead_warm_process_is_replaced(warm_environment, tmp_path):
    folder = endpoint(warm_environment)
    folder.mkdir(mode=0o700)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(str(folder / f'{engine_key(warm_environment)}.sock'))  # its socket file, with nobody listening
    dead.close()
    job = job_folder(tmp_path, 'job', 'emt', rattled_copper(1))
    run = run_engine(job, warm_environment)
    assert run.returncode == 0, run.stderr
    assert 'without a warm engine process' not in run.stderr
    assert Path(f'/proc/{server_pid(warm_environment)}').exists()


def test_a_socket_folder_others_can_enter_is_not_used(warm_environment, tmp_path):
    folder = endpoint(warm_environment)
    folder.mkdir()
    folder.chmod(0o777)
    job = job_folder(tmp_path, 'job', 'emt', rattled_copper(1))
    run = run_engine(job, warm_environment)
    assert run.returncode == 0, run.stderr
    assert 'running in this process, without a warm engine process' in run.stderr
    assert 'not a folder of this user alone' in run.stderr
    assert (job / 'results.npz').is_file()
    assert not list(folder.iterdir())


def stop_server(environment: dict) -> None:
    pid = server_pid(environment)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while list(endpoint(environment).glob('*.pid')) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not list(endpoint(environment).glob('*.pid')), f'warm engine process {pid} did not stop'


def test_a_new_warm_process_loads_the_model_its_predecessor_loaded_last(warm_environment, tmp_path):
    """The next run's first job finds its model loaded; a model file that is gone or changed is not loaded."""
    pet = MODELS[default_model_name()]
    silicon = [bulk('Si', 'diamond', a=5.43, cubic=True)]
    first = job_folder(tmp_path, 'first', pet.name, silicon)
    assert run_engine(first, warm_environment).returncode == 0
    stop_server(warm_environment)

    second = job_folder(tmp_path, 'second', pet.name, silicon)
    assert run_engine(second, warm_environment).returncode == 0
    assert f'loaded ahead: the model of sha256 {pet.sha256}' in server_log(warm_environment)
    np.testing.assert_array_equal(results(second)['forces'], results(first)['forces'])
    stop_server(warm_environment)

    for folder in (first, second):  # the file the note points to is one of them
        (folder / pet.path.name).write_bytes(b'not the model any more')
    third = job_folder(tmp_path, 'third', 'emt', rattled_copper(1))
    assert run_engine(third, warm_environment).returncode == 0
    log = server_log(warm_environment)  # the log of the third warm process
    assert 'loaded ahead: the model' not in log and 'no model loaded ahead' in log and 'has sha256' in log
