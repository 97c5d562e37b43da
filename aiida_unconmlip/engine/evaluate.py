"""Evaluate many structures with a potential, with the in-engine restoration steps applied and measured.

Rotational average (row-vector convention, R from :mod:`.rotations`): every structure x is evaluated as
x R^T for each rotation R of the quadrature, all rotated copies of all structures batched together, and
E = sum_k w_k E(x R_k^T),  F = sum_k w_k F(x R_k^T) R_k,  sigma = sum_k w_k R_k^T sigma(x R_k^T) R_k.
The weighted standard deviation over rotations of each back-rotated quantity is reported per structure:
zero for an exactly equivariant model, and a measure of how far an unconstrained model is from it.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from ase import Atoms

from ..step_record import StepRecord
from .batching import BudgetTuner, default_atoms_per_batch, run_in_batches
from .errors import NonFiniteOutput
from .potentials import Potential
from .potentials.base import OverlappingAtoms
from .restoration import Restoration
from .rotations import RotationQuadrature, rotation_quadrature
from .structures import check_structures, overlap_error


@dataclass
class EvaluationResult:
    """Restored predictions in eV, eV/A and eV/A^3 (``stresses`` NaN where not 3D-periodic), with the record of each
    inference step applied."""

    energies: np.ndarray
    forces: list[np.ndarray]
    stresses: np.ndarray
    restoration_steps: list[StepRecord]
    timing: dict[str, Any]


def rotated_copy(atoms: Atoms, rotation: np.ndarray) -> Atoms:
    """The structure rotated by ``rotation`` (positions and cell as row vectors: x -> x R^T)."""
    return Atoms(
        numbers=atoms.numbers, positions=atoms.positions @ rotation.T, cell=atoms.cell.array @ rotation.T, pbc=atoms.pbc
    )


def forces_mode_record(potential: Potential, forces_mode: str) -> StepRecord:
    """Which outputs of the model gave the forces and the stress."""
    direct = forces_mode == 'direct'
    direct_stress = direct and potential.description.capabilities.get('direct_stress', False)
    return StepRecord(
        name='forces_mode',
        parameters={'mode': forces_mode},
        effect={
            'forces_from': 'direct head' if direct else 'energy gradient',
            'stress_from': 'direct head' if direct_stress else 'strain gradient',
        },
    )


def _weighted_mean_and_std(samples: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean over the first axis and the per-element weighted standard deviation."""
    mean = np.tensordot(weights, samples, axes=1)
    variance = np.tensordot(weights, (samples - mean) ** 2, axes=1)
    return mean, np.sqrt(np.maximum(variance, 0.0))


@dataclass
class StructureResult:
    """One structure's restored prediction and the spread of its rotated copies (zero without averaging)."""

    index: int
    energy: float
    forces: np.ndarray
    stress: np.ndarray
    spread: dict[str, float | None]


def average_copies(index: int, atoms: Atoms, group: list, quadrature: RotationQuadrature) -> StructureResult:
    """The quadrature average of the back-rotated predictions of one structure's rotated copies."""
    rotations, weights = quadrature.rotations, quadrature.weights
    energy, energy_std = _weighted_mean_and_std(np.array([p.energy for p in group]), weights)
    back_forces = np.einsum('kai,kij->kaj', np.array([p.forces for p in group]), rotations)
    force, force_std = _weighted_mean_and_std(back_forces, weights)
    stress, stress_spread = np.full((3, 3), np.nan), None
    if group[0].stress is not None:
        back_stress = np.einsum('kji,kjl,klm->kim', rotations, np.array([p.stress for p in group]), rotations)
        stress, stress_std = _weighted_mean_and_std(back_stress, weights)
        stress_spread = float(np.max(stress_std))
    if not (np.isfinite(energy) and np.isfinite(force).all() and (stress_spread is None or np.isfinite(stress).all())):
        raise NonFiniteOutput(
            f'the model returned NaN or infinite values for structure {index} ({atoms.get_chemical_formula()}); '
            "try dtype float64, or check that the structure is within the model's domain"
        )
    spread = {
        'energy': float(energy_std),
        'forces_rms': float(np.sqrt(np.mean(np.sum(force_std**2, axis=-1)))),
        'forces_max': float(np.max(np.linalg.norm(force_std, axis=-1))),
        'stress_max': stress_spread,
    }
    return StructureResult(index, float(energy), force, stress, spread)


def inference_records(
    potential: Potential, restoration: Restoration, quadrature: RotationQuadrature, results: list[StructureResult]
) -> list[StepRecord]:
    """The records of the inference steps for ``results`` (per-structure effects in their order)."""
    records = [forces_mode_record(potential, restoration.forces_mode)]
    if restoration.l_max:
        effects = {
            'energy_std_ev': 'energy',
            'forces_rms_std_ev_per_angstrom': 'forces_rms',
            'forces_max_std_ev_per_angstrom': 'forces_max',
            'stress_max_std_ev_per_angstrom3': 'stress_max',
        }
        records.append(
            StepRecord(
                name='rotational_average',
                parameters={'l_max': restoration.l_max, 'inversion': restoration.inversion},
                effect={
                    'n_rotations': len(quadrature),
                    'lebedev_degree': quadrature.lebedev_degree,
                    **{key: [result.spread[name] for result in results] for key, name in effects.items()},
                },
            )
        )
    return records


_TUNERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# Calls side by side need a copy of the model each, whose first calls are slow (about 0.15 s more for the default PET
# on the development machine), and save about 7 ms per 64- or 216-atom structure there: a job has them from this many
# model evaluations per call on (a phonon job's two supercells are evaluated one call after another).
EVALUATIONS_PER_CONCURRENT_CALL = 16


def budget_tuner(potential: Potential) -> BudgetTuner:
    """The batch-budget tuner of a loaded model: what it measured carries over to the next job of the same model."""
    return _TUNERS.setdefault(potential, BudgetTuner())


def evaluate_structures(
    potential: Potential,
    structures: list[Atoms],
    restoration: Restoration | None = None,
    max_atoms_per_batch: int | None = None,
    on_finished: Callable[[list[StructureResult]], None] | None = None,
) -> EvaluationResult:
    """Predict energies, forces and stresses of ``structures`` with the requested restoration applied; batches hold
    at most ``max_atoms_per_batch`` atoms (rotated copies count), by default the device's own budget (on the CPU, the
    number of structures per call measured fastest for their size, :class:`~.batching.BudgetTuner`). Calls run side
    by side where the potential serves several at once and there are enough structures to pay for its copies.

    ``on_finished`` is called with the structures finished after each batch (all their rotated copies evaluated), so
    a caller can keep what is done when the job is stopped before the end.
    """
    restoration = restoration or Restoration()
    max_atoms_per_batch = max_atoms_per_batch or default_atoms_per_batch(potential.device)
    start = time.perf_counter()
    phases_before = dict(potential.phase_seconds)
    check_structures(structures, potential.description.elements)
    checks_seconds = time.perf_counter() - start
    quadrature = rotation_quadrature(restoration.l_max, restoration.inversion)
    n_rotations = len(quadrature)
    copies = [rotated_copy(atoms, rotation) for atoms in structures for rotation in quadrature.rotations]
    sizes = [len(atoms) for atoms in copies]
    received: list[list] = [[None] * n_rotations for _ in structures]
    missing = [n_rotations] * len(structures)
    results: list[StructureResult | None] = [None] * len(structures)
    restoring = 0.0

    def collect(batch: list[int], predictions: list) -> None:
        nonlocal restoring
        finished = []
        for copy_index, prediction in zip(batch, predictions, strict=True):
            index, rotation = divmod(copy_index, n_rotations)
            received[index][rotation] = prediction
            missing[index] -= 1
            if not missing[index]:
                begin = time.perf_counter()
                results[index] = average_copies(index, structures[index], received[index], quadrature)
                restoring += time.perf_counter() - begin
                received[index] = []
                finished.append(results[index])
        if finished and on_finished is not None:
            on_finished(finished)

    calls = min(potential.max_concurrent_calls, max(1, len(copies) // EVALUATIONS_PER_CONCURRENT_CALL))
    # one structure (a relaxation step) has nothing to choose: it teaches the tuner nothing either
    tuner = budget_tuner(potential) if max_atoms_per_batch is None and len(copies) > 1 else None
    budget = sizes[0] if max_atoms_per_batch is None and tuner is None else max_atoms_per_batch
    try:
        with potential.concurrent(calls):
            stats = run_in_batches(
                lambda batch: potential.predict(batch, restoration.forces_mode),
                copies,
                sizes,
                budget,
                collect,
                concurrent_calls=calls,
                tuner=tuner,
            )
    except OverlappingAtoms as exc:
        raise overlap_error(exc.position // n_rotations, exc.first, exc.second, exc.distance) from exc

    elapsed = time.perf_counter() - start
    phases = {name: seconds - phases_before.get(name, 0.0) for name, seconds in potential.phase_seconds.items()}
    phases.update(checks=checks_seconds, restoration=restoring)
    evaluated_atoms = sum(sizes)
    timing = {
        'wall_seconds': elapsed,
        'model_seconds': stats.model_seconds,
        'structures': len(structures),
        'model_evaluations': len(copies),
        'atoms_evaluated': evaluated_atoms,
        'atoms_per_second': evaluated_atoms / stats.model_seconds if stats.model_seconds > 0 else None,
        'batches': stats.batches,
        'splits_after_out_of_memory': stats.splits_after_out_of_memory,
        'max_atoms_per_batch': max_atoms_per_batch,
        'final_max_atoms_per_batch': stats.final_max_atoms,
        'structures_per_call': tuner.chosen(set(sizes)) if tuner else None,
        'concurrent_calls': stats.concurrent_calls,
        'phase_seconds': phases,
        'device': potential.device,
    }
    return EvaluationResult(
        energies=np.array([result.energy for result in results]),
        forces=[result.forces for result in results],
        stresses=np.array([result.stress for result in results]).reshape(-1, 3, 3),
        restoration_steps=inference_records(potential, restoration, quadrature, results),
        timing=timing,
    )
