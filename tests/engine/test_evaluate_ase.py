"""With an exact, equivariant reference potential the engine reproduces it, averaged or not."""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from aiida_unconmlip.engine import Restoration, evaluate_structures, load_potential
from aiida_unconmlip.engine.errors import InvalidStructure, UnsupportedCapability, UnsupportedElement
from aiida_unconmlip.models import shipped_models

MODELS = {model.name: model for model in shipped_models()}


@pytest.fixture(scope='module')
def emt():
    return load_potential(MODELS['emt'].path, 'ase', MODELS['emt'].sha256)


def rattled_copper(seed: int):
    atoms = bulk('Cu', cubic=True).repeat(2)
    atoms.rattle(0.05, seed=seed)
    return atoms


def test_emt_energies_forces_stress_match_ase(emt):
    structures = [rattled_copper(seed) for seed in range(3)]
    result = evaluate_structures(emt, structures)
    for index, atoms in enumerate(structures):
        atoms.calc = EMT()
        assert result.energies[index] == pytest.approx(atoms.get_potential_energy(), rel=1e-12)
        np.testing.assert_allclose(result.forces[index], atoms.get_forces(), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(result.stresses[index], atoms.get_stress(voigt=False), rtol=1e-12, atol=1e-16)


def test_rotational_average_leaves_an_equivariant_model_unchanged(emt):
    structures = [rattled_copper(7)]
    raw = evaluate_structures(emt, structures)
    averaged = evaluate_structures(emt, structures, Restoration(l_max=3, inversion=True))
    records = {record.name: record for record in averaged.restoration_steps}
    assert records['rotational_average'].effect['n_rotations'] == 84
    assert averaged.energies[0] == pytest.approx(raw.energies[0], rel=1e-12)
    np.testing.assert_allclose(averaged.forces[0], raw.forces[0], atol=1e-10)
    np.testing.assert_allclose(averaged.stresses[0], raw.stresses[0], atol=1e-12)
    assert records['rotational_average'].effect['forces_max_std_ev_per_angstrom'][0] < 1e-10


def test_bad_structures_are_refused_with_a_reason(emt):
    with pytest.raises(UnsupportedElement, match='Si'):
        evaluate_structures(emt, [bulk('Si')])
    overlapping = rattled_copper(1)
    overlapping.positions[1] = overlapping.positions[0] + [0.2, 0.0, 0.0]
    with pytest.raises(InvalidStructure, match='overlapping atoms'):
        evaluate_structures(emt, [overlapping])
    with pytest.raises(InvalidStructure, match='no atoms'):
        evaluate_structures(emt, [rattled_copper(2)[[]]])


def test_ase_backend_refuses_direct_forces(emt):
    with pytest.raises(UnsupportedCapability, match='conservative'):
        evaluate_structures(emt, [rattled_copper(3)], Restoration(forces_mode='direct'))


def test_finished_structures_are_handed_over_batch_by_batch(emt):
    structures = [rattled_copper(seed) for seed in range(4)]
    handed = []
    result = evaluate_structures(
        emt, structures, Restoration(l_max=1), max_atoms_per_batch=len(structures[0]) * 5, on_finished=handed.append
    )
    assert len(handed) == 4, 'each structure is handed over when its last rotated copy is done'
    assert [finished.index for group in handed for finished in group] == [0, 1, 2, 3]
    for group in handed:
        for finished in group:
            np.testing.assert_allclose(finished.forces, result.forces[finished.index])
            assert finished.energy == result.energies[finished.index]
