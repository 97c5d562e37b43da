"""The numbers of a DFT spot check, against exact references: a "model" that is Tersoff's Si with every force scaled
by a known factor and every energy shifted, checked against Tersoff itself."""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from aiida_unconmlip.dft_checks.cells import displacement_cells, run_cells
from aiida_unconmlip.dft_checks.errors import compare
from aiida_unconmlip.dft_checks.verdict import verdict
from aiida_unconmlip.engine.reference_potentials import TersoffSi1988

SCALE, SHIFT_PER_ATOM = 1.05, -107.3  # the "model": forces 5 % too stiff, its own zero of energy (eV/atom)


def labels(cells, scale=1.0, shift=0.0):
    energies, forces, stresses = [], [], []
    for atoms in cells:
        atoms = atoms.copy()
        atoms.calc = TersoffSi1988()
        energies.append(atoms.get_potential_energy() + shift * len(atoms))
        forces.append(scale * atoms.get_forces())
        stresses.append(atoms.get_stress(voigt=False))
    return {'energies': np.array(energies), 'forces': forces, 'stresses': np.array(stresses)}


@pytest.fixture(scope='module')
def silicon_check():
    unitcell = bulk('Si', 'diamond', a=5.432, cubic=True)
    cells, plan = displacement_cells(unitcell, amplitude=0.01, plus_minus=True, max_atoms=16, symprec=1e-5)
    return cells, plan, compare(cells, plan, labels(cells, SCALE, SHIFT_PER_ATOM), labels(cells))


def test_small_cells_repeat_the_displacement_pattern(silicon_check):
    cells, plan, _ = silicon_check
    # the run's own 8-atom cell (its supercell 1x1x1 instead of 3x3x3), the primitive cell and its 2x2x2
    assert [len(atoms) for atoms in cells] == [2, 8, 8, 2, 2, 16, 16]
    assert [group['name'] for group in plan['groups']] == ['unit_cell_1x1x1', 'primitive', 'primitive_2x2x2']
    for group in plan['groups']:
        # opposite pairs: the two cells differ only in the displaced atom, by twice its displacement
        plus, minus = group['indices']
        assert group['displaced_atoms'][0] == group['displaced_atoms'][1]
        assert np.allclose(group['displacements'][0], -np.asarray(group['displacements'][1]))
        difference = cells[plus].positions - cells[minus].positions
        atom = group['displaced_atoms'][0]
        assert np.allclose(difference[atom], 2 * np.asarray(group['displacements'][0]), atol=1e-10)
        assert np.allclose(np.delete(difference, atom, axis=0), 0, atol=1e-10)
        assert np.linalg.norm(group['displacements'][0]) == pytest.approx(0.01)
    assert plan['energy_indices'] == [0, 3, 4]  # the 2-atom cells
    with pytest.raises(ValueError, match='max_atoms'):
        displacement_cells(bulk('Si', 'diamond', a=5.432), 0.01, True, max_atoms=1, symprec=1e-5)


def test_a_uniform_force_scale_is_found_exactly(silicon_check):
    *_, errors = silicon_check
    assert errors['energy_mev_per_atom']['max'] == pytest.approx(0, abs=1e-9)  # the shift is aligned away
    for pattern in errors['displacement_patterns']:
        assert pattern['displaced_atom_force_ratio'] == pytest.approx(SCALE, rel=1e-12)
        # force constants scale with the forces, frequencies with their square root, at every commensurate q
        for q, dft in pattern['frequencies_thz']['dft'].items():
            model = pattern['frequencies_thz']['model'][q]
            assert np.allclose(np.sort(model)[1:], np.sqrt(SCALE) * np.sort(dft)[1:], rtol=1e-6, atol=1e-4)
        gamma = pattern['gamma_highest_thz']
        assert gamma['model'] == pytest.approx(np.sqrt(SCALE) * gamma['dft'], rel=1e-6)
        assert gamma['mode_force_ratio'] == pytest.approx(SCALE, rel=1e-6)
        assert pattern['frequency_error_from_ratio_thz'] == pytest.approx(gamma['error'], rel=1e-6)
    assert set(errors['displacement_patterns'][2]['frequencies_thz']['dft']) >= {'0 0 0', '0.5 0 0', '0.5 0.5 0'}
    # one potential, one k-point-free "DFT": Gamma is the same from every cell, to the finite differences' 1e-3 THz
    gamma = errors['gamma_highest']
    assert gamma['dft_spread_thz'] == pytest.approx(0, abs=2e-3)
    assert gamma['mode_force_ratio'] == pytest.approx(SCALE, rel=1e-6)
    expected = np.mean([(np.sqrt(SCALE) - 1) * p['gamma_highest_thz']['dft'] for p in errors['displacement_patterns']])
    assert gamma['error_thz'] == pytest.approx(expected, rel=1e-6)


def test_a_monatomic_crystal_has_no_primitive_pattern_and_no_optical_gamma():
    cells, plan = displacement_cells(bulk('Cu', 'fcc', a=3.6, cubic=True), 0.01, True, max_atoms=16, symprec=1e-5)
    assert [group['name'] for group in plan['groups']] == ['unit_cell_1x1x1', 'primitive_2x2x2']

    def emt(cells, scale=1.0):
        forces = []
        for atoms in cells:
            atoms = atoms.copy()
            atoms.calc = EMT()
            forces.append(scale * atoms.get_forces())
        return {'energies': np.zeros(len(cells)), 'forces': forces, 'stresses': np.zeros((len(cells), 3, 3))}

    errors = compare(cells, plan, emt(cells, SCALE), emt(cells))
    for pattern in errors['displacement_patterns']:
        assert pattern['gamma_highest_thz'] is None and pattern['frequency_error_from_ratio_thz'] is None
        assert pattern['displaced_atom_force_ratio'] == pytest.approx(SCALE, rel=1e-12)


def test_force_errors_are_the_scale_times_the_forces(silicon_check):
    cells, _, errors = silicon_check
    reference = np.concatenate(labels(cells)['forces'])
    forces = errors['forces_mev_per_angstrom']
    assert forces['mae'] == pytest.approx(1000 * (SCALE - 1) * np.abs(reference).mean(), rel=1e-9)
    assert forces['rmse'] == pytest.approx(1000 * (SCALE - 1) * np.sqrt((reference**2).mean()), rel=1e-9)
    assert errors['stress']['max_gpa'] == pytest.approx(0, abs=1e-12)


def test_verdict_against_the_card():
    cells, plan = run_cells([bulk('Si', 'diamond', a=5.432, cubic=True).copy() for _ in range(3)], 2, 8)
    for atoms, amount in zip(cells, (0.0, 0.05), strict=False):
        atoms.rattle(amount, seed=1)
    errors = compare(cells, plan, labels(cells, 1.2), labels(cells))
    card = {'forces_rmse_mev_per_angstrom': 1000.0, 'energy_rmse_mev_per_atom': 1.0}
    assert verdict(errors, card)['domain'] == 'inside'
    tight = {'forces_rmse_mev_per_angstrom': errors['forces_mev_per_angstrom']['rmse'] / 4}
    judged = verdict(errors, tight)
    assert judged['domain'] == 'outside' and 'forces rmse' in judged['message']
    assert judged['ratios']['forces_rmse_mev_per_angstrom'] == pytest.approx(4)
    assert verdict(errors, None)['domain'] == 'no card'
