"""A cheap proof that a structure has no symmetry but the identity, so spglib need not search it.

spglib spends most of its time on a structure without symmetry looking for pure translations: 35 ms for a
216-atom supercell with every atom displaced, as random displacements (symfc) make them, so 40 of them cost more
than a second. An operation (R, t) of the structure at ``symprec`` (Angstrom) sends each atom i within ``symprec``
of an atom p(i) of its species, so it changes every interatomic distance by at most 2 ``symprec``:

1. Each atom's sorted distances to its nearest neighbours are kept within 2 ``symprec`` by p. If every two atoms
   of a species differ there by more than :data:`FINGERPRINT_MARGIN` ``symprec``, p is the identity.
2. An operation that fixes every atom has t fixed by the first atom; each rotation of the lattice other than the
   identity is then tried on all atoms at once, within :data:`MATCH_MARGIN` ``symprec``.

If any step cannot rule an operation out, the answer is "not proven" and the caller asks spglib. No AiiDA here.
"""

from __future__ import annotations

import numpy as np
import spglib
from ase import Atoms
from scipy.spatial import cKDTree

# Nearest-neighbour distances compared per atom: one is too few to tell 216 atoms apart at 1e-5 A, four suffice.
FINGERPRINT_NEIGHBOURS = 4
# Margins, in units of symprec, over the 2 symprec a true operation can change a distance or a match by.
FINGERPRINT_MARGIN = 4.0
MATCH_MARGIN = 3.0


def has_no_symmetry(atoms: Atoms, symprec: float) -> bool:
    """True when no operation but the identity maps ``atoms`` onto themselves within ``symprec``; False when
    that is not proven (the structure may have symmetry: ask spglib)."""
    fingerprints = neighbour_fingerprints(atoms)
    if fingerprints is None or not fingerprints_tell_atoms_apart(fingerprints, atoms.numbers, symprec):
        return False
    return not rotations_fixing_every_atom(atoms, lattice_rotations(atoms, symprec), symprec).any()


def neighbour_fingerprints(atoms: Atoms) -> np.ndarray | None:
    """(N, k): each atom's k shortest distances to other atoms, periodic images included; None when the k-th is not
    shorter than the cell's narrowest width, beyond which the images next to the cell may miss a nearer one."""
    cell = atoms.cell.array
    wrapped = (atoms.get_scaled_positions() % 1.0) @ cell
    shifts = np.array(np.meshgrid(*[(-1, 0, 1)] * 3, indexing='ij')).reshape(3, -1).T @ cell
    images = (wrapped[None, :, :] + shifts[:, None, :]).reshape(-1, 3)
    distances, _ = cKDTree(images).query(wrapped, k=FINGERPRINT_NEIGHBOURS + 1)  # the first is the atom itself
    widths = abs(np.linalg.det(cell)) / np.linalg.norm(np.cross(cell[[1, 2, 0]], cell[[2, 0, 1]]), axis=1)
    if distances[:, -1].max() >= widths.min():
        return None
    return distances[:, 1:]


def fingerprints_tell_atoms_apart(fingerprints: np.ndarray, numbers: np.ndarray, symprec: float) -> bool:
    """Whether every two atoms of a species differ in some neighbour distance by more than the margin.

    Atoms sorted by their nearest-neighbour distance are compared with the next one, the one after, and so on while
    any pair is still within the margin there: memory stays linear in the atoms, and structures whose atoms all
    differ (the case worth proving) need a few passes.
    """
    margin = FINGERPRINT_MARGIN * symprec
    order = np.argsort(fingerprints[:, 0], kind='stable')
    rows, species = fingerprints[order], numbers[order]
    for shift in range(1, len(rows)):
        near = rows[shift:, 0] - rows[:-shift, 0] <= margin
        if not near.any():
            return True
        alike = np.abs(rows[shift:] - rows[:-shift]).max(axis=1) <= margin
        if (near & alike & (species[shift:] == species[:-shift])).any():
            return False
    return True


def lattice_rotations(atoms: Atoms, symprec: float) -> np.ndarray:
    """The rotations of the lattice alone (fractional, integer): those of one atom in the same cell."""
    dataset = spglib.get_symmetry((atoms.cell.array, [[0.0, 0.0, 0.0]], [1]), symprec=symprec)
    return np.array(dataset['rotations'])


def rotations_fixing_every_atom(atoms: Atoms, rotations: np.ndarray, symprec: float) -> np.ndarray:
    """(R,): whether each rotation other than the identity, with the translation that fixes the first atom, keeps
    every atom where it is (False for the identity, which always does)."""
    scaled = atoms.get_scaled_positions()
    rotated = np.einsum('rij,nj->rni', rotations, scaled)
    moved = rotated + (scaled[0] - rotated[:, :1]) - scaled
    moved -= np.round(moved)
    fixed = (np.linalg.norm(moved @ atoms.cell.array, axis=2) < MATCH_MARGIN * symprec).all(axis=1)
    return fixed & (rotations != np.eye(3, dtype=rotations.dtype)).any(axis=(1, 2))
