"""The phonon work chain's steps as calcfunctions: each result is a node created by the step that made it."""

from __future__ import annotations

import io
import itertools

import numpy as np
from aiida.engine import calcfunction
from aiida.orm import ArrayData, BandsData, Bool, Dict, Float, Int, SinglefileData, StructureData, XyData

from ..data import ForceSetData, StructureSetData
from ..engine.restoration import StepRecord
from ..phonons import diagnostics
from ..phonons.force_constants import fc_from_forces, symmetrize_fc
from ..phonons.parameters import parse_displacements, parse_force_constants, parse_properties
from ..phonons.properties import BandPath, band_path, band_segments, run_band_structure, run_dos_and_thermal
from ..phonons.setup import (
    from_yaml_text,
    generate_displacements,
    make_phonopy,
    standardize,
    supercell_matrix_for,
    to_yaml_text,
)
from ..symmetry.records import record_outputs
from ..symmetry.space_group import space_group_operations


def _yaml_node(text: str, filename: str) -> SinglefileData:
    return SinglefileData(io.BytesIO(text.encode()), filename=filename)


def _phonopy_from(node: SinglefileData, symprec: float):
    return from_yaml_text(node.get_content(), symprec)


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
    """Displaced supercells (symmetry-reduced, or random for symfc) and phonopy's yaml of the setup."""
    values = parse_displacements(parameters.get_dict())
    unitcell = structure.get_ase()
    matrix = values['supercell_matrix'] or supercell_matrix_for(unitcell.cell.array, values['min_length'])
    phonon = make_phonopy(unitcell, matrix, symprec.value)
    supercells = generate_displacements(
        phonon, values['amplitude'], values['plus_minus'], values['random_snapshots'], values['random_seed']
    )
    return {
        'supercells': StructureSetData.from_ase(supercells),
        'phonopy_setup': _yaml_node(to_yaml_text(phonon), 'phonopy_disp.yaml'),
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


@calcfunction
def produce_force_constants(
    phonopy_setup: SinglefileData,
    forces: ForceSetData,
    parameters: Dict,
    force_constant_symmetrization: Bool,
    symprec: Float,
) -> dict:
    """Force constants with phonopy or symfc, then, with the restoration step ``force_constant_symmetrization``, the
    acoustic sum rule, index permutation and space group imposed together, recorded with the change they made."""
    values = parse_force_constants(parameters.get_dict())
    phonon = _phonopy_from(phonopy_setup, symprec.value)
    fc_from_forces(phonon, forces.get_stacked(), values['method'])
    outputs = {}
    if force_constant_symmetrization.value:
        record = StepRecord(
            name='force_constant_symmetrization',
            parameters={'projector': 'symfc', 'symprec': symprec.value},
            effect={'relative_change': symmetrize_fc(phonon)},
        )
        outputs.update(record_outputs(record))
    force_constants = ArrayData()
    force_constants.set_array('force_constants', phonon.force_constants)
    return {
        'force_constants': force_constants,
        'phonopy_yaml': _yaml_node(to_yaml_text(phonon, force_constants=True), 'phonopy_params.yaml'),
        **outputs,
    }


def _bands_node(
    phonon, path: BandPath, segments: list[np.ndarray], connections: list[bool], frequencies: list[np.ndarray]
) -> BandsData:
    """The band structure as AiiDA draws and exports it: a point shared by two connected segments appears once,
    a jump between runs keeps both end points (shown as ``U|K``)."""
    ends = [pair for run in path.runs for pair in itertools.pairwise(run)]
    kpoints, bands, labels = [], [], []
    connected_to_previous = False
    for segment, values, (first, last), connected in zip(segments, frequencies, ends, connections, strict=True):
        skip = 1 if connected_to_previous else 0
        if not skip:
            labels.append((len(kpoints), first))
        kpoints.extend(segment[skip:])
        bands.extend(values[skip:])
        labels.append((len(kpoints) - 1, last))
        connected_to_previous = connected
    node = BandsData()
    node.set_cell(phonon.primitive.cell)
    node.set_kpoints(np.array(kpoints))
    node.set_bands(np.array(bands), units='THz')
    node.labels = labels
    return node


@calcfunction
def phonon_properties(phonopy_yaml: SinglefileData, parameters: Dict, symmetry: Dict) -> dict:
    """Band structure on seekpath's path, total/projected DOS, thermal properties and symmetry diagnostics."""
    values = parse_properties(parameters.get_dict())
    symprec = symmetry['symprec']
    phonon = _phonopy_from(phonopy_yaml, symprec)
    path = band_path(phonon, values['band_path'])
    segments, connections = band_segments(path, values['band_npoints'])
    frequencies = run_band_structure(phonon, segments)
    mesh = run_dos_and_thermal(phonon, values['mesh_length'], values['t_max'], values['t_step'])

    reference = _phonopy_from(phonopy_yaml, symprec)
    reference.symmetrize_force_constants(show_drift=False, use_symfc_projector=True)
    labelled = {label: path.points[label] for label in path.labels}
    report = {
        'gamma_acoustic_thz': diagnostics.gamma_acoustic_thz(phonon),
        'imaginary_modes': diagnostics.imaginary_modes(
            mesh['mesh_qpoints'], mesh['mesh_frequencies'], values['imaginary_tolerance_thz']
        ),
        'degenerate_splitting_thz': diagnostics.degeneracy_splitting(phonon, reference, labelled),
        'star_spread_thz': diagnostics.star_spread(phonon, labelled),
        'space_group': {'number': symmetry['number'], 'symbol': symmetry['international']},
        'space_group_kept': symmetry.get('space_group_kept'),
        'mesh': mesh['mesh'].tolist(),
    }

    total_dos = XyData()
    total_dos.set_x(mesh['dos_frequencies'], 'frequency', 'THz')
    total_dos.set_y(mesh['total_dos'], 'dos', 'states/THz')
    projected_dos = XyData()
    projected_dos.set_x(mesh['pdos_frequencies'], 'frequency', 'THz')
    symbols = phonon.primitive.symbols
    projected_dos.set_y(
        list(mesh['projected_dos']),
        [f'{symbol}{index}' for index, symbol in enumerate(symbols)],
        ['states/THz'] * len(symbols),
    )
    thermal = XyData()
    thermal.set_x(mesh['temperatures'], 'temperature', 'K')
    thermal.set_y(
        [mesh['free_energy'], mesh['entropy'], mesh['heat_capacity']],
        ['free_energy', 'entropy', 'heat_capacity'],
        ['kJ/mol', 'J/K/mol', 'J/K/mol'],
    )
    return {
        'band_structure': _bands_node(phonon, path, segments, connections, frequencies),
        'total_dos': total_dos,
        'projected_dos': projected_dos,
        'thermal_properties': thermal,
        'diagnostics': Dict(report),
    }
