"""Standardised unit cell, supercell and displacements."""

from __future__ import annotations

import io
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import phonopy
import spglib
from ase import Atoms
from phonopy import Phonopy
from phonopy.harmonic.displacement import generate_systematic_displacements
from phonopy.interface.phonopy_yaml import PhonopyYaml
from phonopy.structure.atoms import PhonopyAtoms
from phonopy.structure.cells import PrimitiveMatrixAutoDefaultWarning
from phonopy.structure.symmetry import Symmetry


def to_phonopy_atoms(atoms: Atoms) -> PhonopyAtoms:
    return PhonopyAtoms(symbols=atoms.get_chemical_symbols(), cell=atoms.cell.array, positions=atoms.positions)


def to_ase(cell: PhonopyAtoms) -> Atoms:
    return Atoms(symbols=cell.symbols, cell=cell.cell, positions=cell.positions, pbc=True)


def standardize(atoms: Atoms, symprec: float) -> tuple[Atoms, dict]:
    """spglib's standardised conventional cell (idealised positions) and the symmetry it was found with."""
    cell = (atoms.cell.array, atoms.get_scaled_positions(), atoms.numbers)
    dataset = spglib.get_symmetry_dataset(cell, symprec=symprec)
    if dataset is None:
        raise ValueError(f'spglib found no space group for {atoms.get_chemical_formula()} at symprec {symprec}')
    lattice, positions, numbers = spglib.standardize_cell(cell, to_primitive=False, no_idealize=False, symprec=symprec)
    standard = Atoms(numbers=numbers, scaled_positions=positions, cell=lattice, pbc=True)
    symmetry = {
        'symprec': symprec,
        'number': int(dataset.number),
        'international': str(dataset.international),
        'hall': str(dataset.hall),
        'pointgroup': str(dataset.pointgroup),
    }
    return standard, symmetry


def make_phonopy(unitcell: Atoms, supercell_matrix, symprec: float, supercell_symmetry: bool = True) -> Phonopy:
    """Phonopy with the primitive cell found from the symmetry (``auto``), as the band path needs.

    Without ``supercell_symmetry`` phonopy skips its search of the supercell's operations and their atom
    permutations (0.7 s for Si216, whose 5184 operations include the pure translations), which only
    symmetry-reduced displacements and force constants use; its yaml then has no ``space_group``.
    """
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', PrimitiveMatrixAutoDefaultWarning)  # phonopy's note on its v3 default
        return Phonopy(
            to_phonopy_atoms(unitcell),
            supercell_matrix=supercell_matrix,
            primitive_matrix='auto',
            symprec=symprec,
            is_symmetry=supercell_symmetry,
        )


def displaced_phonopy(
    unitcell: Atoms,
    supercell_matrix,
    symprec: float,
    amplitude: float,
    plus_minus: bool | str,
    random_snapshots: int | None,
    seed: int | None,
) -> Phonopy:
    """Phonopy with its displacements: symmetry-reduced finite ones, or random ones (for symfc).

    With ``plus_minus`` every displacement also comes reversed (random ones in opposite pairs), which cancels the
    forces a model leaves on the undisplaced supercell: an unconstrained model is not exactly at equilibrium in the
    symmetric structure, and one-sided displacements would read those residual forces as force constants.

    Only symmetry-reduced displacements of a supercell that is not n x n x n the unit cell need phonopy's search of
    the supercell's symmetry; the force-constant job searches it again, so this one is left out where it can be.
    """
    multiple = uniform_multiple(supercell_matrix)
    phonon = make_phonopy(
        unitcell, supercell_matrix, symprec, supercell_symmetry=not random_snapshots and multiple is None
    )
    if random_snapshots:
        phonon.generate_displacements(
            distance=amplitude, number_of_snapshots=random_snapshots, random_seed=seed, is_plusminus=plus_minus is True
        )
    elif multiple is not None:
        phonon.dataset = unit_cell_displacements(phonon, symprec, amplitude, plus_minus)
    else:
        phonon.generate_displacements(distance=amplitude, is_plusminus=plus_minus)
    return phonon


def uniform_multiple(supercell_matrix) -> int | None:
    """n when the supercell matrix is n times the identity, else None."""
    matrix = np.asarray(supercell_matrix)
    if matrix.shape != (3, 3):
        return None
    multiple = int(matrix[0, 0])
    return multiple if (matrix == multiple * np.eye(3, dtype=int)).all() else None


def unit_cell_displacements(phonon: Phonopy, symprec: float, amplitude: float, plus_minus: bool | str) -> dict:
    """phonopy's symmetry-reduced displacements of an n x n x n supercell, found with the unit cell's symmetry.

    The supercell has the unit cell's point operations (n times the lattice is kept by each), and its atoms of one
    orbit are the lattice translates of the unit cell's: phonopy's first atom of each is the untranslated one
    (``u2s_map``), and its trial directions, in fractional coordinates, point the same way in both cells. So phonopy
    gives the same displaced atoms and Cartesian displacements from the 8 atoms of Si as from its 216 (tested
    against phonopy's own on every crystal system), without the 0.7 s of the supercell's 5184 operations.
    """
    cell = phonon.unitcell
    dataset = generate_systematic_displacements(cell, Symmetry(cell, symprec=symprec), amplitude, plus_minus)
    first_atom_in_supercell = phonon.supercell.u2s_map
    return {
        'natom': len(phonon.supercell),
        'first_atoms': [
            {'number': int(first_atom_in_supercell[entry['number']]), 'displacement': entry['displacement']}
            for entry in dataset['first_atoms']
        ],
    }


def displaced_supercells(phonon: Phonopy) -> list[Atoms]:
    return [to_ase(cell) for cell in phonon.supercells_with_displacements]


def to_yaml_text(phonon: Phonopy, force_constants: bool = False) -> str:
    """phonopy's own yaml, which ``phonopy.load`` reads back."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / 'phonopy.yaml'
        phonon.save(path, settings={'force_constants': force_constants})
        return path.read_text()


_SYMMETRY_TOLERANCE = re.compile(r'^\s*symmetry_tolerance:\s*(\S+)', re.MULTILINE)


def from_yaml_text(text: str, symprec: float | None = None, nac: bool = False) -> Phonopy:
    """The one reader of phonopy yaml in the project (:func:`to_yaml_text`'s, or a run's ``phonopy_yaml``).

    Force constants are loaded if present, never produced. ``symprec`` is the one the yaml was written with unless
    given (phonopy's own default would be 1e-5 whatever the run used). The non-analytical correction is applied only
    with ``nac``, and then only as the yaml records it: phonopy's ``is_nac=True`` would also pick up a ``BORN`` file
    from the working directory.
    """
    if symprec is None:
        recorded = _SYMMETRY_TOLERANCE.search(text)
        if recorded is None:
            raise ValueError('the phonopy yaml records no symmetry_tolerance: give symprec')
        symprec = float(recorded.group(1))
    phonon = phonopy.load(
        io.StringIO(text),
        produce_fc=False,
        symmetrize_fc=False,
        symprec=symprec,
        is_compact_fc=True,
        is_nac=False,
        log_level=0,
    )
    if nac:
        reader = PhonopyYaml()
        reader.read(io.StringIO(text))
        phonon.nac_params = reader.nac_params
    return phonon


def supercell_from_yaml_text(text: str) -> PhonopyAtoms:
    """The supercell of :func:`to_yaml_text`'s yaml, read without phonopy's symmetry search (20 ms, not 1 s)."""
    reader = PhonopyYaml()
    reader.read(io.StringIO(text))
    return reader.supercell
