"""The measurements behind the default model's card (``docs/default-model.rst``), all in one run.

Usage: ``verdi run benchmarks/default_model_card.py [MODEL]`` on a profile set up with ``aiida-unconmlip setup``
(the work chains run in this process, no daemon needed); MODEL is a shipped model's name, the default without one.
Measures, with the model: errors against the DFT labels of the held-back test frames of both reference sets (near
equilibrium, and rattled by up to 0.2 A), the relaxed lattice constant, phonons at Gamma, X and L against the DFPT
reference and the wall time of each protocol (and of moderate with a rotational average of l_max 3, and with the
force restoration steps off), the equivariance error of raw and rotationally averaged forces on a rattled 64-atom
cell, and the time of one 64-atom evaluation.
Writes ``benchmarks/results/default-model-card-cpu.json`` and ``docs/_static/default-model-phonons.png``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from aiida.engine import run_get_node
from aiida.orm import StructureData, load_code
from ase.build import bulk
from scipy.spatial.transform import Rotation

import aiida_unconmlip
from aiida_unconmlip.engine import Restoration, evaluate_structures, load_potential
from aiida_unconmlip.engine.accuracy import prediction_errors
from aiida_unconmlip.engine.evaluate import rotated_copy
from aiida_unconmlip.engine.restoration import RESTORATION_OFF
from aiida_unconmlip.models import default_model_name
from aiida_unconmlip.models.importing import shipped_model_node
from aiida_unconmlip.models.recipes.default_model import reference_workchain
from aiida_unconmlip.plotting import plot_phonons
from aiida_unconmlip.summaries import labelled_frequencies
from aiida_unconmlip.workflows.phonons import PhononWorkChain

REPO = Path(aiida_unconmlip.__file__).resolve().parent.parent  # `verdi run` does not set __file__ to this script
LABELS = ('GAMMA', 'X', 'L')


def cpu_model() -> str:
    for line in Path('/proc/cpuinfo').read_text().splitlines() if Path('/proc/cpuinfo').exists() else []:
        if line.startswith('model name'):
            return line.split(':', 1)[1].strip()
    return platform.machine()


def equivariance_errors(potential, forces_mode: str) -> dict[str, float]:
    """Largest |F(x Q^T) Q - F(x)| (meV/A) over 8 random rotations of a rattled 64-atom cell, per l_max."""
    atoms = bulk('Si', 'diamond', a=5.475, cubic=True).repeat(2)
    atoms.rattle(0.05, seed=7)
    rotations = Rotation.random(8, random_state=2026).as_matrix()
    structures = [atoms] + [rotated_copy(atoms, rotation) for rotation in rotations]
    errors = {}
    for l_max in (0, 1, 2, 3):
        forces = evaluate_structures(potential, structures, Restoration(forces_mode, l_max, l_max > 0)).forces
        deviation = max(np.abs(f @ q - forces[0]).max() for f, q in zip(forces[1:], rotations, strict=True))
        errors[f'l_max_{l_max}'] = float(1000 * deviation)
    return errors


def seconds_per_evaluation(potential, forces_mode: str, repeats: int = 10) -> float:
    """Median wall time of one 64-atom energy + forces + stress evaluation (after one warm-up call)."""
    atoms = bulk('Si', 'diamond', a=5.475, cubic=True).repeat(2)
    atoms.rattle(0.05, seed=1)
    restoration = Restoration(forces_mode)
    evaluate_structures(potential, [atoms], restoration)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        evaluate_structures(potential, [atoms], restoration)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def diamond_lattice_constant(structure: StructureData) -> float:
    """Cubic lattice constant from the volume per atom (8 atoms per cubic cell), whatever cell is given."""
    atoms = structure.get_ase()
    return float((8 * atoms.get_volume() / len(atoms)) ** (1 / 3))


def phonons(code, model, protocol: str = 'moderate', **overrides) -> tuple[dict, float]:
    """Outputs of one phonon work chain (relaxation included) run in this process, and its wall time (s)."""
    builder = PhononWorkChain.get_builder_from_protocol(
        code, StructureData(ase=bulk('Si', 'diamond', a=5.475)), model, protocol=protocol, overrides=overrides
    )
    start = time.perf_counter()
    results, node = run_get_node(builder)
    if not node.is_finished_ok:
        raise SystemExit(f'PhononWorkChain<{node.pk}> failed: {node.exit_message}')
    return results, time.perf_counter() - start


def main() -> None:
    model = shipped_model_node(sys.argv[1] if len(sys.argv) > 1 else None)
    # Another shipped model than the default (a candidate) writes files of its own.
    suffix = '' if model.model_name == default_model_name() else f'-{model.model_name}'
    code = load_code('unconmlip-engine@localhost')
    # The same held-back frames for every model: near equilibrium (the first reference set) and far from it
    # (rattles up to 0.2 A, make anharmonic-data), so a model trained without the second is judged on it too.
    test_sets = {
        name: [
            frame
            for frame in reference_workchain(label).outputs.training_set.get_frames()
            if frame.info['split'] == 'test'
        ]
        for name, label in (('test_set', 'silicon-reference-set'), ('test_set_far', 'silicon-anharmonic-set'))
    }
    dfpt_run = reference_workchain('silicon-dfpt-reference')
    dfpt = {label: sorted(values) for label, values in dfpt_run.outputs.frequencies['frequencies_thz'].items()}

    card = {
        'model': {'name': model.model_name, 'sha256': model.sha256},
        'metatrain_errors': model.creator.outputs.errors.get_dict(),
    }
    with model.as_path() as path:
        float64 = load_potential(path, 'metatomic', device='cpu', dtype='float64')
        float32 = load_potential(path, 'metatomic', device='cpu', dtype='float32')
        for name, frames in test_sets.items():
            card[name] = {'frames': len(frames), **prediction_errors(float64, frames)}
        for mode in ('conservative', 'direct'):
            card.setdefault('equivariance_mev_per_a', {})[mode] = equivariance_errors(float64, mode)
            card.setdefault('seconds_per_64_atom_evaluation_float32', {})[mode] = seconds_per_evaluation(float32, mode)

    runs = {protocol: phonons(code, model, protocol) for protocol in ('fast', 'moderate', 'precise')}
    runs['moderate_l_max_3'] = phonons(code, model, restoration={'rotational_average': {'l_max': 3, 'inversion': True}})
    runs['moderate_raw'] = phonons(code, model, restoration={**RESTORATION_OFF, 'fix_symmetry': True})
    card['lattice_constant_angstrom'] = {
        'model': diamond_lattice_constant(runs['moderate'][0]['structure']),
        'dft': diamond_lattice_constant(dfpt_run.outputs.relaxed_structure),
    }
    card['phonons_thz'] = {'dfpt': dfpt}
    for name, (results, seconds) in runs.items():
        frequencies = labelled_frequencies(results['band_structure'])
        errors = [
            abs(frequencies[label][i] - dfpt[label][i])
            for label in LABELS
            for i in range(3 if label == 'GAMMA' else 0, len(dfpt[label]))
        ]
        card['phonons_thz'][name] = {
            **{label: frequencies[label] for label in LABELS},
            'mae_vs_dfpt': float(np.mean(errors)),
            'wall_seconds': seconds,
            'diagnostics': results['diagnostics'].get_dict(),
        }
    card['machine'] = {'cpu': cpu_model(), 'cores': os.cpu_count(), 'torch_threads': torch.get_num_threads()}

    output = REPO / 'benchmarks' / 'results' / f'default-model-card{suffix}-cpu.json'
    output.write_text(json.dumps(card, indent=2) + '\n')
    moderate = runs['moderate'][0]
    plot_phonons(
        moderate['band_structure'],
        moderate['total_dos'],
        REPO / 'docs' / '_static' / f'default-model-phonons{suffix}.png',
        title=f'Si, {model.model_name} (moderate protocol) and DFPT (points)',
        reference={label: dfpt[label] for label in LABELS},
    )
    print(json.dumps(card, indent=2))


main()
