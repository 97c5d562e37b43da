"""An evaluation stopped halfway resumes with only the structures that have no result, and merges to what an
unstopped run gives."""

import os
import signal
import time
from pathlib import Path

import numpy as np
from aiida.engine import ProcessState, run_get_node, submit
from aiida.orm import Dict

from aiida_unconmlip.calcjobs.evaluate import EvaluateCalculation
from aiida_unconmlip.data import StructureSetData
from aiida_unconmlip.workflows.evaluate import EvaluateWorkChain
from tests.helpers import engine_processes_in, rattled_copper


def test_a_killed_evaluation_resumes_only_the_missing_structures(started_daemon_client, engine_code, shipped_models):
    structures = StructureSetData.from_ase(rattled_copper(12))
    inputs = {
        'code': engine_code,
        'model': shipped_models['emt'],
        'structures': structures,
        'restoration': Dict({'rotational_average': {'l_max': 4, 'inversion': True}}),
        'settings': Dict({'max_atoms_per_batch': 400}),
    }
    reference, _ = run_get_node(EvaluateCalculation, **inputs)

    node = submit(EvaluateWorkChain, evaluate=inputs)
    deadline = time.monotonic() + 300
    killed = False
    while not killed and time.monotonic() < deadline:
        jobs = [child for child in node.called if child.process_label == 'EvaluateCalculation']
        if jobs and jobs[0].process_state == ProcessState.WAITING and jobs[0].get_remote_workdir():
            workdir = jobs[0].get_remote_workdir()
            if len(list(Path(workdir, 'partial').glob('part_*.npz'))) >= 3:
                for pid in engine_processes_in(workdir):
                    os.kill(pid, signal.SIGKILL)
                    killed = True
        time.sleep(0.05)
    assert killed, 'the first job finished before it could be stopped'
    while not node.is_terminated and time.monotonic() < deadline:
        time.sleep(0.5)

    assert node.is_finished_ok, node.exit_message
    first, second = sorted((c for c in node.called if c.process_label == 'EvaluateCalculation'), key=lambda n: n.ctime)
    assert first.exit_status == EvaluateCalculation.exit_codes.ERROR_ENGINE_KILLED.status
    assert 'SIGKILL' in first.exit_message
    done = len(first.outputs.partial_results.get_array('indices'))
    assert 3 <= done < 12 and len(second.inputs.structures) == 12 - done
    np.testing.assert_allclose(
        node.outputs.energies.get_array('energies'), reference['energies'].get_array('energies'), rtol=1e-12
    )
    for merged, expected in zip(node.outputs.forces.get_list(), reference['forces'].get_list(), strict=True):
        np.testing.assert_allclose(merged, expected, atol=1e-12)
    averaged = [record for record in (first, second) if 'rotational_average' in record.outputs.restoration_steps]
    assert len(averaged) == 2, 'both jobs recorded the average of the structures they finished'


def test_one_job_that_finishes_passes_its_outputs_through(engine_code, shipped_models):
    structures = StructureSetData.from_ase(rattled_copper(2))
    results, node = run_get_node(
        EvaluateWorkChain,
        evaluate={'code': engine_code, 'model': shipped_models['emt'], 'structures': structures},
    )
    assert node.is_finished_ok
    (job,) = node.called
    assert results['forces'].uuid == job.outputs.forces.uuid
