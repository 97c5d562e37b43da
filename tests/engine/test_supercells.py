"""Supercell shapes: the isotropic supercell has its periodic images at least the minimum length apart, keeps the
crystal's point group, and is the smallest such one where that can be shown by hand (fcc lattices)."""

import numpy as np
import pytest
import spglib
from ase.build import bulk

from aiida_unconmlip.phonons.phonopy_setup import standardize
from aiida_unconmlip.phonons.supercells import (
    diagonal_supercell_matrix,
    minimum_image_distance,
    supercell_matrix,
)
from tests.lattices import CRYSTALS, lattice_crystal

SYMPREC = 1e-5


def cartesian_rotations(atoms) -> np.ndarray:
    """The crystal's point group as Cartesian rotations (from spglib's fractional ones)."""
    dataset = spglib.get_symmetry_dataset((atoms.cell.array, atoms.get_scaled_positions(), atoms.numbers), SYMPREC)
    lattice = atoms.cell.array
    return np.array([lattice.T @ rotation @ np.linalg.inv(lattice.T) for rotation in dataset.rotations])


def keeps_point_group(atoms, matrix) -> bool:
    """Each rotation maps the supercell lattice onto itself: its rotated vectors are integer combinations of its own."""
    supercell = np.asarray(matrix) @ atoms.cell.array
    for rotation in cartesian_rotations(atoms):
        coefficients = (supercell @ rotation.T) @ np.linalg.inv(supercell)
        if not np.allclose(coefficients, np.rint(coefficients), atol=1e-6):
            return False
    return True


def atoms_in(atoms, matrix) -> int:
    return len(atoms) * round(abs(np.linalg.det(matrix)))


@pytest.mark.parametrize(
    ('atoms', 'atoms_expected'),
    [
        # An fcc supercell of k x k x k primitive cells is the densest there is at a given image distance; the cubic
        # alternatives (simple cubic or bcc supercells) are larger: 6 x 6 x 6 primitive cells of Cu (15.32 A apart)
        # and 4 x 4 x 4 of Si (15.36 A), where the diagonal repeats of the conventional cell take 500 and 216 atoms.
        (bulk('Cu', 'fcc', a=3.61, cubic=True), 216),
        (bulk('Si', 'diamond', a=5.43, cubic=True), 128),
    ],
    ids=['Cu', 'Si'],
)
def test_isotropic_supercell_of_fcc_lattices_is_the_smallest_cubic_one(atoms, atoms_expected):
    matrix = supercell_matrix(atoms, 15.0, 'isotropic', SYMPREC)
    assert atoms_in(atoms, matrix) == atoms_expected
    assert minimum_image_distance(np.asarray(matrix) @ atoms.cell.array) >= 15.0
    assert keeps_point_group(atoms, matrix)
    assert atoms_in(atoms, diagonal_supercell_matrix(atoms.cell.array, 15.0)) > atoms_expected


@pytest.mark.parametrize('name', sorted(CRYSTALS))
def test_isotropic_supercell_of_every_lattice_keeps_symmetry_and_image_distance(name):
    unitcell, _ = standardize(lattice_crystal(name), SYMPREC)
    isotropic = supercell_matrix(unitcell, 12.0, 'isotropic', SYMPREC)
    diagonal = supercell_matrix(unitcell, 12.0, 'diagonal', SYMPREC)
    assert minimum_image_distance(np.asarray(isotropic) @ unitcell.cell.array) >= 12.0
    assert keeps_point_group(unitcell, isotropic)
    assert np.linalg.det(isotropic) > 0
    if minimum_image_distance(np.asarray(diagonal) @ unitcell.cell.array) >= 12.0:
        assert atoms_in(unitcell, isotropic) <= atoms_in(unitcell, diagonal)


def test_diagonal_supercell_repeats_each_vector_past_the_minimum_length():
    cell = np.diag([2.5, 4.0, 7.5])
    assert diagonal_supercell_matrix(cell, 10.0) == [[4, 0, 0], [0, 3, 0], [0, 0, 2]]
