"""Time per structure against the atom budget of one forward call, for small and phonon-sized Si cells, side by side.

Usage: ``python benchmarks/batch_size.py [--device auto] [--repeats 3]``. Uses the embedded default PET in float64.
Writes ``benchmarks/results/batch_size-<device>.json``; the budget with the lowest time per structure over the
sizes is what :data:`aiida_unconmlip.engine.batching.ATOMS_PER_BATCH` holds for that device.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from ase.build import bulk

from aiida_unconmlip.engine import Restoration, evaluate_structures, load_potential
from aiida_unconmlip.models import default_model_name, shipped_model

REPO = Path(__file__).resolve().parent.parent
CASES = {8: (1, 64), 64: (2, 16), 216: (3, 8)}  # atoms: (repetitions of the 8-atom cell, number of structures)
BUDGETS = (1, 128, 256, 512, 1024, 2048, 4096)


def rattled(repeat: int, count: int) -> list:
    cells = []
    for seed in range(count):
        atoms = bulk('Si', cubic=True).repeat(repeat)
        atoms.rattle(0.02, seed=seed)
        cells.append(atoms)
    return cells


def seconds_per_structure(potential, cells, budget: int, repeats: int) -> float:
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        evaluate_structures(potential, cells, Restoration(), max_atoms_per_batch=budget)
        best = min(best, time.perf_counter() - start)
    return best / len(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--device', default='auto')
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()
    model = shipped_model(default_model_name())
    potential = load_potential(model.path, 'metatomic', model.sha256, device=args.device, dtype='float64')
    rows = {}
    for atoms, (repeat, count) in CASES.items():
        cells = rattled(repeat, count)
        evaluate_structures(potential, cells, Restoration(), max_atoms_per_batch=1)  # warm-up
        rows[atoms] = {budget: seconds_per_structure(potential, cells, budget, args.repeats) for budget in BUDGETS}
        print(atoms, {budget: f'{seconds * 1e3:.1f} ms' for budget, seconds in rows[atoms].items()})
    best = {atoms: min(times, key=times.get) for atoms, times in rows.items()}
    result = {
        'device': potential.device,
        'accelerator': torch.cuda.get_device_name(potential.device) if potential.device.startswith('cuda') else None,
        'machine': f'{platform.machine()} {platform.processor() or ""}'.strip(),
        'torch_threads': torch.get_num_threads(),
        'seconds_per_structure': {str(atoms): {str(b): s for b, s in times.items()} for atoms, times in rows.items()},
        'best_budget_per_size': {str(atoms): budget for atoms, budget in best.items()},
    }
    output = REPO / 'benchmarks' / 'results' / f'batch_size-{potential.device.split(":")[0]}.json'
    output.write_text(json.dumps(result, indent=2) + '\n')
    print(json.dumps(result['best_budget_per_size']))


if __name__ == '__main__':
    main()
