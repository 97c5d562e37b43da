"""Model-card errors: zero against the model's own labels, and the exact RMSE/MAE of known deviations."""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from aiida_unconmlip.engine import load_potential
from aiida_unconmlip.engine.accuracy import prediction_errors
from aiida_unconmlip.models import shipped_model


def labelled_by_emt(count: int) -> list:
    frames = []
    for seed in range(count):
        atoms = bulk('Cu', cubic=True)
        atoms.rattle(0.05, seed=seed)
        atoms.calc = EMT()
        atoms.info['energy'] = atoms.get_potential_energy()
        atoms.info['stress'] = atoms.get_stress(voigt=False)
        atoms.arrays['forces'] = atoms.get_forces()
        atoms.calc = None
        frames.append(atoms)
    return frames


@pytest.fixture(scope='module')
def emt():
    model = shipped_model('emt')
    return load_potential(model.path, 'ase', model.sha256)


def test_errors_against_own_labels_vanish(emt):
    errors = prediction_errors(emt, labelled_by_emt(3))
    assert max(errors.values()) < 1e-9


def test_known_deviations_give_the_expected_rmse_and_mae(emt):
    frames = labelled_by_emt(2)
    frames[0].info['energy'] += 4 * 0.003  # 3 meV/atom on 4 atoms
    frames[1].arrays['forces'][0, 2] -= 0.024  # one force component off by 24 meV/A
    errors = prediction_errors(emt, frames)
    assert errors['energy_mev_per_atom_mae'] == pytest.approx(1.5)
    assert errors['energy_mev_per_atom_rmse'] == pytest.approx(np.sqrt(4.5))
    assert errors['forces_mev_per_a_mae'] == pytest.approx(24 / 24)
    assert errors['forces_mev_per_a_rmse'] == pytest.approx(np.sqrt(24**2 / 24))
    assert errors['stress_mev_per_a3_rmse'] < 1e-9
