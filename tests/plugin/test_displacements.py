"""Symmetry-reduced displacements of n x n x n supercells from the unit cell's symmetry are phonopy's own."""

import warnings

import numpy as np
import pytest
from ase.build import bulk
from ase.spacegroup import crystal

from aiida_unconmlip.phonons.phonopy_setup import displaced_phonopy, make_phonopy, standardize, uniform_multiple

RIGHT, HEXAGONAL = [90.0, 90.0, 90.0], [90.0, 90.0, 120.0]
CRYSTALS = {  # symbols, Wyckoff positions, space group, cell parameters: one or more per crystal system
    'Si-Fd-3m': (['Si'], [(0, 0, 0)], 227, [5.431, 5.431, 5.431, *RIGHT]),
    'GaAs-F-43m': (['Ga', 'As'], [(0, 0, 0), (0.25, 0.25, 0.25)], 216, [5.65, 5.65, 5.65, *RIGHT]),
    'SrTiO3-Pm-3m': (['Sr', 'Ti', 'O'], [(0, 0, 0), (0.5, 0.5, 0.5), (0.5, 0.5, 0)], 221, [3.9, 3.9, 3.9, *RIGHT]),
    'FeS2-Pa-3': (['Fe', 'S'], [(0, 0, 0), (0.385, 0.385, 0.385)], 205, [5.42, 5.42, 5.42, *RIGHT]),
    'GaN-P6_3mc': (['Ga', 'N'], [(1 / 3, 2 / 3, 0), (1 / 3, 2 / 3, 0.377)], 186, [3.19, 3.19, 5.19, *HEXAGONAL]),
    'TiO2-P4_2/mnm': (['Ti', 'O'], [(0, 0, 0), (0.305, 0.305, 0)], 136, [4.59, 4.59, 2.96, *RIGHT]),
    'Bi-R-3m': (['Bi'], [(0, 0, 0.2339)], 166, [4.54, 4.54, 11.86, *HEXAGONAL]),
    'monoclinic-P2_1/c': (['Si', 'O'], [(0.1, 0.2, 0.3), (0.3, 0.1, 0.05)], 14, [5, 6, 7, 90, 100, 90]),
}


def phonopys_own(unitcell, matrix, plus_minus):
    """phonopy with the supercell's symmetry searched, as a plain script makes the displacements."""
    phonon = make_phonopy(unitcell, matrix, 1e-5)
    phonon.generate_displacements(distance=0.01, is_plusminus=plus_minus)
    return phonon.dataset


def assert_same_displacements(dataset: dict, reference: dict) -> None:
    """The same atoms displaced, in the same order, by the same Cartesian vectors."""
    assert dataset['natom'] == reference['natom']
    assert [entry['number'] for entry in dataset['first_atoms']] == [
        entry['number'] for entry in reference['first_atoms']
    ]
    np.testing.assert_allclose(
        [entry['displacement'] for entry in dataset['first_atoms']],
        [entry['displacement'] for entry in reference['first_atoms']],
        atol=1e-12,
    )


@pytest.mark.parametrize('plus_minus', [True, 'auto', False])
@pytest.mark.parametrize('name', CRYSTALS)
def test_unit_cell_route_gives_phonopys_displacements(name, plus_minus):
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        symbols, basis, number, cellpar = CRYSTALS[name]
        unitcell, _ = standardize(crystal(symbols, basis=basis, spacegroup=number, cellpar=cellpar), 1e-5)
    multiple = 3 if len(unitcell) <= 8 else 2
    matrix = np.eye(3, dtype=int) * multiple
    ours = displaced_phonopy(unitcell, matrix, 1e-5, 0.01, plus_minus, None, None)
    assert (ours.symmetry.dataset.rotations == np.eye(3)).all(), "the supercell's symmetry should not be searched"
    assert ours.dataset['natom'] == len(unitcell) * multiple**3
    assert_same_displacements(ours.dataset, phonopys_own(unitcell, matrix, plus_minus))


def test_other_supercells_keep_phonopys_search_of_their_symmetry():
    unitcell = bulk('Si', 'diamond', a=5.431, cubic=True)
    assert uniform_multiple(np.diag([2, 2, 1])) is None and uniform_multiple([[0, 1, 1], [1, 0, 1], [1, 1, 0]]) is None
    assert uniform_multiple(np.diag([2, 2, 2]).tolist()) == 2
    ours = displaced_phonopy(unitcell, np.diag([2, 2, 1]), 1e-5, 0.01, True, None, None)
    assert not (ours.symmetry.dataset.rotations == np.eye(3)).all()
    assert_same_displacements(ours.dataset, phonopys_own(unitcell, np.diag([2, 2, 1]), True))
