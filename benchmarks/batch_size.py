"""Time per structure against the atom budget of one forward call, for small and phonon-sized Si cells, with calls
one at a time (all threads each) and side by side (the engine's default on the CPU: as many calls as cores, each on
its own copy of the model), and with the budget the engine measures itself (``tuned``).

Usage: ``python benchmarks/batch_size.py [--device auto] [--repeats 3]``. Uses the embedded default PET in float64.
Writes ``benchmarks/results/batch_size-<device>.json``: where the time per structure has its minimum for each size
is what :class:`aiida_unconmlip.engine.batching.BudgetTuner` looks for in a job.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from ase.build import bulk

from aiida_unconmlip.engine import Restoration, evaluate, evaluate_structures, load_potential
from aiida_unconmlip.models import default_model_name, shipped_model

REPO = Path(__file__).resolve().parent.parent
CASES = {8: (1, 128), 64: (2, 32), 216: (3, 16)}  # atoms: (repetitions of the 8-atom cell, number of structures)
BUDGETS = (1, 128, 256, 512, 1024, 2048, 4096, None)  # None: the budget the engine measures (tuned)


def rattled(repeat: int, count: int) -> list:
    cells = []
    for seed in range(count):
        atoms = bulk('Si', cubic=True).repeat(repeat)
        atoms.rattle(0.02, seed=seed)
        cells.append(atoms)
    return cells


def seconds_per_structure(potential, cells, budget: int | None, repeats: int) -> float:
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
    side_by_side = potential.max_concurrent_calls
    evaluate.EVALUATIONS_PER_CONCURRENT_CALL = 1  # side by side at every size measured here
    modes = {'one_at_a_time': 1, 'side_by_side': side_by_side}
    rows: dict[str, dict] = {mode: {} for mode in modes}
    for atoms, (repeat, count) in CASES.items():
        cells = rattled(repeat, count)
        for mode in modes:
            rows[mode][atoms] = {}
        for budget in BUDGETS:
            for mode, calls in modes.items():  # alternating, so that the machine's slow minutes hit both
                potential.max_concurrent_calls = calls
                evaluate_structures(potential, cells[:calls], Restoration(), max_atoms_per_batch=1)  # copies warm
                rows[mode][atoms][budget] = seconds_per_structure(potential, cells, budget, args.repeats)
        for mode in modes:
            print(mode, atoms, {str(b): f'{seconds * 1e3:.1f} ms' for b, seconds in rows[mode][atoms].items()})
    result = {
        'device': potential.device,
        'accelerator': torch.cuda.get_device_name(potential.device) if potential.device.startswith('cuda') else None,
        'machine': f'{platform.machine()} {platform.processor() or ""}'.strip(),
        'torch_threads': torch.get_num_threads(),
        'side_by_side_calls': side_by_side,
        'seconds_per_structure': {
            mode: {str(atoms): {str(b or 'tuned'): s for b, s in times.items()} for atoms, times in sizes.items()}
            for mode, sizes in rows.items()
        },
        'best_budget_per_size': {
            mode: {str(atoms): min(times, key=times.get) for atoms, times in sizes.items()}
            for mode, sizes in rows.items()
        },
    }
    output = REPO / 'benchmarks' / 'results' / f'batch_size-{potential.device.split(":")[0]}.json'
    output.write_text(json.dumps(result, indent=2) + '\n')
    print(json.dumps(result['best_budget_per_size']))


if __name__ == '__main__':
    main()
