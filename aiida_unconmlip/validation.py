"""Checks on what users give, made before anything is launched or stored: each raises ``ValueError`` saying what is
wrong and what to do. The work chains' and CalcJobs' input validators and the command line call the same ones, so
Python launches and ``aiida-unconmlip`` refuse the same input with the same words. No AiiDA here."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

from .engine.structures import MIN_DISTANCE

VACUUM_THICKNESS = 8.0  # Angstrom: wider empty slabs than this are vacuum, not a bulk crystal's interlayer space


def describe(atoms: Atoms, index: int | None) -> str:
    return f'structure {index} ({atoms.get_chemical_formula()})' if index is not None else atoms.get_chemical_formula()


def check_finite(atoms: Atoms, index: int | None = None) -> None:
    """Positions and cell must be finite numbers."""
    bad_atoms = np.flatnonzero(~np.isfinite(atoms.positions).all(axis=1))
    if len(bad_atoms):
        atom = int(bad_atoms[0])
        raise ValueError(
            f'{describe(atoms, index)}: atom {atom} ({atoms[atom].symbol}) has a non-finite position '
            f'{atoms.positions[atom].tolist()}; fix the coordinates in the input'
        )
    if not np.isfinite(atoms.cell.array).all():
        raise ValueError(f'{describe(atoms, index)}: the cell has non-finite entries; fix the cell in the input')


def check_distances(atoms: Atoms, index: int | None = None, min_distance: float = MIN_DISTANCE) -> None:
    """No two atoms (periodic images included) closer than ``min_distance`` (Angstrom)."""
    first, second, distance = neighbor_list('ijd', atoms, min_distance, self_interaction=False)
    if len(distance):
        closest = int(np.argmin(distance))
        i, j = int(first[closest]), int(second[closest])
        raise ValueError(
            f'{describe(atoms, index)}: atoms {i} ({atoms[i].symbol}) and {j} ({atoms[j].symbol}) are '
            f'{distance[closest]:.3f} A apart, closer than {min_distance} A; the input has overlapping atoms'
        )


def check_elements(atoms: Atoms, elements: Iterable[str] | None, model_name: str, index: int | None = None) -> None:
    """Every element of ``atoms`` must be one the model knows (``elements`` None: any)."""
    if elements is None:
        return
    unknown = sorted(set(atoms.get_chemical_symbols()) - set(elements))
    if unknown:
        raise ValueError(
            f'{describe(atoms, index)} contains {", ".join(unknown)}, which model `{model_name}` does not know '
            f'(it knows {", ".join(sorted(elements))}); choose a model for these elements with --model'
        )


def vacuum_thickness(atoms: Atoms) -> tuple[float, int]:
    """The widest empty slab between periodic images of the atoms (Angstrom), and along which lattice vector."""
    fractional = atoms.get_scaled_positions(wrap=True)
    spacings = 1.0 / np.linalg.norm(atoms.cell.reciprocal(), axis=1)  # distances between lattice planes
    widest, axis = 0.0, 0
    for direction in range(3):
        coordinates = np.sort(fractional[:, direction])
        gaps = np.diff(np.concatenate([coordinates, [coordinates[0] + 1.0]]))
        width = float(gaps.max() * spacings[direction])
        if width > widest:
            widest, axis = width, direction
    return widest, axis


def check_bulk_crystal(atoms: Atoms, index: int | None = None) -> None:
    """Phonons here are those of a 3D-periodic bulk crystal: a cell in every direction and no vacuum slab."""
    if not atoms.pbc.all() or abs(atoms.cell.volume) < 1e-6:
        raise ValueError(
            f'{describe(atoms, index)} is not a 3D-periodic crystal (pbc {atoms.pbc.tolist()}, cell volume '
            f'{abs(atoms.cell.volume):.3g} A^3): phonons need a cell with three lattice vectors and periodic '
            'boundaries in all directions; give a crystal structure file (CIF, POSCAR)'
        )
    width, axis = vacuum_thickness(atoms)
    if width > VACUUM_THICKNESS:
        raise ValueError(
            f'{describe(atoms, index)} has {width:.1f} A of vacuum along lattice vector {"abc"[axis]}: it is a slab '
            'or a molecule in a box, and bulk phonons (supercells, band path) would run across the vacuum; give the '
            'bulk crystal instead'
        )


def check_model_input(structures: list[Atoms], elements: Iterable[str] | None, model_name: str) -> None:
    """What every evaluation needs, cheap enough for a whole displacement set: finite numbers, known elements."""
    for index, atoms in enumerate(structures):
        position = index if len(structures) > 1 else None
        check_finite(atoms, position)
        check_elements(atoms, elements, model_name, position)


def supercell_size(matrix: list[list[int]], unitcell_atoms: int, max_atoms: int) -> int:
    """The atom count of the supercell; ``ValueError`` unless ``matrix`` is an integer, non-singular, right-handed
    3x3 matrix giving at most ``max_atoms`` atoms."""
    array = np.asarray(matrix, dtype=float)
    if array.shape != (3, 3) or not np.allclose(array, np.round(array)):
        raise ValueError(f'the supercell matrix must be 3x3 integers, not {matrix}')
    determinant = round(float(np.linalg.det(array)))
    if determinant <= 0:
        raise ValueError(
            f'the supercell matrix {np.round(array).astype(int).tolist()} has determinant {determinant}: it must be '
            'non-singular and keep the handedness of the cell (positive repetitions such as 2 2 2)'
        )
    atoms = determinant * unitcell_atoms
    if atoms > max_atoms:
        raise ValueError(
            f'the supercell would have {atoms} atoms ({determinant} x the {unitcell_atoms}-atom standardised cell), '
            f'more than the limit of {max_atoms}; choose a smaller supercell or minimum length, or raise the limit '
            '(displacements.max_supercell_atoms, --max-supercell-atoms) if you mean it'
        )
    return atoms
