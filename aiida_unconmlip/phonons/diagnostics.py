"""Symmetry diagnostics of a phonon spectrum: what a symmetric result must satisfy, and how far it is from it.

Which bands must be degenerate at a q-point comes from the representation of the little group of q
(phonopy's symmetry-adapted irreps), computed on a space-group-symmetrised reference, so it does not depend
on the frequencies being judged.
"""

from __future__ import annotations

import numpy as np
from phonopy import Phonopy


def gamma_acoustic_thz(phonon: Phonopy) -> list[float]:
    """The three frequencies at Gamma closest to zero (THz; negative means imaginary)."""
    frequencies = np.array(phonon.get_frequencies([0.0, 0.0, 0.0]))
    return [float(f) for f in frequencies[np.argsort(np.abs(frequencies))[:3]]]


def imaginary_modes(mesh_qpoints: np.ndarray, mesh_frequencies: np.ndarray, tolerance: float) -> dict:
    """Modes below -tolerance on the mesh, not counting the three acoustic modes at Gamma."""
    frequencies = np.array(mesh_frequencies, copy=True)
    at_gamma = np.all(np.abs(mesh_qpoints - np.rint(mesh_qpoints)) < 1e-8, axis=1)
    for index in np.flatnonzero(at_gamma):
        frequencies[index, np.argsort(np.abs(frequencies[index]))[:3]] = 0.0
    imaginary = frequencies < -tolerance
    return {
        'count': int(imaginary.sum()),
        'min_frequency_thz': float(frequencies.min()),
        'tolerance_thz': tolerance,
    }


def degenerate_band_sets(reference: Phonopy, qpoint) -> list[list[int]]:
    """Band indices that the little group of ``qpoint`` makes degenerate (sets of more than one band)."""
    irreps = reference.run_irreps(qpoint, symmetry_adapted=True)
    return [list(map(int, bands)) for bands in irreps.band_indices if len(bands) > 1]


def degeneracy_splitting(phonon: Phonopy, reference: Phonopy, points: dict[str, list[float]]) -> dict[str, float]:
    """Per labelled q-point, the largest spread (THz) within a set of bands that symmetry makes degenerate."""
    splitting = {}
    for label, qpoint in points.items():
        frequencies = np.sort(phonon.get_frequencies(qpoint))
        sets = degenerate_band_sets(reference, qpoint)
        splitting[label] = max((float(np.ptp(frequencies[bands])) for bands in sets), default=0.0)
    return splitting


def star_spread(phonon: Phonopy, points: dict[str, list[float]]) -> dict[str, float]:
    """Per labelled q-point, the largest difference (THz) between its frequencies and those of its star."""
    rotations = phonon.primitive_symmetry.pointgroup_operations
    spread = {}
    for label, qpoint in points.items():
        reference = np.sort(phonon.get_frequencies(qpoint))
        star = {tuple(np.round(np.mod(np.array(qpoint) @ rotation, 1.0), 10)) for rotation in rotations}
        spread[label] = max(float(np.abs(np.sort(phonon.get_frequencies(q)) - reference).max()) for q in star)
    return spread
