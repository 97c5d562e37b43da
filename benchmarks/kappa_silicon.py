"""The measurements behind docs/thermal-conductivity.rst, all in one run, with the shipped default PET.

Usage: ``verdi run benchmarks/kappa_silicon.py [MODEL]`` on a profile set up with ``aiida-unconmlip setup`` (the work
chains run in this process, no daemon needed); MODEL is a shipped model's name, the default without one.
Diamond Si, relaxed with FixSymmetry:

``fast``, ``moderate``
    The protocols as they are: kappa(T), wall time, supercells evaluated.
``fast_one_sided``, ``fast_one_sided_subtracted``
    The fast protocol with one-sided displacements (phono3py's ``plus_minus: auto``), without and with the forces of
    the undisplaced supercell subtracted: what the residual forces of an unconstrained model do to fc3 and kappa.
``fast_raw``
    The fast protocol with every restoration step off but FixSymmetry: the anisotropy of kappa without them.
``fast_smearing``
    The fast protocol with a Gaussian of 0.1 THz instead of the tetrahedron method.

Writes ``benchmarks/results/kappa-silicon-cpu.json`` and ``docs/_static/kappa-silicon.png``.
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

import aiida_unconmlip
from aiida_unconmlip.engine.restoration import RESTORATION_OFF
from aiida_unconmlip.models import default_model_name
from aiida_unconmlip.models.importing import shipped_model_node
from aiida_unconmlip.plotting import plot_conductivity
from aiida_unconmlip.workflows.thermal_conductivity import ThermalConductivityWorkChain

REPO = Path(aiida_unconmlip.__file__).resolve().parent.parent  # `verdi run` does not set __file__ to this script
CASES = {
    'fast': ('fast', {}),
    'fast_one_sided': ('fast', {'displacements': {'plus_minus': 'auto'}}),
    'fast_one_sided_subtracted': (
        'fast',
        {'displacements': {'plus_minus': 'auto', 'subtract_residual_forces': True}},
    ),
    'fast_raw': ('fast', {'restoration': {**RESTORATION_OFF, 'fix_symmetry': True}}),
    'fast_smearing': ('fast', {'conductivity': {'smearing_thz': 0.1}}),
    'moderate': ('moderate', {}),
}


def cpu_name() -> str:
    info = Path('/proc/cpuinfo')
    names = [line.split(':', 1)[1].strip() for line in info.read_text().splitlines() if line.startswith('model name')]
    return names[0] if names else platform.machine()


def run_case(code, model, protocol: str, overrides: dict) -> dict:
    builder = ThermalConductivityWorkChain.get_builder_from_protocol(
        code, StructureData(ase=bulk('Si', 'diamond', a=5.475)), model, protocol=protocol, overrides=overrides
    )
    start = time.perf_counter()
    results, node = run_get_node(builder)
    seconds = time.perf_counter() - start
    if not node.is_finished_ok:
        raise SystemExit(f'ThermalConductivityWorkChain<{node.pk}> failed: {node.exit_message}')
    temperatures, kappa = results['kappa'].get_array('temperatures'), results['kappa'].get_array('kappa')
    at_300 = kappa[int(np.abs(temperatures - 300).argmin())]
    diagonal = at_300[:3]
    job = next(c for c in node.called_descendants if c.process_label == 'Phono3pyCalculation')
    records = job.outputs.restoration_steps if 'restoration_steps' in job.outputs else {}
    return {
        'pk': node.pk,
        'wall_seconds': seconds,
        'supercells': sum(int(value) for value in results['diagnostics']['displacements'].values()),
        'phono3py_job_seconds': (job.mtime - job.ctime).total_seconds(),
        'layout': results['diagnostics']['displacements'],
        'mesh': results['diagnostics']['mesh'],
        'lattice_constant_angstrom': float(results['structure'].get_ase().cell.lengths()[0]),
        'kappa_300K': at_300.tolist(),
        'anisotropy_300K': float((diagonal.max() - diagonal.min()) / diagonal.mean()),
        'off_diagonal_300K': float(np.abs(at_300[3:]).max() / diagonal.mean()),
        'kappa_T': {f'{t:g}': float(k[:3].mean()) for t, k in zip(temperatures, kappa, strict=True)},
        'force_constant_symmetrization': records['force_constant_symmetrization']['effect'] if records else None,
        'imaginary_modes': results['diagnostics']['imaginary_modes'],
        'results': results,
    }


def main() -> None:
    model = shipped_model_node(sys.argv[1] if len(sys.argv) > 1 else None)
    # Another shipped model than the default (a candidate) writes files of its own.
    suffix = '' if model.model_name == default_model_name() else f'-{model.model_name}'
    code = load_code('unconmlip-engine@localhost')
    runs = {name: run_case(code, model, protocol, overrides) for name, (protocol, overrides) in CASES.items()}
    moderate = runs['moderate'].pop('results')
    for run in runs.values():
        run.pop('results', None)
    plot_conductivity(
        moderate['kappa'],
        moderate['cumulative_kappa'],
        REPO / 'docs' / '_static' / f'kappa-silicon{suffix}.png',
        f'Si — {model.model_name} (moderate protocol)',
    )
    payload = {
        'model': {'name': model.model_name, 'sha256': model.sha256},
        'runs': runs,
        'machine': {'cpu': cpu_name(), 'cores': os.cpu_count()},
        'torch_threads': torch.get_num_threads(),
    }
    output = REPO / 'benchmarks' / 'results' / f'kappa-silicon{suffix}-cpu.json'
    output.write_text(json.dumps(payload, indent=2) + '\n')
    print(json.dumps(runs, indent=2))


main()
