"""The projector's basis built ahead, in a second process, projects force constants exactly as phonopy's own."""

import copy
import multiprocessing

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.spacegroup import crystal
from phonopy.structure.atoms import PhonopyAtoms

from aiida_unconmlip.cores import usable_cores
from aiida_unconmlip.engine.reference_potentials import TersoffSi1988
from aiida_unconmlip.phonons.force_constants import fc_from_forces, symmetrize_fc
from aiida_unconmlip.phonons.phonopy_setup import make_phonopy, supercell_from_yaml_text, to_yaml_text
from aiida_unconmlip.phonons.projector import BasisAhead, build_basis
from tests.helpers import ase_forces

SYMPREC = 1e-5
CRYSTALS = {  # unit cell, calculator, supercell repeats: a primitive cell unlike the unit cell, two species, hexagonal
    'Si-diamond': (lambda: bulk('Si', 'diamond', a=5.431, cubic=True), TersoffSi1988, [2, 2, 2]),
    'Cu3Au-L12': (
        lambda: crystal(['Au', 'Cu'], [(0, 0, 0), (0, 0.5, 0.5)], spacegroup=221, cellpar=[3.75] * 3 + [90] * 3),
        EMT,
        [2, 2, 2],
    ),
    'Cu-hcp': (lambda: bulk('Cu', 'hcp', a=2.56, c=4.18), EMT, [3, 3, 2]),
}


@pytest.fixture(params=sorted(CRYSTALS))
def broken_phonon(request):
    """phonopy with force constants from a potential's forces plus 1 meV/A of noise: symmetry broken, as by an
    unconstrained model."""
    unitcell, calculator, repeats = CRYSTALS[request.param]
    phonon = make_phonopy(unitcell(), np.diag(repeats), SYMPREC)
    phonon.generate_displacements(distance=0.01, is_plusminus=True)
    forces = ase_forces(phonon.supercells_with_displacements, calculator())
    forces += np.random.default_rng(0).normal(scale=1e-3, size=forces.shape)
    fc_from_forces(phonon, forces, 'phonopy')
    return phonon


def test_the_basis_built_ahead_projects_as_phonopy_does(broken_phonon):
    with BasisAhead(broken_phonon.supercell, SYMPREC) as ahead:
        basis = ahead.result()
    if usable_cores() >= 2:
        assert basis is not None, 'the second process built no basis'
    else:
        basis = build_basis(broken_phonon.supercell, SYMPREC)
    assert basis.fits(broken_phonon)
    ours = copy.deepcopy(broken_phonon)
    change = symmetrize_fc(ours, basis)
    broken_phonon.symmetrize_force_constants(show_drift=False, use_symfc_projector=True)
    scale = np.abs(broken_phonon.force_constants).max()
    np.testing.assert_allclose(ours.force_constants, broken_phonon.force_constants, rtol=0, atol=1e-12 * scale)
    assert change > 1e-5  # the noise was projected out, not left
    # the acoustic sum rule: a rigid translation of the crystal moves no atom of the primitive cell
    assert np.abs(ours.force_constants.sum(axis=1)).max() < 1e-10 * scale


def test_the_basis_is_built_for_the_supercell_of_the_setup_yaml():
    phonon = make_phonopy(bulk('Si', 'diamond', a=5.431, cubic=True), np.diag([2, 2, 2]), SYMPREC)
    phonon.generate_displacements(distance=0.01, is_plusminus=True)
    supercell = supercell_from_yaml_text(to_yaml_text(phonon))
    np.testing.assert_array_equal(supercell.numbers, phonon.supercell.numbers)
    np.testing.assert_allclose(supercell.scaled_positions, phonon.supercell.scaled_positions, atol=1e-12)


def test_a_basis_of_another_supercell_is_left_to_phonopy(broken_phonon):
    other = make_phonopy(bulk('Si', 'diamond', a=5.431, cubic=True), np.diag([1, 1, 1]), SYMPREC)
    basis = build_basis(other.supercell, SYMPREC)
    assert not basis.fits(broken_phonon)
    reference = copy.deepcopy(broken_phonon)
    reference.symmetrize_force_constants(show_drift=False, use_symfc_projector=True)
    symmetrize_fc(broken_phonon, basis)  # phonopy projects by itself
    np.testing.assert_allclose(broken_phonon.force_constants, reference.force_constants, rtol=0, atol=1e-12)


def test_a_second_process_that_fails_leaves_the_projection_to_phonopy_and_no_process():
    flat = PhonopyAtoms(symbols=['Si', 'Si'], cell=np.zeros((3, 3)), scaled_positions=[[0, 0, 0], [0.5, 0.5, 0.5]])
    with BasisAhead(flat, SYMPREC) as ahead:
        assert ahead.result() is None
    assert multiprocessing.active_children() == []
