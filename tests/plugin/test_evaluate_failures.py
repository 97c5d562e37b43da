"""Bad inputs submitted to a real daemon: each gets its exit code and message, and the daemon keeps running."""

import pytest
from aiida.orm import Dict
from aiida.plugins import CalculationFactory
from ase import Atoms
from ase.build import bulk

from aiida_unconmlip.data import ModelData, RemoteModelData, StructureSetData
from aiida_unconmlip.engine.hashing import sha256_of_file

EvaluateCalculation = CalculationFactory('unconmlip.evaluate')


def copper():
    atoms = bulk('Cu', cubic=True)
    atoms.rattle(0.02, seed=1)
    return atoms


def overlapping_copper():
    atoms = copper()
    atoms.positions[1] = atoms.positions[0] + [0.3, 0.0, 0.0]
    return atoms


@pytest.fixture
def submit_evaluate(submit_and_await, engine_code):
    def submit(model, structures, restoration=None):
        inputs = {'code': engine_code, 'model': model, 'structures': StructureSetData.from_ase(structures)}
        if restoration:
            inputs['restoration'] = Dict(restoration)
        return submit_and_await(EvaluateCalculation, timeout=120, **inputs)

    return submit


@pytest.mark.parametrize(
    ('case', 'exit_status', 'message'),
    [
        ('overlapping_atoms', 321, 'overlapping atoms'),
        ('empty_structure', 321, 'no atoms'),
        ('direct_forces_without_head', 312, 'conservative'),
    ],
)
def test_bad_structures_and_requests(
    submit_evaluate, shipped_models, started_daemon_client, case, exit_status, message
):
    emt = shipped_models['emt']
    structures = {
        'overlapping_atoms': [overlapping_copper()],
        'empty_structure': [Atoms(cell=[3, 3, 3], pbc=True)],
        'direct_forces_without_head': [copper()],
    }[case]
    restoration = {'forces_mode': 'direct'} if case == 'direct_forces_without_head' else None
    node = submit_evaluate(emt, structures, restoration)
    assert node.exit_status == exit_status
    assert message in node.exit_message
    assert started_daemon_client.is_daemon_running


def test_an_element_the_model_does_not_know(submit_evaluate, shipped_models, pet_model_file, aiida_localhost):
    with pytest.raises(ValueError, match='structure 1 \\(Si2\\) contains Si, which model `emt` does not know'):
        submit_evaluate(shipped_models['emt'], [copper(), bulk('Si')])
    # a model on the cluster recorded without its elements: the engine finds out and says so
    unlisted = RemoteModelData(
        computer=aiida_localhost,
        remote_path=str(pet_model_file),
        sha256=sha256_of_file(pet_model_file),
        backend='metatomic',
        name='elements-not-recorded',
    ).store()
    node = submit_evaluate(unlisted, [copper()])
    assert node.exit_status == 320
    assert 'contains Cu, which the model does not support' in node.exit_message


def test_nan_producing_model(submit_evaluate, nan_model_file, started_daemon_client):
    node = submit_evaluate(ModelData.import_file(nan_model_file), [bulk('Si', cubic=True)])
    assert node.exit_status == 330
    assert 'NaN' in node.exit_message
    assert started_daemon_client.is_daemon_running


def test_corrupted_and_changed_model_files(submit_evaluate, pet_model_file, aiida_localhost, tmp_path):
    corrupted = tmp_path / 'corrupted.pt'
    corrupted.write_bytes(pet_model_file.read_bytes()[:4000])
    unreadable = RemoteModelData(
        computer=aiida_localhost,
        remote_path=str(corrupted),
        sha256=sha256_of_file(corrupted),
        backend='metatomic',
        name='corrupted',
    ).store()
    node = submit_evaluate(unreadable, [bulk('Si', cubic=True)])
    assert node.exit_status == 311
    assert 'not a loadable metatomic model' in node.exit_message

    changed = RemoteModelData(
        computer=aiida_localhost,
        remote_path=str(pet_model_file),
        sha256='0' * 64,
        backend='metatomic',
        name='changed',
    ).store()
    node = submit_evaluate(changed, [bulk('Si', cubic=True)])
    assert node.exit_status == 310
    assert 'sha256' in node.exit_message
