"""Supercell matrices of the standardised unit cell from a minimum length (Angstrom), in one of two shapes.

``diagonal``: n1 x n2 x n3 repetitions of the unit cell, each lattice vector at least ``min_length`` long (phonopy's
``DIM``; for non-cubic cells often far from isotropic).

``isotropic``: the supercell of fewest atoms whose periodic images are all at least ``min_length`` apart (the shortest
lattice vector of the supercell, whatever its basis), among all integer supercell matrices, non-diagonal ones included,
that keep the crystal's point group (a supercell that breaks it would split branches symmetry makes degenerate).
Among equally small ones, the one with the images farthest apart, then the most compact. Found by enumerating the
Hermite normal forms of each determinant from the densest packing's bound upwards, so the answer is the smallest
there is, not a search around a guessed shape (up to :data:`MAX_FORMS_SEARCHED` forms; beyond, k x k x k repeats of
the unit cell); its basis is Minkowski-reduced (ASE's ``minkowski_reduce``).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import spglib
from ase import Atoms
from ase.geometry import minkowski_reduce

SUPERCELL_SHAPES = ('diagonal', 'isotropic')
# The densest lattice packing (fcc) has one lattice point per d^3 / sqrt(2) of volume at a shortest vector d: no
# supercell with images at least d apart is smaller.
DENSEST_PACKING_VOLUME = 1 / math.sqrt(2)
LENGTH_TOLERANCE = 1e-8
# Hermite normal forms (with no row shorter than the minimum length) looked at before the search gives up for the
# diagonal supercell or k x k x k unit cells: tiny cells at a long minimum length have millions (a 2.5 A simple cubic
# cell at 20 A).
MAX_FORMS_SEARCHED = 1_000_000
SHORT_VECTORS_PER_PASS = 16


def diagonal_supercell_matrix(cell: np.ndarray, min_length: float) -> list[list[int]]:
    """Diagonal supercell matrix whose lattice vectors are all at least ``min_length`` long (Angstrom)."""
    lengths = np.linalg.norm(cell, axis=1)
    return np.diag([max(1, math.ceil(min_length / length - 1e-9)) for length in lengths]).tolist()


def minimum_image_distance(lattice: np.ndarray) -> float:
    """The shortest non-zero lattice vector (Angstrom): how far apart an atom's periodic images are."""
    reduced, _ = minkowski_reduce(np.asarray(lattice, dtype=float))
    return float(np.linalg.norm(reduced, axis=1).min())


def hermite_normal_forms(determinant: int, cell: np.ndarray, min_length: float) -> np.ndarray:
    """The Hermite normal forms of ``determinant`` whose rows are all at least ``min_length`` long in ``cell``, shape
    (n, 3, 3). The forms, rows ``(a, 0, 0), (b, c, 0), (d, e, f)`` with ``0 <= b, d < a`` and ``0 <= e < c``, are
    one per sublattice of that index; each row is a vector of its sublattice, so a short row rules it out, and rows
    are tested as they are built (most forms of a small cell at a long length never are)."""
    forms = []
    long_enough = min_length - LENGTH_TOLERANCE
    for a in (k for k in range(1, determinant + 1) if determinant % k == 0):
        if a * np.linalg.norm(cell[0]) < long_enough:
            continue
        rest = determinant // a
        for c in (k for k in range(1, rest + 1) if rest % k == 0):
            f = rest // c
            b = np.arange(a)
            b = b[np.linalg.norm(b[:, None] * cell[0] + c * cell[1], axis=1) >= long_enough]
            d, e = (axis.ravel() for axis in np.meshgrid(np.arange(a), np.arange(c), indexing='ij'))
            third = np.linalg.norm(d[:, None] * cell[0] + e[:, None] * cell[1] + f * cell[2], axis=1) >= long_enough
            d, e = d[third], e[third]
            if not len(b) or not len(d):
                continue
            block = np.zeros((len(b) * len(d), 3, 3), dtype=np.int64)
            block[:, 0, 0], block[:, 1, 1], block[:, 2, 2] = a, c, f
            block[:, 1, 0] = np.repeat(b, len(d))
            block[:, 2, 0], block[:, 2, 1] = np.tile(d, len(b)), np.tile(e, len(b))
            forms.append(block)
    return np.concatenate(forms) if forms else np.zeros((0, 3, 3), dtype=np.int64)


def adjugates(matrices: np.ndarray) -> np.ndarray:
    """Integer adjugates of integer 3 x 3 matrices: ``m @ adj(m) = det(m) * 1`` exactly, for membership tests."""
    cofactors = np.empty_like(matrices)
    for i in range(3):
        for j in range(3):
            minor = np.delete(np.delete(matrices, i, axis=1), j, axis=2)
            cofactors[:, i, j] = (-1) ** (i + j) * (minor[:, 0, 0] * minor[:, 1, 1] - minor[:, 0, 1] * minor[:, 1, 0])
    return np.transpose(cofactors, (0, 2, 1))


def short_vectors(cell: np.ndarray, length: float) -> np.ndarray:
    """Integer coordinates of the lattice vectors shorter than ``length``, one of each +/- pair, shortest first."""
    bounds = np.ceil(length * np.linalg.norm(np.linalg.inv(cell), axis=0)).astype(int)
    grid = np.stack(np.meshgrid(*(np.arange(-bound, bound + 1) for bound in bounds), indexing='ij'), axis=-1).reshape(
        -1, 3
    )
    lengths = np.linalg.norm(grid @ cell, axis=1)
    first_nonzero = grid[np.arange(len(grid)), np.argmax(grid != 0, axis=1)]
    keep = (lengths < length - LENGTH_TOLERANCE) & (first_nonzero > 0)
    return grid[keep][np.argsort(lengths[keep], kind='stable')]


def keep_point_group(forms: np.ndarray, rotations: np.ndarray) -> np.ndarray:
    """Which supercells (rows of each form: lattice vectors in unit-cell coordinates) each rotation maps onto
    themselves: ``adj(H^T) W H^T = 0 (mod det H)`` for every ``W`` of the point group."""
    determinants = np.rint(np.linalg.det(forms)).astype(np.int64)
    columns = np.transpose(forms, (0, 2, 1))
    inverse_times_det = adjugates(columns)
    kept = np.ones(len(forms), dtype=bool)
    for rotation in rotations:
        images = inverse_times_det @ rotation @ columns
        kept &= np.all(images % determinants[:, None, None] == 0, axis=(1, 2))
    return kept


def isotropic_supercell_matrix(unitcell: Atoms, min_length: float, symprec: float) -> list[list[int]]:
    """The smallest point-group-keeping supercell whose periodic images are at least ``min_length`` apart.

    Remembered per crystal in this process: a run's input check and its displacement step ask for the same one."""
    crystal = (unitcell.cell.array, unitcell.get_scaled_positions(), np.asarray(unitcell.numbers, dtype=np.int64))
    if spglib.get_symmetry_dataset(crystal, symprec=symprec) is None:
        raise ValueError(f'spglib found no space group for {unitcell.get_chemical_formula()} at symprec {symprec}')
    key = tuple(np.ascontiguousarray(array).tobytes() for array in crystal)
    return [list(row) for row in _isotropic_supercell_matrix(key, float(min_length), float(symprec))]


@functools.lru_cache(maxsize=64)
def _isotropic_supercell_matrix(crystal: tuple[bytes, bytes, bytes], min_length: float, symprec: float) -> tuple:
    cell = np.frombuffer(crystal[0]).reshape(3, 3)
    positions, numbers = np.frombuffer(crystal[1]).reshape(-1, 3), np.frombuffer(crystal[2], dtype=np.int64)
    dataset = spglib.get_symmetry_dataset((cell, positions, numbers), symprec=symprec)
    rotations = np.unique(np.asarray(dataset.rotations, dtype=np.int64), axis=0)
    fallback = _fallback(cell, min_length)
    smallest = max(1, math.ceil(DENSEST_PACKING_VOLUME * min_length**3 / abs(np.linalg.det(cell)) - 1e-9))
    too_short, generators, searched = short_vectors(cell, min_length), group_generators(rotations), 0
    for determinant in range(smallest, round(np.linalg.det(fallback))):
        forms = hermite_normal_forms(determinant, cell, min_length)
        searched += len(forms)
        if searched > MAX_FORMS_SEARCHED:
            break
        forms = forms[keep_point_group(forms, generators)]
        if len(forms) and len(too_short):
            forms = _without_short_vectors(forms, too_short)
        if len(forms):
            return tuple(map(tuple, _best_of(forms, cell)))
    return tuple(map(tuple, fallback.tolist()))


def _fallback(cell: np.ndarray, min_length: float) -> np.ndarray:
    """The smaller of the diagonal supercell, if its images are ``min_length`` apart, and k x k x k unit cells:
    the sizes the search must beat."""
    multiple = max(1, math.ceil(min_length / minimum_image_distance(cell) - LENGTH_TOLERANCE))
    candidates = [multiple * np.eye(3, dtype=int)]
    diagonal = np.array(diagonal_supercell_matrix(cell, min_length))
    if minimum_image_distance(diagonal @ cell) >= min_length - LENGTH_TOLERANCE:
        candidates.append(diagonal)
    return min(candidates, key=lambda matrix: round(np.linalg.det(matrix)))


def group_generators(rotations: np.ndarray) -> np.ndarray:
    """A few rotations whose products give all of ``rotations`` (a point group): what a supercell must keep."""
    generators: list[np.ndarray] = []
    closure = {np.eye(3, dtype=np.int64).tobytes()}
    for rotation in rotations:
        if rotation.tobytes() in closure:
            continue
        generators.append(rotation)
        elements = [np.frombuffer(key, dtype=np.int64).reshape(3, 3) for key in closure]
        while True:  # close the group under the generators so far
            grown = {(element @ generator).tobytes() for element in elements for generator in generators}
            if grown <= closure:
                break
            closure |= grown
            elements = [np.frombuffer(key, dtype=np.int64).reshape(3, 3) for key in closure]
    return np.array(generators, dtype=np.int64).reshape(-1, 3, 3)


def _without_short_vectors(forms: np.ndarray, too_short: np.ndarray) -> np.ndarray:
    """The forms none of whose lattice vectors is among ``too_short``: n is a vector of the supercell H where
    ``n adj(H) = 0 (mod det H)``. Shortest vectors first, a few at a time, so most forms are ruled out early."""
    determinant = round(np.linalg.det(forms[0]))
    scaled_inverses = adjugates(forms)
    for start in range(0, len(too_short), SHORT_VECTORS_PER_PASS):
        vectors = too_short[start : start + SHORT_VECTORS_PER_PASS]
        inside = (vectors @ scaled_inverses) % determinant == 0  # (forms, vectors, 3)
        kept = ~np.all(inside, axis=2).any(axis=1)
        forms, scaled_inverses = forms[kept], scaled_inverses[kept]
        if not len(forms):
            break
    return forms


def _best_of(forms: np.ndarray, cell: np.ndarray) -> list[list[int]]:
    """The form with the images farthest apart, then the most compact reduced basis; as a reduced, right-handed
    supercell matrix."""
    candidates = []
    for form in forms:
        reduced, operation = minkowski_reduce(form @ cell)
        lengths = np.sort(np.linalg.norm(reduced, axis=1))
        matrix = np.rint(operation @ form).astype(int)
        if np.linalg.det(matrix) < 0:
            matrix = -matrix
        candidates.append((-round(lengths[0], 6), round(float(lengths @ lengths), 6), matrix.ravel().tolist(), matrix))
    return min(candidates, key=lambda candidate: candidate[:3])[3].tolist()


def supercell_matrix(unitcell: Atoms, min_length: float, shape: str, symprec: float) -> list[list[int]]:
    """The supercell matrix of ``unitcell`` for ``min_length`` (Angstrom) in ``shape`` (:data:`SUPERCELL_SHAPES`)."""
    if shape == 'isotropic':
        return isotropic_supercell_matrix(unitcell, min_length, symprec)
    return diagonal_supercell_matrix(unitcell.cell.array, min_length)


def chosen_supercell_matrix(
    unitcell: Atoms, given: list | None, min_length: float, shape: str, symprec: float
) -> list[list[int]]:
    """The one rule for a work chain's supercell: the matrix the user ``given``, else the one for ``min_length`` in
    ``shape``. Input validation and the displacement step both call it, so they cannot disagree."""
    return given or supercell_matrix(unitcell, min_length, shape, symprec)
