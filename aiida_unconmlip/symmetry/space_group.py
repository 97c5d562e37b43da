"""Space-group operations of a structure as Cartesian rotations with atom permutations, and the projection of
forces and stress onto the subspace they leave invariant (no AiiDA here: pure numpy and spglib).

For an operation g with Cartesian rotation Q_g mapping atom i to atom p_g(i), a symmetric force field obeys
F_{p_g(i)} = Q_g F_i. The projector averages over the n_G operations (row-vector convention):
F_i <- (1/n_G) sum_g F_{p_g(i)} Q_g, and sigma <- (1/n_G) sum_g Q_g^T sigma Q_g.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import spglib
from ase import Atoms


@dataclass(frozen=True)
class SymmetryOperations:
    """Cartesian rotations (G, 3, 3) and permutations (G, N): operation g sends atom i to ``permutations[g, i]``."""

    rotations: np.ndarray
    permutations: np.ndarray
    space_group_number: int
    international_symbol: str


def symmetry_operations(atoms: Atoms, symprec: float) -> SymmetryOperations:
    """spglib's operations of ``atoms`` at ``symprec`` (Angstrom), with the atom each operation maps to."""
    cell = (atoms.cell.array, atoms.get_scaled_positions(wrap=True), atoms.numbers)
    dataset = spglib.get_symmetry_dataset(cell, symprec=symprec)
    if dataset is None:
        raise ValueError(f'spglib found no symmetry for {atoms.get_chemical_formula()} at symprec {symprec}')
    lattice = atoms.cell.array.T  # columns are lattice vectors
    inverse = np.linalg.inv(lattice)
    fractional = atoms.get_scaled_positions(wrap=True)
    rotations, permutations = [], []
    for rotation, translation in zip(dataset.rotations, dataset.translations, strict=True):
        image = fractional @ rotation.T + translation
        difference = image[:, None, :] - fractional[None, :, :]
        difference -= np.round(difference)
        distance = np.linalg.norm(difference @ atoms.cell.array, axis=-1)
        permutation = np.argmin(distance, axis=1)
        if len(set(permutation)) != len(atoms):
            raise ValueError(
                f'operation of space group {dataset.number} does not permute the atoms at symprec {symprec}'
            )
        rotations.append(lattice @ rotation @ inverse)
        permutations.append(permutation)
    return SymmetryOperations(
        rotations=np.array(rotations),
        permutations=np.array(permutations),
        space_group_number=int(dataset.number),
        international_symbol=str(dataset.international),
    )


def project_forces(forces: np.ndarray, operations: SymmetryOperations) -> np.ndarray:
    """The symmetric part of ``forces`` (N, 3)."""
    projected = np.zeros_like(forces)
    for rotation, permutation in zip(operations.rotations, operations.permutations, strict=True):
        projected += forces[permutation] @ rotation
    return projected / len(operations.rotations)


def project_stress(stress: np.ndarray, operations: SymmetryOperations) -> np.ndarray:
    """The symmetric part of a (3, 3) stress."""
    rotations = operations.rotations
    return np.einsum('gji,jk,gkl->il', rotations, stress, rotations) / len(rotations)
