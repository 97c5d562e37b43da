"""The production path for real: the PostgreSQL + RabbitMQ profile, its daemon, jobs through SLURM over SSH, and the
faults that happen there. Run by ``make test-cluster`` after ``make services`` (marker ``cluster``)."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from aiida.engine import ProcessState, submit
from aiida.engine.daemon.client import get_daemon_client
from aiida.orm import (
    CalcFunctionNode,
    Dict,
    InstalledCode,
    Node,
    QueryBuilder,
    StructureData,
    load_code,
    load_computer,
)
from ase.build import bulk

from aiida_unconmlip.calcjobs.evaluate import EvaluateCalculation
from aiida_unconmlip.data import RemoteModelData, StructureSetData
from aiida_unconmlip.engine.evaluate import evaluate_structures
from aiida_unconmlip.engine.hashing import sha256_of_file
from aiida_unconmlip.engine.potentials import load_potential
from aiida_unconmlip.engine.restoration import Restoration
from aiida_unconmlip.models.resolve import resolve_model
from aiida_unconmlip.workflows.computers import ComputerUnreachable
from aiida_unconmlip.workflows.evaluate import EvaluateWorkChain
from aiida_unconmlip.workflows.phonons import PhononWorkChain
from tests.helpers import engine_processes_in

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SI_CIF = REPO / 'docs' / 'examples' / 'si.cif'
CODE = 'unconmlip-engine@slurm-loopback'
ENV = {**os.environ, 'AIIDA_PATH': str(REPO), 'PATH': f'{BIN}{os.pathsep}{os.environ["PATH"]}'}
SLURM_ENV = {**ENV, 'SLURM_CONF': str(REPO / '.services' / 'slurm' / 'slurm.conf')}


def services():
    """The services script as a module (start, stop and status of each service)."""
    spec = importlib.util.spec_from_file_location('cluster_services', REPO / 'services' / 'cluster.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cli(*args, timeout: int = 900) -> dict:
    result = subprocess.run(
        [BIN / 'aiida-unconmlip', *map(str, args), '--json'], env=ENV, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def await_node(node, timeout: float = 900):
    deadline = time.monotonic() + timeout
    while not node.is_terminated:
        assert time.monotonic() < deadline, f'{node.process_label}<{node.pk}> did not finish in {timeout} s'
        time.sleep(1)
    return node


def running_job(node, timeout: float = 300, label: str = 'EvaluateCalculation'):
    """The first calculation ``label`` below ``node`` once the scheduler runs it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in node.called_descendants:
            if child.process_label == label and child.process_state == ProcessState.WAITING and child.get_job_id():
                state = subprocess.run(
                    ['squeue', '-h', '-j', child.get_job_id(), '-o', '%T'],
                    env=SLURM_ENV,
                    capture_output=True,
                    text=True,
                ).stdout.strip()
                if state == 'RUNNING':
                    return child
        time.sleep(0.2)
    raise AssertionError(f'no running {label} under {node.pk}')


def wait_for_parts(job, count: int, timeout: float = 300) -> Path:
    folder = Path(job.get_remote_workdir())
    deadline = time.monotonic() + timeout
    while len(list((folder / 'partial').glob('part_*.npz'))) < count:
        assert time.monotonic() < deadline, f'{job.pk} wrote no {count} parts'
        time.sleep(0.1)
    return folder


def cu_phonons(**overrides):
    """Phonons of fcc Cu with EMT on the services' code, fast protocol, no relaxation."""
    return PhononWorkChain.get_builder_from_protocol(
        load_code(CODE),
        StructureData(ase=bulk('Cu', 'fcc', a=3.61)),
        resolve_model('emt'),
        protocol='fast',
        relax=False,
        overrides=overrides,
    )


def slow_phonons(**overrides):
    """Phonons of Cu with EMT averaged over 1292 rotations: evaluate jobs of seconds, one part per supercell."""
    return cu_phonons(restoration={'rotational_average': {'l_max': 8, 'inversion': True}}, **overrides)


def frequencies(node) -> np.ndarray:
    return node.outputs.band_structure.get_bands()


@pytest.fixture(scope='module')
def reference():
    """The slow phonon run without faults, on the services' profile."""
    node = await_node(submit(slow_phonons()))
    assert node.is_finished_ok, node.exit_message
    return frequencies(node)


def test_phonons_through_slurm_over_ssh_equal_the_embedded_run():
    subprocess.run([BIN / 'aiida-unconmlip', 'setup'], env=ENV, check=True, capture_output=True, timeout=300)
    embedded = cli('-p', 'unconmlip', 'phonons', SI_CIF, '--protocol', 'fast')
    cluster = cli('-p', 'unconmlip-cluster', 'phonons', SI_CIF, '--protocol', 'fast', '--code', CODE)
    assert cluster['exit_status'] == 0
    for label, values in embedded['bands']['frequencies_thz'].items():
        ours, theirs = np.array(cluster['bands']['frequencies_thz'][label]), np.array(values)
        if label == 'GAMMA':  # the three acoustic modes are zeros to numerical noise, which the square root of
            # near-zero eigenvalues magnifies (seen here: 1e-7 THz apart); they must be zero in both
            assert np.abs(ours[:3]).max() < 1e-6 and np.abs(theirs[:3]).max() < 1e-6
            ours, theirs = ours[3:], theirs[3:]
        np.testing.assert_allclose(ours, theirs, atol=1e-8, err_msg=label)
    from aiida.orm import CalcJobNode, load_node

    jobs = [node for node in load_node(cluster['pk']).called_descendants if isinstance(node, CalcJobNode)]
    assert jobs and all(job.computer.label == 'slurm-loopback' and job.get_job_id() for job in jobs)


def test_daemon_workers_killed_and_the_daemon_restarted(reference):
    node = submit(slow_phonons())
    running_job(node)
    client = get_daemon_client()
    for pid in client.get_worker_info()['info']:
        os.kill(int(pid), signal.SIGKILL)
    client.restart_daemon(wait=True)
    await_node(node)
    assert node.is_finished_ok, node.exit_message
    np.testing.assert_allclose(frequencies(node), reference, atol=1e-8)


def test_a_daemon_restart_during_the_phonopy_job_loses_nothing():
    """The heavy phonopy work is a CalcJob, not a calcfunction blocking a worker: the daemon restarts while it runs
    and the work chain finishes (a calcfunction would have held the worker, and been left Running forever). On this
    RabbitMQ profile: with the embedded profile's ZeroMQ broker of aiida-core 2.9.4, a process in flight during a
    restart was once left waiting, its task still assigned to the stopped worker (docs/phonons.rst)."""
    node = submit(cu_phonons(properties={'mesh_length': 200.0}))  # a few seconds of phonopy on the compute node
    job = running_job(node, label='PhonopyCalculation')
    get_daemon_client().restart_daemon(wait=True)
    await_node(node)
    assert node.is_finished_ok, node.exit_message
    assert job.is_finished_ok and node.outputs.diagnostics['mesh'] == [96, 96, 96]
    assert not [
        child.pk for child in node.called_descendants if isinstance(child, CalcFunctionNode) and not child.is_terminated
    ]


def test_rabbitmq_restarted_mid_run(reference):
    node = submit(slow_phonons())
    running_job(node)
    cluster = services()
    cluster.stop_rabbitmq()
    cluster.start()  # what `make services` does: the daemon stopped, RabbitMQ back, the daemon started
    await_node(node)
    assert node.is_finished_ok, node.exit_message
    np.testing.assert_allclose(frequencies(node), reference, atol=1e-8)


def test_a_cancelled_slurm_job_resumes_with_what_is_left(reference):
    node = submit(slow_phonons())
    job = running_job(node)
    wait_for_parts(job, 1)
    subprocess.run(['scancel', job.get_job_id()], env=SLURM_ENV, check=True)
    await_node(node)
    assert node.is_finished_ok, node.exit_message
    assert not job.is_finished_ok and 'partial_results' in job.outputs
    np.testing.assert_allclose(frequencies(node), reference, atol=1e-8)


def test_the_engine_failing_on_one_chunk_of_a_split_run(reference):
    node = submit(slow_phonons(n_chunks=2))
    job = running_job(node)
    deadline = time.monotonic() + 120
    while not (pids := engine_processes_in(job.get_remote_workdir())):  # the job runs; its engine starts a moment later
        assert time.monotonic() < deadline and not job.is_terminated, 'the engine of the job never ran'
        time.sleep(0.05)
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    await_node(node)
    assert node.is_finished_ok, node.exit_message
    assert job.exit_status in (EvaluateCalculation.exit_codes.ERROR_ENGINE_KILLED.status, 300)
    np.testing.assert_allclose(frequencies(node), reference, atol=1e-8)


def test_a_walltime_too_short_for_the_set_is_resumed_batch_by_batch():
    cells = []
    for seed in range(24):  # about 11 done per minute of walltime: three jobs
        atoms = bulk('Cu', cubic=True).repeat(2)
        atoms.rattle(0.05, seed=seed)
        cells.append(atoms)
    restoration = {'rotational_average': {'l_max': 6, 'inversion': True}}
    inputs = {
        'code': load_code(CODE),
        'model': resolve_model('emt'),
        'structures': StructureSetData.from_ase(cells),
        'restoration': Dict(restoration),
        'metadata': {'options': {'max_wallclock_seconds': 60}},
    }
    node = await_node(submit(EvaluateWorkChain, evaluate=inputs, max_iterations=10), timeout=1200)
    assert node.is_finished_ok, node.exit_message
    first = min((c for c in node.called if c.process_label == 'EvaluateCalculation'), key=lambda n: n.ctime)
    assert first.exit_status == EvaluateCalculation.exit_codes.ERROR_SCHEDULER_OUT_OF_WALLTIME.status
    with resolve_model('emt').as_path() as path:
        potential = load_potential(path, 'ase')
        expected = evaluate_structures(potential, cells, Restoration(l_max=6, inversion=True))
    np.testing.assert_allclose(node.outputs.energies.get_array('energies'), expected.energies, rtol=1e-12)


def test_a_corrupt_model_on_the_remote_fails_with_what_to_fix(tmp_path):
    corrupt = Path('/tmp/unconmlip-corrupt-model.pt')
    corrupt.write_bytes(os.urandom(4096))
    model = RemoteModelData(
        computer=load_computer('slurm-loopback'),
        remote_path=str(corrupt),
        sha256=sha256_of_file(corrupt),
        backend='metatomic',
        name=f'corrupt-{time.time_ns()}',
        elements=['Si'],
    ).store()
    builder = PhononWorkChain.get_builder_from_protocol(
        load_code(CODE), StructureData(ase=bulk('Si', 'diamond', a=5.43)), model, protocol='fast', relax=False
    )
    node = await_node(submit(builder))
    assert node.exit_status == PhononWorkChain.exit_codes.ERROR_EVALUATION_FAILED.status
    assert 'not a loadable metatomic model' in node.exit_message


def test_a_missing_engine_executable_fails_with_what_to_fix():
    code = InstalledCode(
        computer=load_computer('slurm-loopback'),
        filepath_executable='/nonexistent/bin/unconmlip-engine',
        label=f'missing-engine-{time.time_ns()}',
    ).store()
    builder = PhononWorkChain.get_builder_from_protocol(
        code, StructureData(ase=bulk('Cu', 'fcc', a=3.61)), resolve_model('emt'), protocol='fast', relax=False
    )
    node = await_node(submit(builder))
    assert node.exit_status == PhononWorkChain.exit_codes.ERROR_EVALUATION_FAILED.status
    assert 'could not be started (exit status 127, the executable was not found)' in node.exit_message


def test_a_refused_ssh_key_fails_with_what_to_fix(tmp_path):
    key = tmp_path / 'not-authorized'
    subprocess.run(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', key], check=True)
    original = load_computer('slurm-loopback')
    label = f'refused-{time.time_ns()}'
    computer = original.__class__(
        label=label,
        hostname='127.0.0.1',
        transport_type='core.ssh',
        scheduler_type='core.slurm',
        workdir=original.get_workdir(),
    ).store()
    computer.configure(
        username='root',
        port=2222,
        key_filename=str(key),
        look_for_keys=False,
        allow_agent=False,
        load_system_host_keys=False,
        key_policy='AutoAddPolicy',
        timeout=10,
    )
    code = InstalledCode(
        computer=computer, filepath_executable=str(load_code(CODE).filepath_executable), label='unconmlip-engine'
    ).store()
    structure, model = StructureData(ase=bulk('Cu', 'fcc', a=3.61)), resolve_model('emt')
    nodes_before = QueryBuilder().append(Node).count()
    with pytest.raises(ComputerUnreachable, match=f'verdi computer test {label}'):
        PhononWorkChain.get_builder_from_protocol(code, structure, model, protocol='fast', relax=False)
    assert QueryBuilder().append(Node).count() == nodes_before  # refused before anything was stored


def test_fifty_small_evaluate_jobs_submitted_at_once_all_finish():
    code, model = load_code(CODE), resolve_model('emt')
    nodes = [
        submit(EvaluateCalculation, code=code, model=model, structures=StructureData(ase=bulk('Cu', 'fcc', a=a)))
        for a in np.linspace(3.55, 3.65, 50)
    ]
    for node in nodes:
        await_node(node, timeout=1200)
    assert all(node.is_finished_ok for node in nodes), [node.exit_status for node in nodes if not node.is_finished_ok]
