"""Band structure along seekpath's path, total and projected DOS, thermal properties (phonopy's verbs)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import seekpath
from phonopy import Phonopy
from phonopy.phonon.band_structure import get_band_qpoints_by_seekpath


@dataclass
class BandPath:
    """q-point segments in fractional coordinates of the primitive reciprocal cell, with end-point labels."""

    segments: list[np.ndarray]
    labels: list[tuple[str, str]]
    points: dict[str, list[float]]


def band_path(phonon: Phonopy, npoints: int) -> BandPath:
    """seekpath's path for phonopy's primitive cell (phonopy's own helper gives the q-points)."""
    segments, _, _ = get_band_qpoints_by_seekpath(phonon.primitive, npoints)
    path = seekpath.get_path(phonon.primitive.totuple())
    return BandPath(
        segments=[np.array(segment) for segment in segments],
        labels=[tuple(pair) for pair in path['path']],
        points={label: list(map(float, coords)) for label, coords in path['point_coords'].items()},
    )


def run_band_structure(phonon: Phonopy, path: BandPath) -> list[np.ndarray]:
    """Frequencies (THz) of each segment, shape (points, bands)."""
    phonon.run_band_structure(path.segments)
    return [np.array(frequencies) for frequencies in phonon.band_structure.frequencies]


def run_dos_and_thermal(phonon: Phonopy, mesh_length: float, t_max: float, t_step: float) -> dict[str, np.ndarray]:
    """Total DOS and thermal properties on a Gamma-centred symmetric mesh, projected DOS on the full mesh."""
    phonon.run_mesh(mesh_length, is_gamma_center=True)
    mesh_frequencies = np.array(phonon.mesh.frequencies)
    mesh_qpoints = np.array(phonon.mesh.qpoints)
    phonon.run_total_dos()
    total = phonon.total_dos
    # the three acoustic modes at Gamma have zero frequency: their log term is undefined, so they are left out
    phonon.run_thermal_properties(t_min=0, t_max=t_max, t_step=t_step, exclude_gamma_acoustic=True)
    thermal = phonon.thermal_properties
    results = {
        'mesh': np.array(phonon.mesh.mesh_numbers),
        'mesh_qpoints': mesh_qpoints,
        'mesh_frequencies': mesh_frequencies,
        'dos_frequencies': np.array(total.frequency_points),
        'total_dos': np.array(total.dos),
        'temperatures': np.array(thermal.temperatures),
        'free_energy': np.array(thermal.free_energy),
        'entropy': np.array(thermal.entropy),
        'heat_capacity': np.array(thermal.heat_capacity),
    }
    phonon.run_mesh(mesh_length, is_gamma_center=True, with_eigenvectors=True, is_mesh_symmetry=False)
    phonon.run_projected_dos()
    results['pdos_frequencies'] = np.array(phonon.projected_dos.frequency_points)
    results['projected_dos'] = np.array(phonon.projected_dos.projected_dos)
    return results
