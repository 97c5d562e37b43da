"""An unconstrained PET is not equivariant; the rotational average makes it (nearly) so."""

import shutil

import numpy as np
import pytest
import torch
from ase.build import bulk
from scipy.spatial.transform import Rotation

from aiida_unconmlip.engine import Restoration, evaluate, evaluate_structures, load_potential
from aiida_unconmlip.engine.errors import InvalidStructure, NonFiniteOutput
from aiida_unconmlip.engine.evaluate import rotated_copy
from aiida_unconmlip.engine.potentials.metatomic_backend import with_dtype
from aiida_unconmlip.models import default_model_name, shipped_model


def rattled_silicon(seed: int):
    atoms = bulk('Si', cubic=True)
    atoms.rattle(0.05, seed=seed)
    return atoms


def equivariance_error(potential, atoms, restoration, rotations) -> float:
    """Largest |F(x Q^T) Q - F(x)| over the given rotations (eV/A)."""
    structures = [atoms] + [rotated_copy(atoms, rotation) for rotation in rotations]
    forces = evaluate_structures(potential, structures, restoration).forces
    return max(np.abs(f @ rotation - forces[0]).max() for f, rotation in zip(forces[1:], rotations, strict=True))


@pytest.fixture(scope='module')
def pet():
    """The shipped default PET, loaded by the engine alone (no AiiDA)."""
    model = shipped_model(default_model_name())
    return load_potential(model.path, 'metatomic', model.sha256, device='cpu', dtype='float64')


def test_rotational_average_restores_equivariance(pet):
    rotations = Rotation.random(4, random_state=11).as_matrix()
    atoms = rattled_silicon(3)
    raw = equivariance_error(pet, atoms, Restoration(), rotations)
    averaged = equivariance_error(pet, atoms, Restoration(l_max=3, inversion=True), rotations)
    assert raw > 1e-5, 'a PET without constraints should not be exactly equivariant'
    # the default PET's non-equivariance has components above l_max 3: measured 5x to 11x smaller, not zero
    assert averaged < raw / 4


def test_rotational_average_equals_metatomics_symmetrized_calculator(pet):
    """Our quadrature and metatomic's ``SymmetrizedCalculator`` (l_max 3 with inversion), both on the float64 model,
    give the same averaged energy, forces and stress: the step is the one users know from metatomic."""
    from ase.stress import full_3x3_to_voigt_6_stress
    from metatomic.torch import load_atomistic_model
    from metatomic_ase import MetatomicCalculator, SymmetrizedCalculator

    model = with_dtype(load_atomistic_model(str(shipped_model(default_model_name()).path)), 'float64')
    atoms = rattled_silicon(5)
    ours = evaluate_structures(pet, [atoms], Restoration(l_max=3, inversion=True))
    atoms.calc = SymmetrizedCalculator(MetatomicCalculator(model, device='cpu'), l_max=3, include_inversion=True)
    assert abs(ours.energies[0] - atoms.get_potential_energy()) < 1e-8
    np.testing.assert_allclose(ours.forces[0], atoms.get_forces(), atol=1e-7)
    np.testing.assert_allclose(full_3x3_to_voigt_6_stress(ours.stresses[0]), atoms.get_stress(), atol=1e-8)
    raw = evaluate_structures(pet, [atoms]).forces[0]
    assert np.abs(raw - atoms.get_forces()).max() > 1e-4  # the average changed what it is compared on


def test_rotational_std_measures_the_broken_symmetry(pet):
    result = evaluate_structures(pet, [rattled_silicon(4)], Restoration(l_max=2))
    forces_mode, average = result.restoration_steps
    assert forces_mode.as_dict() == {
        'name': 'forces_mode',
        'parameters': {'mode': 'conservative'},
        'effect': {'forces_from': 'energy gradient', 'stress_from': 'strain gradient'},
    }
    assert average.name == 'rotational_average' and average.parameters == {'l_max': 2, 'inversion': False}
    assert average.effect['forces_max_std_ev_per_angstrom'][0] > 0
    assert average.effect['n_rotations'] == 30


def test_batched_and_one_by_one_predictions_agree(pet):
    structures = [rattled_silicon(seed) for seed in range(5)]
    batched = evaluate_structures(pet, structures, max_atoms_per_batch=1000)
    single = evaluate_structures(pet, structures, max_atoms_per_batch=1)
    assert batched.timing['batches'] == 1 and single.timing['batches'] == 5
    np.testing.assert_allclose(batched.energies, single.energies, rtol=1e-10)
    for a, b in zip(batched.forces, single.forces, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-10)


def test_calls_side_by_side_on_copies_of_the_model_equal_calls_one_by_one(pet, monkeypatch):
    structures = [rattled_silicon(seed) for seed in range(6)]
    monkeypatch.setattr(pet, 'max_concurrent_calls', 1)
    one_by_one = evaluate_structures(pet, structures, max_atoms_per_batch=8)
    monkeypatch.setattr(pet, 'max_concurrent_calls', 2)  # also on a machine with one core
    monkeypatch.setattr(evaluate, 'EVALUATIONS_PER_CONCURRENT_CALL', 1)  # side by side for six structures too
    threads = torch.get_num_threads()
    side_by_side = evaluate_structures(pet, structures, max_atoms_per_batch=8)
    assert one_by_one.timing['concurrent_calls'] == 1 and side_by_side.timing['concurrent_calls'] == 2
    assert torch.get_num_threads() == threads  # the threads shared out during the calls are given back
    np.testing.assert_allclose(side_by_side.energies, one_by_one.energies, rtol=1e-12)
    for a, b in zip(side_by_side.forces, one_by_one.forces, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-12)
    np.testing.assert_allclose(side_by_side.stresses, one_by_one.stresses, atol=1e-12)


def test_copies_for_calls_side_by_side_need_not_the_model_file(tmp_path, monkeypatch):
    """The warm engine process keeps a model for later jobs, whose first job's folder (and model file) may be gone."""
    model = shipped_model(default_model_name())
    path = tmp_path / 'model.pt'
    shutil.copy(model.path, path)
    potential = load_potential(path, 'metatomic', model.sha256, device='cpu', dtype='float64')
    path.unlink()
    monkeypatch.setattr(potential, 'max_concurrent_calls', 2)
    monkeypatch.setattr(evaluate, 'EVALUATIONS_PER_CONCURRENT_CALL', 1)
    result = evaluate_structures(potential, [rattled_silicon(seed) for seed in range(4)], max_atoms_per_batch=8)
    assert result.timing['concurrent_calls'] == 2 and np.isfinite(result.energies).all()


def test_a_few_structures_go_one_call_after_another(pet):
    result = evaluate_structures(pet, [rattled_silicon(seed) for seed in range(2)])
    assert result.timing['concurrent_calls'] == 1


def test_budget_left_to_the_engine_is_measured_per_size_and_reported(pet):
    result = evaluate_structures(pet, [rattled_silicon(seed) for seed in range(8)])
    assert set(result.timing['structures_per_call']) == {8}
    assert result.timing['max_atoms_per_batch'] is None
    single = evaluate_structures(pet, [rattled_silicon(0)])  # a relaxation step: nothing to measure
    assert single.timing['structures_per_call'] is None and single.timing['batches'] == 1


def test_conservative_forces_are_minus_the_energy_gradient(pet):
    atoms = rattled_silicon(5)
    forces = evaluate_structures(pet, [atoms]).forces[0]
    step = 1e-4
    shifted = []
    for sign in (1, -1):
        moved = atoms.copy()
        moved.positions[2, 0] += sign * step
        shifted.append(moved)
    energies = evaluate_structures(pet, shifted).energies
    assert forces[2, 0] == pytest.approx(-(energies[0] - energies[1]) / (2 * step), abs=1e-6)


def test_stress_is_the_strain_derivative_of_the_energy(pet):
    atoms = rattled_silicon(6)
    stress = evaluate_structures(pet, [atoms]).stresses[0]
    step = 1e-5
    strained_cells = []
    for sign in (1, -1):
        strained = atoms.copy()
        deformation = np.eye(3)
        deformation[0, 1] = deformation[1, 0] = sign * step / 2
        strained.set_cell(atoms.cell.array @ deformation, scale_atoms=True)
        strained_cells.append(strained)
    energy_plus, energy_minus = evaluate_structures(pet, strained_cells).energies
    # a symmetric shear probes the symmetric part (an unconstrained model's strain derivative need not be symmetric)
    shear = (stress[0, 1] + stress[1, 0]) / 2
    assert shear == pytest.approx((energy_plus - energy_minus) / (2 * step) / atoms.get_volume(), abs=1e-8)


def test_direct_forces_come_from_the_direct_head(pet):
    atoms = rattled_silicon(8)
    conservative = evaluate_structures(pet, [atoms]).forces[0]
    direct = evaluate_structures(pet, [atoms], Restoration(forces_mode='direct')).forces[0]
    assert direct.shape == conservative.shape
    assert np.abs(direct - conservative).max() > 1e-6


def test_nan_output_is_an_error(nan_model_file):
    potential = load_potential(nan_model_file, 'metatomic')
    with pytest.raises(NonFiniteOutput, match='NaN'):
        evaluate_structures(potential, [rattled_silicon(0)])


def test_overlapping_atoms_are_found_on_the_models_own_neighbour_list(pet):
    overlapping = rattled_silicon(2)
    overlapping.positions[5] = overlapping.positions[2] + [0.3, 0.0, 0.0]
    with pytest.raises(InvalidStructure, match=r'structure 1 has overlapping atoms (2 and 5|5 and 2) at 0.300 A'):
        evaluate_structures(pet, [rattled_silicon(1), overlapping], Restoration(l_max=1))
