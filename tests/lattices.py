"""One crystal per extended Bravais lattice of seekpath (HPKOT), made of elements ASE's EMT describes, so that every
band path can be checked with exact forces. Monatomic lattices where one atom per cell gives the lattice type,
two-element decorations where only a lower space group does (cP1, cF1, oA, oI2, hP1). The cells are scaled so that
the nearest neighbours are 2.5 A apart: far from equilibrium for some, which changes nothing for a test of where
the q-points lie."""

from __future__ import annotations

import warnings

import numpy as np
from ase import Atoms
from ase.geometry import get_distances
from ase.spacegroup import crystal

NEAREST_NEIGHBOUR = 2.5

# extended Bravais lattice: (symbols, basis, space group, a, b, c, alpha, beta, gamma)
CRYSTALS = {
    'cP1': (['Cu', 'Au'], [(0, 0, 0), (0.3, 0.3, 0.3)], 198, (4.2, 4.2, 4.2, 90, 90, 90)),
    'cP2': (['Cu'], [(0, 0, 0)], 221, (2.6, 2.6, 2.6, 90, 90, 90)),
    'cF1': (['Cu', 'Au'], [(0, 0, 0), (0, 0.22, 0.31)], 202, (7.2, 7.2, 7.2, 90, 90, 90)),
    'cF2': (['Cu'], [(0, 0, 0)], 225, (3.61, 3.61, 3.61, 90, 90, 90)),
    'cI1': (['Cu'], [(0, 0, 0)], 229, (2.9, 2.9, 2.9, 90, 90, 90)),
    'tP1': (['Cu'], [(0, 0, 0)], 123, (2.6, 2.6, 2.9, 90, 90, 90)),
    'tI1': (['Cu'], [(0, 0, 0)], 139, (3.2, 3.2, 2.6, 90, 90, 90)),
    'tI2': (['Cu'], [(0, 0, 0)], 139, (2.6, 2.6, 3.6, 90, 90, 90)),
    'oP1': (['Cu'], [(0, 0, 0)], 47, (2.5, 2.7, 2.9, 90, 90, 90)),
    'oF1': (['Cu'], [(0, 0, 0)], 69, (2.8, 4.0, 4.4, 90, 90, 90)),
    'oF3': (['Cu'], [(0, 0, 0)], 69, (3.4, 3.7, 4.0, 90, 90, 90)),
    'oI1': (['Cu'], [(0, 0, 0)], 71, (2.6, 2.9, 3.3, 90, 90, 90)),
    'oI2': (['Cu', 'Au'], [(0.31, 0.13, 0.22), (0, 0, 0.6)], 46, (3.6, 2.9, 2.6, 90, 90, 90)),
    'oI3': (['Cu', 'Au'], [(0, 0, 0), (0, 0.5, 0.3)], 44, (2.6, 3.6, 2.9, 90, 90, 90)),
    'oC1': (['Cu'], [(0, 0, 0)], 65, (2.6, 3.4, 2.8, 90, 90, 90)),
    'oC2': (['Cu'], [(0, 0.15, 0.25)], 63, (3.4, 2.6, 4.4, 90, 90, 90)),
    'oA1': (['Cu', 'Au'], [(0, 0, 0), (0.5, 0, 0.4)], 38, (2.8, 3.4, 3.9, 90, 90, 90)),
    'oA2': (['Cu', 'Au'], [(0, 0, 0), (0.5, 0, 0.4)], 38, (2.8, 3.9, 3.4, 90, 90, 90)),
    'hP1': (['Cu', 'Au'], [(0.3, 0.1, 0.2), (0, 0, 0.6)], 143, (4.2, 4.2, 2.6, 90, 90, 120)),
    'hP2': (['Cu'], [(0, 0, 0)], 191, (2.6, 2.6, 2.8, 90, 90, 120)),
    'hR1': (['Cu'], [(0, 0, 0)], 166, (2.6, 2.6, 7.0, 90, 90, 120)),
    'hR2': (['Cu'], [(0, 0, 0)], 166, (3.2, 3.2, 3.0, 90, 90, 120)),
    'mP1': (['Cu'], [(0, 0, 0)], 10, (2.6, 2.8, 3.0, 90, 100, 90)),
    'mC1': (['Cu'], [(0, 0, 0)], 12, (4.6, 2.8, 2.7, 90, 105, 90)),
    'mC2': (['Cu'], [(0, 0, 0)], 12, (3.0, 4.4, 2.9, 90, 100, 90)),
    'mC3': (['Cu'], [(0, 0, 0)], 12, (3.4, 4.8, 2.6, 90, 130, 90)),
    'aP2': (['Cu'], [(0, 0, 0)], 2, (2.6, 2.8, 3.0, 80, 75, 70)),
    'aP3': (['Cu'], [(0, 0, 0)], 2, (2.6, 2.8, 3.0, 100, 105, 110)),
}


def lattice_crystal(name: str) -> Atoms:
    """The conventional cell of extended Bravais lattice ``name``, nearest neighbours at 2.5 A."""
    symbols, basis, space_group, cellpar = CRYSTALS[name]
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # ASE's note on atoms it merges at special positions
        atoms = crystal(symbols, basis, spacegroup=space_group, cellpar=list(cellpar))
    probe = atoms.repeat(2)
    _, distances = get_distances(probe.positions, cell=probe.cell, pbc=True)
    nearest = distances[distances > 1e-6].min()
    atoms.set_cell(atoms.cell.array * NEAREST_NEIGHBOUR / nearest, scale_atoms=True)
    return atoms


def primitive_of(atoms: Atoms) -> Atoms:
    """spglib's primitive cell of ``atoms``."""
    import spglib

    lattice, positions, numbers = spglib.find_primitive((atoms.cell.array, atoms.get_scaled_positions(), atoms.numbers))
    return Atoms(numbers=numbers, scaled_positions=positions, cell=lattice, pbc=True)


def rotated_and_shifted(atoms: Atoms, seed: int = 7) -> Atoms:
    """``atoms`` turned by a random rotation and moved by a random origin shift: the same crystal."""
    from scipy.spatial.transform import Rotation

    rotation = Rotation.random(random_state=seed).as_matrix()
    moved = atoms.copy()
    moved.set_cell(atoms.cell.array @ rotation.T, scale_atoms=True)
    moved.translate(np.random.default_rng(seed).uniform(-1, 1, 3))
    moved.wrap()
    return moved
