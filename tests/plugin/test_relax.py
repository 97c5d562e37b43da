"""Relaxation on the compute node and the restart work chain around it, with real AiiDA processes."""

import os
import signal
import time

import numpy as np
import pytest
from aiida.engine import ProcessState, run_get_node, submit
from aiida.orm import Log, StructureData
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.filters import FrechetCellFilter
from ase.optimize import FIRE

from aiida_unconmlip.data import ModelData
from aiida_unconmlip.workflows.relax import RelaxWorkChain
from tests.helpers import engine_processes_in


def ase_emt_lattice_constant(symbol: str) -> float:
    """ASE's own EMT equilibrium: FIRE + FrechetCellFilter to 1e-6 eV/A on the conventional fcc cell."""
    atoms = bulk(symbol, 'fcc', a=3.9, cubic=True)
    atoms.calc = EMT()
    FIRE(FrechetCellFilter(atoms), logfile=None).run(fmax=1e-6, steps=5000)
    return atoms.cell.cellpar()[0]


@pytest.mark.parametrize(('symbol', 'start'), [('Cu', 3.70), ('Al', 4.10)])
def test_emt_fcc_relaxes_to_the_ase_lattice_constant_and_keeps_fm3m(engine_code, shipped_models, symbol, start):
    structure = StructureData(ase=bulk(symbol, 'fcc', a=start, cubic=True))
    builder = RelaxWorkChain.get_builder_from_protocol(
        engine_code, structure, shipped_models['emt'], overrides={'relax': {'parameters': {'fmax': 1e-5}}}
    )
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    relaxed = results['relaxed_structure'].get_ase()
    assert relaxed.cell.cellpar()[0] == pytest.approx(ase_emt_lattice_constant(symbol), abs=1e-4)
    report = results['relaxation_report']['structures'][0]
    assert report['converged']
    assert report['space_group_output']['1e-05'] == 'Fm-3m (225)'
    fix_symmetry = results['restoration_steps']['fix_symmetry'].get_dict()
    assert fix_symmetry['parameters'] == {'symprec': 1e-5}
    assert fix_symmetry['effect']['space_group_output'] == ['Fm-3m (225)']
    trajectory = results['trajectories']['structure_0']
    assert trajectory.numsteps >= 2
    assert trajectory.get_array('energies')[-1] <= trajectory.get_array('energies')[0]


def test_too_few_steps_trigger_restarts_until_converged(engine_code, shipped_models):
    structure = StructureData(ase=bulk('Cu', 'fcc', a=3.75, cubic=True))
    builder = RelaxWorkChain.get_builder_from_protocol(
        engine_code,
        structure,
        shipped_models['emt'],
        protocol='fast',
        overrides={'max_iterations': 20, 'relax': {'parameters': {'max_steps': 8}}},
    )
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    calculations = node.called
    assert len(calculations) >= 2
    assert [c.exit_status for c in calculations[:-1]] == [350] * (len(calculations) - 1)
    assert calculations[-1].exit_status == 0
    messages = [entry.message for entry in Log.collection.get_logs_for(node)]
    assert any('not converged after 8 steps: restarting from its last geometry' in m for m in messages)
    assert results['relaxation_report']['structures'][0]['converged']


def test_a_relax_job_killed_from_outside_is_run_again(started_daemon_client, engine_code, shipped_models):
    atoms = bulk('Cu', 'fcc', a=3.62, cubic=True).repeat(2)
    atoms.rattle(0.05, seed=1)
    builder = RelaxWorkChain.get_builder_from_protocol(
        engine_code,
        StructureData(ase=atoms),
        shipped_models['emt'],
        protocol='fast',
        overrides={'relax': {'restoration': {'rotational_average': {'l_max': 2, 'inversion': True}}}},
    )
    node = submit(builder)
    deadline = time.monotonic() + 600
    killed = []
    while not killed and time.monotonic() < deadline:
        jobs = node.called
        if jobs and jobs[0].process_state == ProcessState.WAITING and jobs[0].get_remote_workdir():
            for pid in engine_processes_in(jobs[0].get_remote_workdir()):
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        time.sleep(0.05)
    assert killed, 'the relax job finished before it could be stopped'
    while not node.is_terminated and time.monotonic() < deadline:
        time.sleep(0.5)
    assert node.is_finished_ok, node.exit_message
    first, second = sorted(node.called, key=lambda child: child.ctime)
    assert first.exit_status == 303 and 'SIGKILL' in first.exit_message
    assert second.inputs.structures.uuid == first.inputs.structures.uuid
    messages = [entry.message for entry in Log.collection.get_logs_for(node)]
    assert any(f'RelaxCalculation<{first.pk}> stopped ([303]' in m and 'relaxing again' in m for m in messages)
    assert node.outputs.relaxation_report['structures'][0]['converged']


def test_nan_is_retried_in_float64_and_then_reported(engine_code, nan_model_file):
    structure = StructureData(ase=bulk('Si', 'diamond', a=5.43))
    builder = RelaxWorkChain.get_builder_from_protocol(
        engine_code,
        structure,
        ModelData.import_file(nan_model_file),
        overrides={'relax': {'settings': {'dtype': 'float32'}}},
    )
    _, node = run_get_node(builder)
    assert node.exit_status == RelaxWorkChain.exit_codes.ERROR_NON_FINITE_IN_FLOAT64.status
    first, second = node.called
    assert first.inputs.settings['dtype'] == 'float32' and second.inputs.settings['dtype'] == 'float64'
    assert first.exit_status == second.exit_status == 330


def test_pet_relaxation_with_fix_symmetry_keeps_the_diamond_space_group(engine_code, default_model, record_property):
    """FixSymmetry keeps Fd-3m; without it (and without averaging) what happens is recorded, not asserted."""
    model = default_model
    atoms = bulk('Si', 'diamond', a=5.50)
    outcomes = {}
    for label, fix_symmetry in (('fix_symmetry', True), ('no_fix_symmetry', False)):
        builder = RelaxWorkChain.get_builder_from_protocol(
            engine_code,
            StructureData(ase=atoms),
            model,
            protocol='fast',
            overrides={'relax': {'parameters': {'max_steps': 300}, 'restoration': {'fix_symmetry': fix_symmetry}}},
        )
        results, node = run_get_node(builder)
        assert node.is_finished_ok or node.exit_status == 401, node.exit_message
        outcomes[label] = results['relaxation_report']['structures'][0]['space_group_output']
    record_property('space_groups_after_relaxation', outcomes)
    print('space groups after relaxation with the default PET:', outcomes)
    assert outcomes['fix_symmetry']['1e-05'] == 'Fd-3m (227)'


def test_protocol_overrides_are_checked(engine_code, shipped_models):
    structure = StructureData(ase=bulk('Cu'))
    with pytest.raises(ValueError, match=r'unknown override `relax\.paramters`'):
        RelaxWorkChain.get_builder_from_protocol(
            engine_code, structure, shipped_models['emt'], overrides={'relax': {'paramters': {}}}
        )
    with pytest.raises(ValueError, match='unknown protocol `sloppy`'):
        RelaxWorkChain.get_builder_from_protocol(engine_code, structure, shipped_models['emt'], protocol='sloppy')
    builder = RelaxWorkChain.get_builder_from_protocol(
        engine_code, structure, shipped_models['emt'], protocol='precise'
    )
    assert builder.relax.parameters['fmax'] == 1e-5
    np.testing.assert_allclose(builder.relax.structures.get_ase().cell, bulk('Cu').cell)
