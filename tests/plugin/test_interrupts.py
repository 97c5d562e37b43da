"""A foreground run stopped by SIGINT (Ctrl-C) or SIGTERM at each of its stages: every process it started ends
Killed with the signal as the reason, the job is stopped in the warm engine, the command prints one line and exits
as a command ended by that signal does, and the next foreground run starts at once."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiida.orm import CalcFunctionNode, CalcJobNode, InstalledCode, ProcessNode, QueryBuilder
from ase.build import bulk

from aiida_unconmlip.cli.warm_engine import warm_engine_prepend_text
from tests.helpers import process_has_ended

BIN = Path(sys.executable).parent
EXAMPLES = Path(__file__).resolve().parents[2] / 'docs' / 'examples'
# Each stage made long enough to be caught running: the rotational average of the default PET for the relaxation
# and the displaced supercells, a 512-atom supercell (precise protocol) for the phonopy job.
STAGES = {
    'RelaxCalculation': ['--rotational-average', '6'],
    'EvaluateCalculation': ['--no-relax', '--rotational-average', '6'],
    'PhonopyCalculation': [
        '--no-relax', '--protocol', 'precise', '--rotational-average', '0', '--model', 'tersoff-si-1988',
    ],
}  # fmt: skip


@pytest.fixture
def warm_code(aiida_localhost, engine_executable) -> InstalledCode:
    """The engine code as ``setup`` makes it: its jobs run in a warm engine process, one job at a time."""
    return InstalledCode(
        computer=aiida_localhost,
        filepath_executable=str(engine_executable),
        label=f'unconmlip-engine-warm-{time.monotonic_ns()}',
        default_calc_job_plugin='unconmlip.evaluate',
        prepend_text=warm_engine_prepend_text(120),
    ).store()


def running_job(label: str, after: int) -> CalcJobNode | None:
    """The ``label`` CalcJob created after PK ``after`` once its scheduler job is running."""
    query = QueryBuilder().append(
        CalcJobNode, filters={'id': {'>': after}, 'attributes.process_label': label}, project='*'
    )
    node = query.first(flat=True)
    return node if node is not None and node.get_job_id() and node.get_scheduler_state() is not None else None


def cli(env: dict, *args) -> subprocess.CompletedProcess:
    result = subprocess.run([BIN / 'aiida-unconmlip', *map(str, args)], env=env, capture_output=True, text=True)
    assert result.returncode == 0 and 'Traceback' not in result.stderr, result.stderr
    return result


def warm_engine_log(folder: Path) -> str:
    return ''.join(path.read_text() for path in folder.glob('unconmlip-engine-*/*.log'))


def wait_for(condition, timeout: float, what: str, details=lambda: ''):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f'no {what} within {timeout} s{details()}')


@pytest.mark.parametrize('stage', list(STAGES))
@pytest.mark.parametrize('signal_number', [signal.SIGINT, signal.SIGTERM], ids=['SIGINT', 'SIGTERM'])
def test_a_signal_stops_the_whole_run_and_its_job(
    stage, signal_number, warm_code, shipped_models, profile_env, private_warm_engines, tmp_path
):
    env = {**profile_env, 'TMPDIR': str(private_warm_engines)}
    last_pk = QueryBuilder().append(ProcessNode, project='id').order_by({ProcessNode: {'id': 'desc'}}).first(flat=True)
    command = [BIN / 'aiida-unconmlip', 'phonons', EXAMPLES / 'si.cif', *STAGES[stage], '--code', warm_code.full_label]
    run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        job = wait_for(lambda: running_job(stage, last_pk or 0), 300, f'running {stage}')
        top = job.caller
        while top.caller is not None:
            top = top.caller
        if signal_number == signal.SIGINT:  # show and provenance of a run in flight say what is known so far
            shown = cli(env, 'show', top.pk)
            assert f'PhononWorkChain<{top.pk}>  still running' in shown.stdout and ' so far' in shown.stdout
            cli(env, 'provenance', top.pk)
        run.send_signal(signal_number)
        _, stderr = run.communicate(timeout=120)
    finally:
        run.kill()
    name = signal.Signals(signal_number).name
    assert run.returncode == 128 + signal_number, stderr
    assert 'Traceback' not in stderr, stderr
    [message] = [line for line in stderr.splitlines() if line.startswith('Stopped by')]
    assert message.startswith(f'Stopped by {name}: PhononWorkChain<') and 'were killed and the jobs stopped' in message

    started = QueryBuilder().append(ProcessNode, filters={'id': {'>': last_pk or 0}}, project='*').all(flat=True)
    processes = [node for node in started if not isinstance(node, CalcFunctionNode) and not node.is_finished_ok]
    assert {node.process_label for node in processes} >= {'PhononWorkChain', stage}
    for node in processes:
        assert node.is_killed and node.is_sealed, f'{node.process_label}<{node.pk}> is {node.process_state}'
        assert node.process_status == f'the foreground command received {name}'
    wait_for(lambda: process_has_ended(int(job.get_job_id())), 10, 'end of the job script')
    stopped = f'{job.get_remote_workdir()}: stopped, its job was killed'  # at its next Python instruction

    def log() -> str:
        return warm_engine_log(private_warm_engines)

    wait_for(lambda: stopped in log(), 30, 'stopped job in the warm engine log', lambda: f'; the log:\n{log()}')

    shown = cli(env, 'show', top.pk)
    assert f'PhononWorkChain<{top.pk}>  killed: the foreground command received {name}' in shown.stdout
    provenance = cli(env, 'provenance', top.pk, '--json')
    assert json.loads(provenance.stdout)['model']['sha256'] == top.inputs.evaluate.model.sha256

    structure = tmp_path / 'si.extxyz'
    bulk('Si', 'diamond', a=5.43, cubic=True).write(structure)
    start = time.monotonic()
    after = subprocess.run(
        [BIN / 'aiida-unconmlip', 'evaluate', structure, '--model', 'tersoff-si-1988', '--code', warm_code.full_label],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert after.returncode == 0, after.stderr
    assert time.monotonic() - start < 60  # not behind the stopped job, which had minutes to go
