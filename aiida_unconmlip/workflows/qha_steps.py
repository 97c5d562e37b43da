"""The quasi-harmonic work chain's cheap steps as calcfunctions: the volume scan, and phonopy's QHA fit with the
Grüneisen parameters from the phonons at each volume (seconds, not a job for a compute node)."""

from __future__ import annotations

import numpy as np
from aiida.engine import calcfunction
from aiida.orm import ArrayData, Dict, SinglefileData, StructureData, XyData

from ..data import StructureSetData
from ..phonons.phonopy_setup import from_yaml_text
from ..phonons.properties import band_path
from ..qha.calculation import compute_qha, gruneisen_on_path, volume_scale_factors
from ..qha.parameters import parse_volumes

GRUNEISEN_POINTS = 51


@calcfunction
def scale_volumes(structure: StructureData, parameters: Dict) -> dict:
    """``volume_00``, ``volume_01``...: the structure with its lattice scaled by each factor of the scan (fractional
    positions kept), the relaxed volume in the middle."""
    values = parse_volumes(parameters.get_dict())
    atoms = structure.get_ase()
    scaled = {}
    for index, factor in enumerate(volume_scale_factors(values['n_volumes'], values['max_linear_strain'])):
        copy = atoms.copy()
        copy.set_cell(atoms.cell.array * factor, scale_atoms=True)
        scaled[f'volume_{index:02d}'] = StructureData(ase=copy)
    return scaled


def _per_primitive_cell(structure: StructureData, energy: float, phonopy_yaml: SinglefileData) -> tuple[float, float]:
    """Volume (A^3) and static energy (eV) of phonopy's primitive cell, in which its thermal properties are given."""
    primitive = from_yaml_text(phonopy_yaml.get_content()).primitive
    return primitive.volume, energy * len(primitive) / len(structure.sites)


def _thermal_columns(thermal: XyData) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    names, values, _ = zip(*thermal.get_y(), strict=True)
    return thermal.get_x()[1], dict(zip(names, values, strict=True))


@calcfunction
def collect_structures(**structures: StructureData) -> StructureSetData:
    """The structures in the order of their names, as one set for one batched evaluate job."""
    return StructureSetData.from_ase([structures[name].get_ase() for name in sorted(structures)])


@calcfunction
def quasi_harmonic(parameters: Dict, energies: ArrayData, **per_volume) -> dict:
    """phonopy's QHA of the scan and the mode Grüneisen parameters of the middle volume and its two neighbours.

    ``energies`` holds the static energy of each relaxed volume in order; ``per_volume`` for each volume index
    ``k`` (two digits): ``structure_k`` (the relaxed structure at that volume), ``thermal_k`` (the phonons' thermal
    properties) and ``phonopy_k`` (phonopy's yaml with force constants).
    """
    values = parse_volumes(parameters.get_dict())
    keys = sorted(name.split('_')[1] for name in per_volume if name.startswith('structure_'))
    static_energies = energies.get_array('energies')
    volumes, cell_energies, columns = [], [], []
    for position, key in enumerate(keys):
        energy = float(static_energies[position])
        volume, energy = _per_primitive_cell(per_volume[f'structure_{key}'], energy, per_volume[f'phonopy_{key}'])
        temperatures, thermal = _thermal_columns(per_volume[f'thermal_{key}'])
        volumes.append(volume)
        cell_energies.append(energy)
        columns.append(thermal)
    results = compute_qha(
        volumes,
        cell_energies,
        temperatures,
        [c['free_energy'] for c in columns],
        [c['entropy'] for c in columns],
        [c['heat_capacity'] for c in columns],
        eos=values['eos'],
    )
    qha = ArrayData()
    for name in (
        'temperatures',
        'equilibrium_volumes',
        'volumetric_thermal_expansion',
        'bulk_modulus',
        'heat_capacity_p',
        'gibbs_free_energy',
    ):
        qha.set_array(name, getattr(results, name))
    qha.set_array('extrapolated', results.extrapolated.astype(bool))
    # the scan as arrays, not in the Dict: a Dict stores floats to about 13 digits, and the fit is sensitive beyond
    qha.set_array('scan_volumes', np.array(volumes))
    qha.set_array('scan_energies', np.array(cell_energies))
    equation_of_state = Dict(
        {
            'eos': results.eos,
            'e0_ev': results.e0,
            'v0_angstrom3': results.v0,
            'b0_gpa': results.b0,
            'b0_prime': results.b0_prime,
            'per': 'primitive cell',
        }
    )
    middle = len(keys) // 2
    texts = tuple(per_volume[f'phonopy_{keys[i]}'].get_content() for i in (middle - 1, middle, middle + 1))
    equilibrium = from_yaml_text(texts[1])
    path = band_path(equilibrium, None)
    gruneisen = gruneisen_on_path(texts, [[path.points[label] for label in run] for run in path.runs], GRUNEISEN_POINTS)
    gruneisen_node = ArrayData()
    for name, array in gruneisen.items():
        gruneisen_node.set_array(name, array)
    gruneisen_node.base.attributes.set('path', path.runs)
    return {'qha': qha, 'equation_of_state': equation_of_state, 'gruneisen': gruneisen_node}
