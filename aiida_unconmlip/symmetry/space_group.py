"""Space-group operations of a structure and the projection of forces and stress onto what they leave invariant.

The projector is ASE's, the one ``FixSymmetry`` applies during relaxation (``symmetrize_rank1``,
``symmetrize_rank2``), so relaxation and force projection restore symmetry the same way: for operations g with
rotation Q_g sending atom i to atom p_g(i), F_{p_g(i)} <- (1/n_G) sum_g Q_g F_i and
sigma <- (1/n_G) sum_g Q_g^T sigma Q_g. The atom maps p_g are those of ASE's ``prep_symmetry`` (nearest image in
fractional coordinates), found from one spglib call and with numpy: ``prep_symmetry`` asks spglib a second time and
loops over atoms in Python, which was 1.8 s of 40 random-displacement supercells of 216 atoms. A structure proven to
have no symmetry (:mod:`.no_symmetry`, as random displacements leave) gets the identity without asking spglib, which
spends 35 ms on each such 216-atom supercell. No AiiDA here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.spacegroup.symmetrize import check_symmetry, symmetrize_rank1, symmetrize_rank2

from ..speedups import enabled
from .no_symmetry import has_no_symmetry

# Atoms compared at once when the atom maps are found: bounds the (block, N, 3) differences to a few megabytes.
MAP_BLOCK_ATOMS = 256


@dataclass(frozen=True)
class SpaceGroupOperations:
    """spglib's operations of one structure as ASE holds them: fractional ``rotations`` (G, 3, 3), ``translations``
    (G, 3) and ``atom_maps`` (G, N), operation g sending atom i to ``atom_maps[g][i]``."""

    cell: np.ndarray
    rotations: np.ndarray
    translations: np.ndarray
    atom_maps: np.ndarray
    number: int
    symbol: str


def space_group_operations(atoms: Atoms, symprec: float) -> SpaceGroupOperations:
    """The operations of ``atoms`` at ``symprec`` (Angstrom); ``ValueError`` if they do not permute the atoms."""
    if enabled('no_symmetry_proof') and has_no_symmetry(atoms, symprec):
        return identity_operation(atoms)
    dataset = check_symmetry(atoms, symprec)
    if dataset is None:
        raise ValueError(f'spglib found no symmetry for {atoms.get_chemical_formula()} at symprec {symprec}')
    rotations = np.array(dataset.rotations)
    translations = np.array(dataset.translations)
    atom_maps = nearest_image_maps(atoms.get_scaled_positions(), rotations, translations)
    if (np.sort(atom_maps, axis=1) != np.arange(len(atoms))).any():  # some operation sends two atoms to one
        raise ValueError(f'an operation of space group {dataset.number} does not permute the atoms at {symprec}')
    return SpaceGroupOperations(
        cell=atoms.cell.array.copy(),
        rotations=rotations,
        translations=translations,
        atom_maps=atom_maps,
        number=int(dataset.number),
        symbol=str(dataset.international),
    )


def identity_operation(atoms: Atoms) -> SpaceGroupOperations:
    """P1, as spglib gives it: the identity alone, with no translation."""
    return SpaceGroupOperations(
        cell=atoms.cell.array.copy(),
        rotations=np.eye(3, dtype=np.intc)[None],
        translations=np.zeros((1, 3)),
        atom_maps=np.arange(len(atoms))[None],
        number=1,
        symbol='P1',
    )


def nearest_image_maps(scaled: np.ndarray, rotations: np.ndarray, translations: np.ndarray) -> np.ndarray:
    """(G, N): the atom each operation sends each atom to, the nearest in fractional coordinates modulo lattice."""
    maps = np.empty((len(rotations), len(scaled)), dtype=int)
    for index, (rotation, translation) in enumerate(zip(rotations, translations, strict=True)):
        moved = scaled @ rotation.T + translation
        for start in range(0, len(scaled), MAP_BLOCK_ATOMS):
            difference = scaled[None, :, :] - moved[start : start + MAP_BLOCK_ATOMS, None, :]
            difference -= np.round(difference)
            maps[index, start : start + MAP_BLOCK_ATOMS] = np.argmin(
                np.einsum('bnk,bnk->bn', difference, difference), axis=1
            )
    return maps


def project_forces(forces: np.ndarray, operations: SpaceGroupOperations) -> np.ndarray:
    """The symmetric part of ``forces`` (N, 3), as FixSymmetry computes it."""
    cell = operations.cell
    return symmetrize_rank1(
        cell, np.linalg.inv(cell), forces, operations.rotations, operations.translations, operations.atom_maps
    )


def project_stress(stress: np.ndarray, operations: SpaceGroupOperations) -> np.ndarray:
    """The symmetric part of a (3, 3) stress, as FixSymmetry computes it."""
    cell = operations.cell
    return symmetrize_rank2(cell, np.linalg.inv(cell), stress, operations.rotations)
