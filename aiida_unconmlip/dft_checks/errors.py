"""Model against DFT on the same cells: energies, forces, stresses, and the frequencies the forces imply.

Energies are compared per atom relative to a reference cell (a model and DFT need not share a zero of energy).
Force errors are over every Cartesian component of every atom (MAE, RMSE) and the largest vector difference. The
displaced-atom force ratio, model over DFT of the force on each displaced atom along its displacement, is what
force constants are made of: a ratio r makes a frequency sqrt(r) too high, which gives the frequency error it
implies without any phonon calculation. Where the cells hold a whole displacement pattern, the force constants
from each side's forces give the frequencies at the q-points the cell holds, compared directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms
from ase.units import GPa

from ..phonons.phonopy_setup import from_yaml_text

OPTICAL_THZ = 0.5  # a highest Gamma mode above this is optical; below, Gamma holds only acoustic modes


def _stats(differences: np.ndarray) -> dict[str, float]:
    return {
        'mae': float(np.abs(differences).mean()),
        'rmse': float(np.sqrt((differences**2).mean())),
        'max': float(np.abs(differences).max()),
    }


def energy_errors(
    cells: list[Atoms], model: np.ndarray, dft: np.ndarray, indices: list[int]
) -> dict[str, float] | None:
    """Per-atom energy differences (meV/atom) of the cells ``indices`` relative to the first of them; None with
    only one."""
    counts = np.array([len(atoms) for atoms in cells])
    reference, others = indices[0], indices[1:]
    if not others:
        return None
    aligned_model = model[others] / counts[others] - model[reference] / counts[reference]
    aligned_dft = dft[others] / counts[others] - dft[reference] / counts[reference]
    return _stats(1000 * (aligned_model - aligned_dft))


def force_errors(model: list[np.ndarray], dft: list[np.ndarray]) -> dict[str, float]:
    """Component MAE and RMSE, largest vector difference, and the DFT force scale, in meV/A."""
    difference = np.concatenate([m - d for m, d in zip(model, dft, strict=True)])
    scale = np.concatenate(dft)
    return {
        **{key: value for key, value in _stats(1000 * difference).items() if key != 'max'},
        'max': float(1000 * np.linalg.norm(difference, axis=1).max()),
        'dft_rms': float(1000 * np.sqrt((scale**2).mean())),
    }


def stress_errors(cells: list[Atoms], model: np.ndarray, dft: np.ndarray) -> dict[str, float]:
    """Stress differences in GPa, and as virial per atom (meV) as metatrain reports its stress errors."""
    difference = model - dft
    volumes_per_atom = np.array([atoms.get_volume() / len(atoms) for atoms in cells])
    virial = difference * volumes_per_atom[:, None, None]
    return {
        **{f'{key}_gpa': value for key, value in _stats(difference / GPa).items()},
        'virial_rmse_mev_per_atom': float(1000 * np.sqrt((virial**2).mean())),
    }


def displaced_atom_force_ratio(group: dict[str, Any], model: list[np.ndarray], dft: list[np.ndarray]) -> float:
    """Sum over the group's cells of the model's force on the displaced atom along its displacement, over DFT's."""
    along_model = along_dft = 0.0
    for index, atom, displacement in zip(
        group['indices'], group['displaced_atoms'], group['displacements'], strict=True
    ):
        direction = np.asarray(displacement) / np.linalg.norm(displacement)
        along_model += float(model[index][atom] @ direction)
        along_dft += float(dft[index][atom] @ direction)
    return along_model / along_dft


def commensurate_frequencies(phonopy_yaml: str, forces: list[np.ndarray]) -> dict[str, list[float]]:
    """Frequencies (THz) at the q-points the supercell holds, from force constants fitted to ``forces``."""
    from phonopy.harmonic.dynmat_to_fc import get_commensurate_points

    phonon = from_yaml_text(phonopy_yaml)
    phonon.forces = np.asarray(forces)
    phonon.produce_force_constants()
    points = get_commensurate_points(phonon.supercell_matrix)
    return {
        ' '.join(f'{value:g}' for value in np.round(q, 6) + 0.0): phonon.get_frequencies(q).tolist() for q in points
    }


def group_errors(group: dict[str, Any], model: list[np.ndarray], dft: list[np.ndarray]) -> dict[str, Any]:
    """The displaced-atom force ratio and the frequencies of one displacement pattern, model and DFT.

    ``gamma_highest_thz`` is the highest mode at Gamma from each side's force constants (None where Gamma has only
    acoustic modes); its ``mode_force_ratio``, (model/DFT) squared, is the ratio of the restoring forces of that
    frozen phonon. ``frequency_error_from_ratio_thz`` is what the displaced-atom force ratio alone implies for that
    mode: exact for the primitive cell, whose displaced atom is the Gamma frozen phonon, and a mixture of the cell's
    q-points otherwise.
    """
    ratio = displaced_atom_force_ratio(group, model, dft)
    pick = group['indices']
    frequencies = {
        'model': commensurate_frequencies(group['phonopy_yaml'], [model[index] for index in pick]),
        'dft': commensurate_frequencies(group['phonopy_yaml'], [dft[index] for index in pick]),
    }
    differences = [
        abs(m - d)
        for q in frequencies['dft']
        for m, d in zip(frequencies['model'][q], frequencies['dft'][q], strict=True)
    ]
    gamma_model, gamma_dft = max(frequencies['model']['0 0 0']), max(frequencies['dft']['0 0 0'])
    optical = gamma_dft > OPTICAL_THZ
    return {
        'name': group['name'],
        'cells': len(pick),
        'displaced_atom_force_ratio': ratio,
        'frequencies_thz': frequencies,
        'max_frequency_error_thz': float(max(differences)),
        'gamma_highest_thz': {
            'model': gamma_model,
            'dft': gamma_dft,
            'error': gamma_model - gamma_dft,
            'mode_force_ratio': (gamma_model / gamma_dft) ** 2,
        }
        if optical
        else None,
        # A ratio r scales the force constants by r and the frequencies by sqrt(r).
        'frequency_error_from_ratio_thz': gamma_model * (1 - 1 / np.sqrt(ratio)) if optical else None,
    }


def gamma_summary(patterns: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The highest Gamma mode over the patterns' cells: DFT's own value moves between cells (their k-point meshes
    differ), so the mean error over the cells is the estimate and the spread of DFT's values its resolution."""
    gammas = {pattern['name']: pattern['gamma_highest_thz'] for pattern in patterns if pattern['gamma_highest_thz']}
    if not gammas:
        return None
    dft = [gamma['dft'] for gamma in gammas.values()]
    return {
        'cells': list(gammas),
        'error_thz': float(np.mean([gamma['error'] for gamma in gammas.values()])),
        'mode_force_ratio': float(np.mean([gamma['mode_force_ratio'] for gamma in gammas.values()])),
        'dft_spread_thz': float(max(dft) - min(dft)),
    }


def compare(cells: list[Atoms], plan: dict[str, Any], model: dict[str, Any], dft: dict[str, Any]) -> dict[str, Any]:
    """Every number of the spot check; ``model`` and ``dft`` hold ``energies`` (N,), ``forces`` (N arrays) and
    ``stresses`` (N, 3, 3) in eV, eV/A and eV/A^3."""
    patterns = [group_errors(group, model['forces'], dft['forces']) for group in plan['groups']]
    return {
        'structures': len(cells),
        'atoms': int(sum(len(atoms) for atoms in cells)),
        'energy_mev_per_atom': energy_errors(
            cells, np.asarray(model['energies']), np.asarray(dft['energies']), plan['energy_indices']
        ),
        'forces_mev_per_angstrom': force_errors(model['forces'], dft['forces']),
        'stress': stress_errors(cells, np.asarray(model['stresses']), np.asarray(dft['stresses'])),
        'displacement_patterns': patterns,
        'gamma_highest': gamma_summary(patterns),
    }
