"""Batched evaluation of N small supercells against N separate calls, side by side in one run.

Usage: ``python benchmarks/batched_vs_single.py [--model PET.pt] [--structures 64] [--device auto]``.
Without ``--model`` the embedded default PET is used.
Writes ``benchmarks/results/batched_vs_single-<device>.json`` and prints the ratio.
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import numpy as np
import torch
from ase.build import bulk
from timing import best_of

from aiida_unconmlip.engine import Restoration, evaluate_structures, load_potential
from aiida_unconmlip.models import default_model_name, shipped_model

REPO = Path(__file__).resolve().parent.parent


def rattled_cells(count: int) -> list:
    cells = []
    for seed in range(count):
        atoms = bulk('Si', cubic=True)
        atoms.rattle(0.03, seed=seed)
        cells.append(atoms)
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--model', type=Path)
    parser.add_argument('--structures', type=int, default=64)
    parser.add_argument('--device', default='auto')
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()

    model = args.model or shipped_model(default_model_name()).path
    potential = load_potential(model, 'metatomic', device=args.device, dtype='float64')
    cells = rattled_cells(args.structures)
    atoms_total = sum(len(atoms) for atoms in cells)

    def batched():
        return evaluate_structures(potential, cells, Restoration(), max_atoms_per_batch=atoms_total)

    def one_by_one():
        return [evaluate_structures(potential, [atoms], Restoration()) for atoms in cells]

    batched(), one_by_one()  # warm-up (TorchScript profiling runs)
    np.testing.assert_allclose(batched().energies, [r.energies[0] for r in one_by_one()], rtol=1e-10)
    batched_seconds = best_of(args.repeats, batched)
    single_seconds = best_of(args.repeats, one_by_one)
    result = {
        'structures': args.structures,
        'atoms_per_structure': len(cells[0]),
        'device': potential.device,
        'torch_threads': torch.get_num_threads(),
        'machine': f'{platform.machine()} {platform.processor() or ""}'.strip(),
        'accelerator': torch.cuda.get_device_name(potential.device) if potential.device.startswith('cuda') else None,
        'batched_seconds': batched_seconds,
        'one_by_one_seconds': single_seconds,
        'speedup': single_seconds / batched_seconds,
    }
    output = REPO / 'benchmarks' / 'results' / f'batched_vs_single-{potential.device}.json'
    output.write_text(json.dumps(result, indent=2) + '\n')
    print(json.dumps(result, indent=2))


if __name__ == '__main__':
    main()
