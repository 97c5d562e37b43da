"""The phonon work chain's cheap steps as calcfunctions (each result a node created by the step that made it); the
force constants and phonon properties run on the compute node (:mod:`aiida_unconmlip.calcjobs.phonopy`)."""

from __future__ import annotations

import io

import numpy as np
from aiida.engine import calcfunction
from aiida.orm import Dict, Float, Int, List, SinglefileData, StructureData

from ..data import ForceSetData, StructureSetData
from ..phonons.parameters import parse_displacements
from ..phonons.phonopy_setup import displaced_phonopy, displaced_supercells, standardize, to_yaml_text
from ..phonons.supercells import chosen_supercell_matrix
from ..symmetry.space_group import space_group_operations


def _yaml_node(text: str, filename: str) -> SinglefileData:
    return SinglefileData(io.BytesIO(text.encode()), filename=filename)


@calcfunction
def refine_structure(structure: StructureData, symprec: Float, original: StructureData | None = None) -> dict:
    """spglib's standardised conventional cell at ``symprec``; with ``original`` (the structure before
    relaxation) also whether relaxation kept its space group."""
    standard, symmetry = standardize(structure.get_ase(), symprec.value)
    if original is not None:
        before = space_group_operations(original.get_ase(), symprec.value).number
        symmetry.update(space_group_before_relaxation=before, space_group_kept=before == symmetry['number'])
    return {'structure': StructureData(ase=standard), 'symmetry': Dict(symmetry)}


@calcfunction
def phonopy_displacements(structure: StructureData, parameters: Dict, symprec: Float) -> dict:
    """Displaced supercells (symmetry-reduced, or random for symfc), phonopy's yaml of the setup and the supercell
    matrix (rows: the supercell's lattice vectors in the standardised unit cell's basis)."""
    values = parse_displacements(parameters.get_dict())
    unitcell = structure.get_ase()
    matrix = chosen_supercell_matrix(
        unitcell, values['supercell_matrix'], values['min_length'], values['supercell_shape'], symprec.value
    )
    phonon = displaced_phonopy(
        unitcell,
        matrix,
        symprec.value,
        values['amplitude'],
        values['plus_minus'],
        values['random_snapshots'],
        values['random_seed'],
    )
    return {
        'supercells': StructureSetData.from_ase(displaced_supercells(phonon)),
        'phonopy_setup': _yaml_node(to_yaml_text(phonon), 'phonopy_disp.yaml'),
        'supercell_matrix': List(np.asarray(matrix, dtype=int).tolist()),
    }


@calcfunction
def split_structure_set(structures: StructureSetData, n_chunks: Int) -> dict:
    """Consecutive chunks ``chunk_00``, ``chunk_01``... for evaluation on several GPUs or nodes."""
    atoms = structures.get_ase_list()
    return {
        f'chunk_{index:02d}': StructureSetData.from_ase([atoms[i] for i in indices])
        for index, indices in enumerate(np.array_split(np.arange(len(atoms)), min(n_chunks.value, len(atoms))))
    }


@calcfunction
def merge_force_sets(**chunks: ForceSetData) -> ForceSetData:
    """The forces of all chunks, in chunk order (``chunk_00`` first)."""
    return ForceSetData.from_list([f for name in sorted(chunks) for f in chunks[name].get_list()])
