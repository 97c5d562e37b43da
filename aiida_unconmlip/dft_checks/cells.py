"""The cells a DFT spot check computes: a run's own structures, or its displacement pattern in cells DFT can take.

A phonon run displaces atoms of a supercell too large for a quick pw.x check (216 atoms for Si: 3x3x3 of the
8-atom standardised cell). The same pattern (phonopy's symmetry-reduced displacements, same amplitude, same
opposite pairs) is repeated in smaller commensurate supercells: the run's own standardised cell n x n x n with the
largest n within the budget (the headline: the run's cell, pattern and k-point sampling, only a smaller n), the
primitive cell (where a displaced atom is exactly the Gamma frozen phonon) and the primitive cell's 2x2x2 (Gamma,
X and L for fcc). Each gives the force constants at the q-points it holds, from the model's and from DFT's forces.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import spglib
from ase import Atoms

from ..phonons.phonopy_setup import displaced_phonopy, displaced_supercells, to_yaml_text


def primitive_cell(atoms: Atoms, symprec: float) -> Atoms:
    """spglib's standardised primitive cell, the basis of the small supercells."""
    cell = (atoms.cell.array, atoms.get_scaled_positions(), atoms.numbers)
    standard = spglib.standardize_cell(cell, to_primitive=True, no_idealize=False, symprec=symprec)
    if standard is None:
        raise ValueError(f'spglib found no primitive cell of {atoms.get_chemical_formula()} at symprec {symprec}')
    lattice, positions, numbers = standard
    return Atoms(numbers=numbers, scaled_positions=positions, cell=lattice, pbc=True)


def small_supercells(unitcell: Atoms, primitive: Atoms, max_atoms: int) -> list[tuple[str, Atoms, list]]:
    """(name, cell, supercell matrix) of the small supercells within ``max_atoms``, the run's cell first; a
    one-atom cell is left out (its only displacement is a rigid translation)."""
    chosen = []
    multiple = math.floor((max_atoms / len(unitcell)) ** (1 / 3) + 1e-9)
    if multiple >= 1 and len(unitcell) * multiple**3 > 1:
        chosen.append((f'unit_cell_{multiple}x{multiple}x{multiple}', unitcell, multiple))
    sizes = {len(unitcell) * multiple**3} if multiple >= 1 else set()
    for name, multiple in (('primitive', 1), ('primitive_2x2x2', 2)):
        size = len(primitive) * multiple**3
        if 1 < size <= max_atoms and size not in sizes:
            chosen.append((name, primitive, multiple))
            sizes.add(size)
    return [(name, cell, (multiple * np.eye(3, dtype=int)).tolist()) for name, cell, multiple in chosen]


def displacement_cells(
    unitcell: Atoms, amplitude: float, plus_minus: bool | str, max_atoms: int, symprec: float
) -> tuple[list[Atoms], dict[str, Any]]:
    """The undisplaced primitive cell and the displacement pattern in each small supercell within ``max_atoms``;
    the plan says which cells make which group, with phonopy's setup to fit them, and which cells' energies are
    compared (the undisplaced primitive cell and the primitive pattern's, when there is one)."""
    primitive = primitive_cell(unitcell, symprec)
    if len(primitive) > max_atoms:
        raise ValueError(f'the primitive cell has {len(primitive)} atoms, more than max_atoms {max_atoms}')
    cells, groups = [primitive], []
    for name, cell, matrix in small_supercells(unitcell, primitive, max_atoms):
        phonon = displaced_phonopy(cell, matrix, symprec, amplitude, plus_minus, None, None)
        displaced = displaced_supercells(phonon)
        groups.append(
            {
                'name': name,
                'indices': list(range(len(cells), len(cells) + len(displaced))),
                'displaced_atoms': [int(entry['number']) for entry in phonon.dataset['first_atoms']],
                'displacements': [list(map(float, entry['displacement'])) for entry in phonon.dataset['first_atoms']],
                'phonopy_yaml': to_yaml_text(phonon),
            }
        )
        cells.extend(displaced)
    # Energies per atom compare only between cells of one size: k-point meshes of different cells differ.
    same_size = [group for group in groups if len(cells[group['indices'][0]]) == len(primitive)]
    energy_indices = [0, *(same_size[0]['indices'] if same_size else [])]
    return cells, {'energy_indices': energy_indices, 'groups': groups}


def run_cells(structures: list[Atoms], samples: int, max_atoms: int) -> tuple[list[Atoms], dict[str, Any]]:
    """A run's own structures as they are, the first ``samples`` within ``max_atoms``; energies are compared
    relative to the first."""
    chosen = [atoms for atoms in structures if len(atoms) <= max_atoms][:samples]
    if not chosen:
        smallest = min(len(atoms) for atoms in structures)
        raise ValueError(f'every structure of the run has more than max_atoms {max_atoms} atoms (smallest {smallest})')
    return chosen, {'energy_indices': list(range(len(chosen))), 'groups': []}
