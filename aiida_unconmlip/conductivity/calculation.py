"""From forces to kappa(T) in one pass: fc3 and fc2 (symmetrised as the restoration asks), the phonon-phonon
interaction on a q-mesh, and the lattice thermal conductivity by the relaxation-time approximation or the direct
solution of the linearised Boltzmann equation.

This is the work of the engine's ``phono3py`` task (a CalcJob on the compute node: on fine meshes it takes minutes to
hours and memory, which a daemon worker must not hold). No AiiDA here.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from phono3py import Phono3py
from phono3py.file_IO import write_fc2_to_hdf5, write_fc3_to_hdf5

from ..phonons.force_constants import FC_METHODS, relative_change
from ..phonons.nac import NacRequest, apply_nac
from ..step_record import StepRecord
from ..timing import PhaseClock
from .phono3py_setup import Layout, from_yaml_text, split_forces, to_yaml_text

VOIGT_ORDER = ('xx', 'yy', 'zz', 'yz', 'xz', 'xy')
CUMULATIVE_POINTS = 201


@dataclass(frozen=True)
class ConductivityRequest:
    """What to compute: ``conductivity`` as :func:`~aiida_unconmlip.conductivity.parameters.parse_conductivity`
    returns it, ``symmetrize`` how the restoration step ``force_constant_symmetrization`` symmetrises (``symfc``,
    ``traditional``, None: not at all), ``nac`` the non-analytical
    correction of a polar crystal (None: none)."""

    symprec: float
    layout: Layout
    conductivity: dict[str, Any]
    symmetrize: str | None
    nac: NacRequest | None = None


@dataclass
class ConductivityResults:
    """kappa in W/m-K in phono3py's Voigt order (xx, yy, zz, yz, xz, xy), frequencies in THz."""

    phono3py_params: str
    force_constant_files: dict[str, bytes]
    arrays: dict[str, np.ndarray]
    diagnostics: dict[str, Any]
    records: list[StepRecord]
    phase_seconds: dict[str, float]


def produce_force_constants(ph3: Phono3py, method: str) -> None:
    """fc3 and fc2 from the forces set on ``ph3``."""
    calculator = FC_METHODS[method]
    ph3.produce_fc3(fc_calculator=calculator)
    if ph3.phonon_supercell_matrix is not None:
        ph3.produce_fc2(fc_calculator=calculator)


def symmetrize_force_constants(ph3: Phono3py, how: str) -> StepRecord:
    """fc3 and fc2 symmetrised, and the record of how much that changed each: ``symfc`` imposes the translational
    sum rules, index permutation and the space group by symfc's projector; ``traditional`` is phono3py's own
    iterations (sum rules and permutation, what ``produce_fc3(symmetrize_fc3r=True)`` and
    ``produce_fc2(symmetrize_fc2=True)`` do)."""
    raw_fc3, raw_fc2 = ph3.fc3.copy(), ph3.fc2.copy()
    ph3.symmetrize_fc3(use_symfc_projector=how == 'symfc')
    ph3.symmetrize_fc2(use_symfc_projector=how == 'symfc')
    parameters = {'projector': 'symfc'} if how == 'symfc' else {'method': 'traditional'}
    return StepRecord(
        name='force_constant_symmetrization',
        parameters={**parameters, 'orders': [2, 3]},
        effect={
            'fc2_relative_change': relative_change(raw_fc2, ph3.fc2),
            'fc3_relative_change': relative_change(raw_fc3, ph3.fc3),
        },
    )


def solve_conductivity(ph3: Phono3py, values: dict[str, Any]):
    """phono3py's conductivity object after the solution on the mesh at the temperatures asked for.

    ``boundary_mfp`` (micrometre) adds phono3py's boundary scattering, v/L for every mode. The delta functions of
    energy conservation are integrated with the linear tetrahedron method (phono3py's
    default) or with a Gaussian of ``smearing_thz``. On the symmetric meshes used here the tetrahedron result is not
    a smooth function of the force constants (perturbing the forces by 1e-13 eV/A moves kappa by up to 1%), the
    Gaussian is: docs/thermal-conductivity.rst.
    """
    ph3.mesh_numbers = values['mesh']
    ph3.sigmas = [values['smearing_thz']]  # None: the linear tetrahedron method
    ph3.init_phph_interaction()
    ph3.run_thermal_conductivity(
        is_LBTE=values['method'] == 'lbte',
        temperatures=values['temperatures'],
        is_isotope=values['isotope'],
        boundary_mfp=values['boundary_mfp'],
        transport_type='SMM19' if values['wigner'] else None,
        log_level=0,
    )
    return ph3.thermal_conductivity


def total_kappa(conductivity) -> dict[str, np.ndarray]:
    """kappa (temperatures, 6) W/m-K: the RTA or LBTE solution; with the Wigner term (SMM19) also its particle-like
    (``kappa_intra``) and coherence (``kappa_inter``) parts."""
    extra = conductivity.get_extra_kappa_output() or {}
    parts = {name: values for name, values in extra.items() if name.startswith('kappa') and values is not None}
    return {name: np.asarray(values[0]) for name, values in {'kappa': conductivity.kappa, **parts}.items()}


def per_mode_kappa(conductivity) -> np.ndarray:
    """Each mode's share of kappa (temperatures, grid points, bands, 6), weights included; with the Wigner term the
    band-diagonal (particle-like) share."""
    try:
        return np.asarray(conductivity.mode_kappa[0])
    except AttributeError:
        return np.einsum('tgiic->tgic', np.asarray(conductivity.mode_kappa_matrix[0]))


def cumulative_kappa(conductivity, frequencies: np.ndarray, mesh: list[int]) -> dict[str, np.ndarray]:
    """Cumulative kappa against phonon frequency: the mean of kappa_xx, yy, zz carried by modes below each
    frequency (temperatures, points), W/m-K; phono3py's kappa is its per-mode kappa summed over the irreducible
    modes, divided by the number of mesh points."""
    mode_kappa = per_mode_kappa(conductivity)
    trace = mode_kappa[..., :3].mean(axis=-1).reshape(len(mode_kappa), -1) / np.prod(mesh)
    flat = frequencies.reshape(-1)
    grid = np.linspace(0.0, max(float(flat.max()), 0.0) * 1.01, CUMULATIVE_POINTS)
    below = flat[None, :] <= grid[:, None]  # points, modes
    return {'cumulative_frequencies': grid, 'cumulative_kappa': trace @ below.T.astype(float)}


def mode_properties(conductivity) -> dict[str, np.ndarray]:
    """Per mode on the irreducible grid points: frequencies (THz), group velocities (THz A), linewidths (THz, twice
    the imaginary self-energy) per temperature, and the grid points' q and weights."""
    return {
        'mode_qpoints': np.asarray(conductivity.qpoints),
        'mode_weights': np.asarray(conductivity.grid_weights),
        'mode_frequencies': np.asarray(conductivity.frequencies),
        'mode_group_velocities': np.asarray(conductivity.group_velocities),
        'mode_linewidths': 2 * np.asarray(conductivity.gamma[0]),
    }


def force_constants_hdf5(ph3: Phono3py) -> dict[str, bytes]:
    """fc2.hdf5 and fc3.hdf5 as phono3py writes and reads them (compact, gzip)."""
    p2s_map = ph3.primitive.p2s_map
    with tempfile.TemporaryDirectory() as folder:
        fc2, fc3 = Path(folder) / 'fc2.hdf5', Path(folder) / 'fc3.hdf5'
        write_fc2_to_hdf5(ph3.fc2, filename=str(fc2), p2s_map=p2s_map)
        write_fc3_to_hdf5(ph3.fc3, filename=str(fc3), p2s_map=p2s_map)
        return {'fc2.hdf5': fc2.read_bytes(), 'fc3.hdf5': fc3.read_bytes()}


def compute_conductivity(
    setup_yaml: str, forces: list[np.ndarray], request: ConductivityRequest
) -> ConductivityResults:
    """Everything the thermal-conductivity work chain reports, from phono3py's setup yaml and the forces of its
    displaced supercells (laid out as ``request.layout`` says)."""
    values = request.conductivity
    phases = PhaseClock()
    with phases('load'):
        ph3 = from_yaml_text(setup_yaml, request.symprec)
        fc3_forces, fc2_forces = split_forces(forces, request.layout, ph3)
        ph3.forces = fc3_forces
        if fc2_forces is not None:
            ph3.phonon_forces = fc2_forces
    with phases('force_constants'):
        produce_force_constants(ph3, values['force_constants'])
    records = []
    if request.symmetrize is not None:
        with phases('force_constant_symmetrization'):
            records.append(symmetrize_force_constants(ph3, request.symmetrize))
    if request.nac is not None:  # phono3py applies it to the harmonic phonons of every q-point
        records.append(apply_nac(ph3, request.nac, request.symprec))
    with phases('conductivity'):
        conductivity = solve_conductivity(ph3, values)
    frequencies = np.asarray(conductivity.frequencies)
    tolerance = values['imaginary_tolerance_thz']
    arrays = {
        'temperatures': np.asarray(conductivity.temperatures, dtype=float),
        'mesh': np.asarray(values['mesh']),
        **total_kappa(conductivity),
        **cumulative_kappa(conductivity, frequencies, values['mesh']),
    }
    if values['mode_properties']:
        arrays.update(mode_properties(conductivity))
    diagnostics = {
        'imaginary_modes': int(np.sum(frequencies < -tolerance)),
        'lowest_frequency_thz': float(frequencies.min()),
        'irreducible_grid_points': len(frequencies),
        'mesh': list(values['mesh']),
        'method': values['method'],
        'wigner': values['wigner'],
        'displacements': request.layout.as_dict(),
        'voigt_order': list(VOIGT_ORDER),
    }
    with phases('outputs'):
        params, files = to_yaml_text(ph3), force_constants_hdf5(ph3)
    return ConductivityResults(
        phono3py_params=params,
        force_constant_files=files,
        arrays=arrays,
        diagnostics=diagnostics,
        records=records,
        phase_seconds=phases.seconds,
    )
