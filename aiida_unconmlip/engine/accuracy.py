"""Errors of a potential against labelled frames (DFT energies, forces, stresses): what a model card reports."""

from __future__ import annotations

import numpy as np
from ase import Atoms

from .evaluate import evaluate_structures
from .potentials.base import Potential


def prediction_errors(potential: Potential, frames: list[Atoms]) -> dict[str, float]:
    """RMSE and MAE of energy per atom (meV), force components (meV/A) and stress components (meV/A^3).

    Labels are read as ASE's extxyz gives them: ``info['energy']``, ``arrays['forces']``, ``info['stress']`` (3x3).
    """
    result = evaluate_structures(potential, frames)
    pairs = list(zip(result.energies, result.forces, result.stresses, frames, strict=True))
    deviations = {
        'energy_mev_per_atom': np.array([(energy - f.info['energy']) / len(f) for energy, _, _, f in pairs]),
        'forces_mev_per_a': np.concatenate([(forces - f.arrays['forces']).ravel() for _, forces, _, f in pairs]),
        'stress_mev_per_a3': np.concatenate([(stress - f.info['stress']).ravel() for _, _, stress, f in pairs]),
    }
    errors = {}
    for name, values in deviations.items():
        errors[f'{name}_rmse'] = float(1000 * np.sqrt(np.mean(values**2)))
        errors[f'{name}_mae'] = float(1000 * np.mean(np.abs(values)))
    return errors
