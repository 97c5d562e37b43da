"""``unconmlip.train`` runs metatrain for real (tiny PET, two epochs) and its model works in the engine."""

import sys
from pathlib import Path

import numpy as np
import pytest
from aiida.engine import run_get_node
from aiida.orm import Bool, Dict, InstalledCode, QueryBuilder
from aiida.plugins import CalculationFactory
from ase.build import bulk

from aiida_unconmlip.data.training_set import TrainingSetData, assign_split
from aiida_unconmlip.engine import Restoration, evaluate_structures, load_potential
from aiida_unconmlip.training import metatrain_options, parse_hyperparameters
from tests.helpers import tersoff_labelled_si

pytestmark = pytest.mark.slow  # trains models with metatrain

TrainCalculation = CalculationFactory('unconmlip.train')
TINY = {
    'model': {'d_pet': 16, 'd_head': 16, 'd_node': 32, 'd_feedforward': 32, 'num_heads': 2, 'num_gnn_layers': 1},
    'training': {'num_epochs': 2, 'batch_size': 4, 'learning_rate': 1e-3},
}


@pytest.fixture
def training_set(aiida_profile):
    frames = tersoff_labelled_si(12, seed=3)
    for frame, split in zip(frames, assign_split(len(frames), 0.2, 0.2, seed=0), strict=True):
        frame.info['split'] = split
    return TrainingSetData.from_frames(frames, source='tersoff test data').store()


@pytest.fixture
def mtt_code(aiida_localhost):
    return InstalledCode(
        computer=aiida_localhost,
        filepath_executable=str(Path(sys.executable).parent / 'mtt'),
        label='mtt-test',
        default_calc_job_plugin='unconmlip.train',
    ).store()


def test_training_gives_a_model_the_engine_loads(training_set, mtt_code):
    results, node = run_get_node(TrainCalculation, code=mtt_code, training_set=training_set, hyperparameters=Dict(TINY))
    assert node.is_finished_ok, node.exit_message
    model = results['model']
    assert model.elements == ['Si']
    assert model.capabilities == {'conservative': True, 'direct_forces': True, 'direct_stress': True}
    assert len(results['learning_curves'].get_array('epoch')) == 2
    assert 'energy RMSE (per atom)' in results['errors']['test']
    assert 'checkpoint' not in results and 'model.pt' not in node.outputs.retrieved.base.repository.list_object_names()

    with model.as_path() as path:
        potential = load_potential(path, 'metatomic', model.sha256, device='cpu', dtype='float64')
        atoms = bulk('Si', cubic=True)
        atoms.rattle(0.03, seed=1)
        for mode in ('conservative', 'direct'):
            result = evaluate_structures(potential, [atoms], Restoration(forces_mode=mode))
            assert np.isfinite(result.forces[0]).all() and np.isfinite(result.energies).all()

    ancestors = QueryBuilder().append(type(model), filters={'id': model.pk}, tag='model')
    ancestors.append(TrainingSetData, with_descendants='model', project='id')
    assert ancestors.all(flat=True) == [training_set.pk]


def test_unknown_hyperparameters_are_refused_at_submission(training_set, mtt_code):
    with pytest.raises(ValueError, match=r'unknown PET model hyperparameters \[.d_pett.\]'):
        run_get_node(
            TrainCalculation, code=mtt_code, training_set=training_set, hyperparameters=Dict({'model': {'d_pett': 8}})
        )


def test_fine_tuning_starts_from_a_stored_checkpoint(training_set, mtt_code):
    """The checkpoint is stored only on request; a second job fine-tunes from it."""
    first, node = run_get_node(
        TrainCalculation,
        code=mtt_code,
        training_set=training_set,
        hyperparameters=Dict(TINY),
        store_checkpoint=Bool(True),
    )
    assert node.is_finished_ok, node.exit_message
    fine_tuned, node = run_get_node(
        TrainCalculation,
        code=mtt_code,
        training_set=training_set,
        hyperparameters=Dict({**TINY, 'training': {**TINY['training'], 'num_epochs': 1}}),
        finetune_checkpoint=first['checkpoint'],
    )
    assert node.is_finished_ok, node.exit_message
    assert 'checkpoint' not in fine_tuned
    assert fine_tuned['model'].sha256 != first['model'].sha256
    assert node.base.links.get_incoming(link_label_filter='finetune_checkpoint').one().node.pk == first['checkpoint'].pk


def test_direct_heads_have_their_own_loss_weights():
    """The direct heads' weights reach metatrain under their targets; the conservative forces keep theirs."""
    loss = metatrain_options({'loss_weights': {'direct_forces': 0.5}})['architecture']['training']['loss']
    assert loss['energy']['gradients']['positions']['weight'] == 30.0
    assert loss['non_conservative_forces']['weight'] == 0.5
    assert loss['non_conservative_stress']['weight'] == 1.0
    assert (
        'non_conservative_forces' not in metatrain_options({'direct_heads': False})['architecture']['training']['loss']
    )
    with pytest.raises(ValueError, match='direct_forces'):
        parse_hyperparameters({'loss_weights': {'forces': -1.0}})
