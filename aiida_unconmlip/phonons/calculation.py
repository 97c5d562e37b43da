"""From forces to phonons in one pass: force constants (symmetrised as the restoration asks), band structure, DOS,
thermal properties and the symmetry diagnostics.

This is the work of the engine's ``phonopy`` task (a CalcJob on the compute node, not a calcfunction in a daemon
worker: on large supercells and fine meshes it takes minutes). One phonopy object is built once and used for every
step. No AiiDA here.
"""

from __future__ import annotations

import copy
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..step_record import StepRecord
from . import diagnostics
from .force_constants import SYMMETRIC_BY_FIT, fc_from_forces, symmetrize_fc, symmetrize_fc_traditionally
from .nac import NacRequest, apply_nac
from .phonopy_setup import from_yaml_text, supercell_from_yaml_text, to_yaml_text
from .projector import BasisAhead
from .properties import band_path, band_points, band_segments, run_band_structure, run_dos_and_thermal


@dataclass(frozen=True)
class PhononRequest:
    """What to compute: ``properties`` as :func:`aiida_unconmlip.phonons.parameters.parse_properties` returns them,
    ``symmetrize`` how the restoration step ``force_constant_symmetrization`` symmetrises (``symfc``,
    ``traditional``, None: not at all), ``space_group`` as refinement found it,
    ``nac`` the non-analytical correction of a polar crystal (None: none)."""

    symprec: float
    method: str
    symmetrize: str | None
    properties: dict[str, Any]
    space_group: dict[str, Any]
    space_group_kept: bool | None
    nac: NacRequest | None = None


@dataclass
class PhononResults:
    """Frequencies in THz, DOS in states/THz, free energy in kJ/mol, entropy and heat capacity in J/K/mol."""

    phonopy_params: str
    force_constants: np.ndarray
    primitive_cell: np.ndarray
    primitive_symbols: list[str]
    band_kpoints: np.ndarray
    band_frequencies: np.ndarray
    band_labels: list[tuple[int, str]]
    mesh: dict[str, np.ndarray]
    diagnostics: dict[str, Any]
    records: list[StepRecord]


def compute_phonons(setup_yaml: str, forces: np.ndarray, request: PhononRequest) -> PhononResults:
    """Everything the phonon work chain reports, from phonopy's setup yaml and the forces of its displacements."""
    # symfc's fit needs no projection after it: projecting again would build symfc's basis a second time (0.9 s for
    # Si216) to change the force constants by ~1e-16, so the step is recorded as done by the fit. Otherwise the
    # projector's basis is built in a second process from the start (it needs only the supercell).
    symmetric_by_fit = request.method in SYMMETRIC_BY_FIT
    if symmetric_by_fit:
        basis_ahead = nullcontext()
    else:
        basis_ahead = BasisAhead(supercell_from_yaml_text(setup_yaml), request.symprec)
    with basis_ahead:
        phonon = from_yaml_text(setup_yaml, request.symprec)
        fc_from_forces(phonon, forces, request.method)
        basis = None if symmetric_by_fit else basis_ahead.result()
    records = []
    if request.symmetrize == 'symfc':
        if symmetric_by_fit:
            effect = {'relative_change': 0.0, 'symmetric_by_fit': True}
        else:
            effect = {'relative_change': symmetrize_fc(phonon, basis)}
        records.append(
            StepRecord(
                name='force_constant_symmetrization',
                parameters={'projector': 'symfc', 'symprec': request.symprec},
                effect=effect,
            )
        )
    elif request.symmetrize == 'traditional':
        records.append(
            StepRecord(
                name='force_constant_symmetrization',
                parameters={'method': 'traditional'},
                effect={'relative_change': symmetrize_fc_traditionally(phonon)},
            )
        )
    if request.nac is not None:  # before anything is computed from the dynamical matrix
        records.append(apply_nac(phonon, request.nac, request.symprec))
    properties = request.properties
    path = band_path(phonon, properties['band_path'])
    segments, connections = band_segments(path, properties['band_npoints'])
    kpoints, frequencies, labels = band_points(
        path, segments, connections, run_band_structure(phonon, segments), gamma_from_both_sides=request.nac is not None
    )
    mesh = run_dos_and_thermal(
        phonon, properties['mesh_length'], properties['t_max'], properties['t_step'], properties['projected_dos']
    )
    if request.symmetrize == 'symfc' or symmetric_by_fit:
        reference = phonon
    else:  # which bands symmetry makes degenerate is read off symmetric force constants, not the ones judged
        reference = copy.deepcopy(phonon)
        symmetrize_fc(reference, basis)
    labelled = {label: path.points[label] for label in path.labels}
    report = {
        'gamma_acoustic_thz': diagnostics.gamma_acoustic_thz(phonon),
        'imaginary_modes': diagnostics.imaginary_modes(
            mesh['mesh_qpoints'], mesh['mesh_frequencies'], properties['imaginary_tolerance_thz']
        ),
        'degenerate_splitting_thz': diagnostics.degeneracy_splitting(phonon, reference, labelled),
        'star_spread_thz': diagnostics.star_spread(phonon, labelled),
        'space_group': request.space_group,
        'space_group_kept': request.space_group_kept,
        'mesh': mesh['mesh'].tolist(),
    }
    return PhononResults(
        phonopy_params=to_yaml_text(phonon, force_constants=True),
        force_constants=np.array(phonon.force_constants),
        primitive_cell=np.array(phonon.primitive.cell),
        primitive_symbols=list(phonon.primitive.symbols),
        band_kpoints=kpoints,
        band_frequencies=frequencies,
        band_labels=labels,
        mesh=mesh,
        diagnostics=report,
        records=records,
    )
