"""``aiida-unconmlip setup`` and the model commands, run as a user would: as subprocesses on a fresh folder."""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from aiida_unconmlip.cli.config_dir import resolve_aiida_path
from aiida_unconmlip.engine.warm import stop_warm_engines

pytestmark = pytest.mark.slow  # setup runs the command, its daemon and jobs end to end

BIN = Path(sys.executable).parent
EXAMPLES = Path(__file__).resolve().parents[2] / 'docs' / 'examples'


def run(args, env, check=True):
    result = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f'{args} failed:\n{result.stdout}\n{result.stderr}')
    return result


@pytest.fixture(scope='module')
def fresh_environment(tmp_path_factory):
    """A folder with nothing in it, and an environment whose AIIDA_PATH points there (and TMPDIR next to it)."""
    folder, tmp = tmp_path_factory.mktemp('fresh'), tmp_path_factory.mktemp('tmp')
    path = f'{BIN}{os.pathsep}{os.environ["PATH"]}'
    env = {**os.environ, 'AIIDA_PATH': str(folder), 'TMPDIR': str(tmp), 'PATH': path}
    return folder, env


def test_setup_is_idempotent_and_gives_a_working_profile(fresh_environment):
    folder, env = fresh_environment
    first = run([BIN / 'aiida-unconmlip', 'setup'], env)
    assert 'created profile `unconmlip`' in first.stdout + first.stderr
    second = run([BIN / 'aiida-unconmlip', 'setup'], env)
    assert 'created' not in second.stdout + second.stderr
    assert 'SQLite journal mode wal' in second.stdout + second.stderr  # the test folder is on a local disk
    assert (folder / '.aiida' / 'config.json').is_file()
    # the first run without --code starts the engine code's warm process as it starts (cli/warm_engine.py)
    [remembered] = (Path(env['TMPDIR']) / f'unconmlip-engine-{os.getuid()}').glob('last-run-*')
    assert remembered.read_text() == '300'

    models = json.loads(run([BIN / 'aiida-unconmlip', 'models', 'list', '--json'], env).stdout)
    assert [model['name'] for model in models] == ['emt', 'tersoff-si-1988', 'pet-si-pbe']
    assert [model['name'] for model in models if model['default']] == ['pet-si-pbe']

    status = run([BIN / 'verdi', '-p', 'unconmlip', 'status'], env, check=False)
    assert '✔ storage' in status.stdout
    try:
        run([BIN / 'verdi', '-p', 'unconmlip', 'daemon', 'start', '1'], env)
        running = run([BIN / 'verdi', '-p', 'unconmlip', 'status'], env)
        assert 'Daemon is running' in running.stdout
        assert 'Broker PID' in running.stdout
    finally:
        run([BIN / 'verdi', '-p', 'unconmlip', 'daemon', 'stop'], env, check=False)


def test_setup_brings_the_models_provenance_but_not_another_machines_codes(fresh_environment):
    _, env = fresh_environment
    run([BIN / 'aiida-unconmlip', 'setup'], env)  # idempotent: the profile of the test above, or a new one
    codes = run([BIN / 'verdi', '-p', 'unconmlip', 'code', 'list', '-a', '-A', '-r', '-P', 'full_label'], env)
    assert sorted(codes.stdout.split()) == ['mtt@localhost', 'unconmlip-engine@localhost']
    computers = run([BIN / 'verdi', '-p', 'unconmlip', 'computer', 'list', '-a', '-r'], env)
    assert computers.stdout.split() == ['*', 'localhost']
    # The local machine's settings: no login shell around each command, and one warm engine process for the jobs.
    configuration = run([BIN / 'verdi', '-p', 'unconmlip', 'computer', 'configure', 'show', 'localhost'], env)
    assert re.search(r'use_login_shell\s+False', configuration.stdout)
    engine = run([BIN / 'verdi', '-p', 'unconmlip', 'code', 'show', 'unconmlip-engine@localhost'], env)
    assert 'export UNCONMLIP_ENGINE_WARM_SECONDS=300' in engine.stdout
    processes = run([BIN / 'verdi', '-p', 'unconmlip', 'process', 'list', '-a', '-r', '-P', 'process_label'], env)
    labels = processes.stdout.split()
    assert labels.count('TrainCalculation') == 1 and labels.count('PwCalculation') > 100


def test_model_import_deduplicates_and_errors_are_one_line(fresh_environment, pet_model_file, tmp_path):
    _, env = fresh_environment
    imported = run([BIN / 'aiida-unconmlip', 'models', 'import', pet_model_file, '--name', 'tiny-pet'], env)
    assert 'imported model `tiny-pet`' in imported.stdout + imported.stderr
    again = run([BIN / 'aiida-unconmlip', 'models', 'import', pet_model_file], env)
    assert 'already imported' in again.stdout + again.stderr
    shown = json.loads(run([BIN / 'aiida-unconmlip', 'models', 'show', 'tiny-pet', '--json'], env).stdout)
    assert shown['elements'] == ['Si'] and shown['backend'] == 'metatomic'
    twin = json.loads(run([BIN / 'verdi', 'data', 'unconmlip', 'show', 'tiny-pet', '--json'], env).stdout)
    assert twin == shown

    corrupted = tmp_path / 'corrupted.pt'
    corrupted.write_bytes(b'not a model')
    failed = run([BIN / 'aiida-unconmlip', 'models', 'import', corrupted], env, check=False)
    assert failed.returncode != 0
    assert 'Traceback' not in failed.stderr
    assert 'not a loadable metatomic model' in failed.stderr
    unknown = run([BIN / 'aiida-unconmlip', 'models', 'show', 'no-such-model'], env, check=False)
    assert unknown.returncode != 0 and 'no model called `no-such-model`' in unknown.stderr


def test_project_local_configuration_is_found_from_subfolders(tmp_path, monkeypatch):
    monkeypatch.delenv('AIIDA_PATH')
    (tmp_path / '.aiida').mkdir()
    (tmp_path / '.aiida' / 'config.json').write_text('{}')
    (tmp_path / 'work' / 'deeper').mkdir(parents=True)
    monkeypatch.chdir(tmp_path / 'work' / 'deeper')
    resolve_aiida_path('models')
    assert os.environ['AIIDA_PATH'] == str(tmp_path)


def test_setup_without_configuration_creates_it_here(tmp_path, monkeypatch):
    monkeypatch.delenv('AIIDA_PATH')
    monkeypatch.chdir(tmp_path)
    resolve_aiida_path('models')
    assert 'AIIDA_PATH' not in os.environ
    resolve_aiida_path('setup')
    assert os.environ['AIIDA_PATH'] == str(tmp_path)


def test_setup_takes_the_profile_named_on_the_command_group(fresh_environment):
    _, env = fresh_environment
    run([BIN / 'aiida-unconmlip', 'setup', '--profile', 'second'], env)
    again = run([BIN / 'aiida-unconmlip', '-p', 'second', 'setup'], env)
    output = again.stdout + again.stderr
    assert 'profile `second` exists' in output and 'profile `second` is ready' in output
    assert '`unconmlip`' not in output


def test_the_daemon_survives_a_restart_while_a_job_runs(fresh_environment, monkeypatch):
    """AiiDA's 2 s daemon timeout left the embedded profile's daemon down after `verdi daemon restart` while a job
    ran; setup gives the profile a timeout that the stop needs."""
    _, env = fresh_environment
    run([BIN / 'aiida-unconmlip', 'setup'], env)
    assert run([BIN / 'verdi', '-p', 'unconmlip', 'config', 'get', 'daemon.timeout'], env).stdout.strip() == '60'
    run([BIN / 'verdi', '-p', 'unconmlip', 'daemon', 'start'], env)
    pk = None
    try:
        submitted = run(
            [BIN / 'aiida-unconmlip', 'relax', EXAMPLES / 'si.cif', '--rotational-average', '6', '--daemon', '--json'],
            env,
        )
        pk = json.loads(submitted.stdout)['pk']
        deadline = time.monotonic() + 120
        while 'job state RUNNING' not in run([BIN / 'verdi', 'process', 'list', '-p', '1'], env).stdout:
            assert time.monotonic() < deadline, 'the relaxation job did not start'
            time.sleep(1)
        restart = run([BIN / 'verdi', '-p', 'unconmlip', 'daemon', 'restart'], env, check=False)
        assert 'FAILED' not in restart.stdout + restart.stderr and restart.returncode == 0, restart.stderr
        assert 'Daemon is running' in run([BIN / 'verdi', '-p', 'unconmlip', 'daemon', 'status'], env).stdout
    finally:
        if pk is not None:
            run([BIN / 'verdi', '-p', 'unconmlip', 'process', 'kill', str(pk), '-t', '0'], env, check=False)
        run([BIN / 'verdi', '-p', 'unconmlip', 'daemon', 'stop'], env, check=False)
        # the embedded broker may not hand the run to the restarted worker (docs/phonons.rst): its job is stopped here
        monkeypatch.setattr(tempfile, 'tempdir', env['TMPDIR'])
        stop_warm_engines()
