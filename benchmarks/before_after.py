"""A change against the code before it: ``make bench``'s whole-command cases at two revisions, interleaved.

On a shared 2-core machine two ``make bench`` runs back to back differ by 15-30 % in the same ratio, more than most
changes do. Here every repeat of a case runs the revision before, this one and the plain script right after each
other, each revision as a user's first run (no warm engine process) and again, so a slow minute slows all three.
The result is the median over repeats of each revision's ratio to the plain script of its own repeat, and the
median of after / before. Then the engine alone, each revision in a process of its own, alternating, best of three
processes: seconds per structure of the per-structure, 512-atom and rotational-average cases.

Usage: ``python benchmarks/before_after.py --before DIR [--repeats 5] [--cases main,kappa]``, where ``DIR`` is a
checkout of the earlier revision with its own environment (``git worktree add DIR REV && make -C DIR install``).
Prints a table and writes ``benchmarks/results/before-after-<device>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from phonon_bench import REPO, ours_commands, plain_commands, user_environment, wall

from aiida_unconmlip.models import default_model_name, shipped_model

ENGINE_REPEATS = 3
STOP_WARM = 'from aiida_unconmlip.engine.warm import stop_warm_engines; stop_warm_engines()'


def stop_warm(bin_dir: Path, env: dict) -> None:
    """Each revision stops its own warm engine processes (it knows its own server's name)."""
    subprocess.run([bin_dir / 'python', '-P', '-c', STOP_WARM], env=env, check=True, capture_output=True)


ENGINE_TIMING = """
import json, sys
sys.path.insert(0, {benchmarks!r})
from ase.build import bulk
from phonon_bench import PER_STRUCTURE_CASES, displaced_cells, random_supercells
from timing import best_of
from aiida_unconmlip.engine import Restoration, evaluate_structures, load_potential
from aiida_unconmlip.models import default_model_name, shipped_model
model = shipped_model(default_model_name())
potential = load_potential(model.path, 'metatomic', model.sha256, device='cpu', dtype='float64')
cases = {{f'per_structure_{{atoms}}': (displaced_cells(*shape), None) for atoms, shape in PER_STRUCTURE_CASES.items()}}
cases['supercell_512'] = ([bulk('Si', 'diamond', a=5.431, cubic=True).repeat(4)], None)
cases['rotational_average'] = (random_supercells(1), Restoration(l_max=3, inversion=True))
evaluate_structures(potential, cases['per_structure_8'][0])  # warm-up: the model's first calls
seconds = {{}}
for name, (cells, restoration) in cases.items():
    call = lambda: evaluate_structures(potential, cells, *([restoration] if restoration else []))
    seconds[name] = best_of(1 if restoration else 2, call) / len(cells)  # the average is 84 calls in one
print(json.dumps(seconds))
"""


def engine_seconds(bin_dir: Path) -> dict[str, float]:
    """The engine alone of one revision, in a process of its own: seconds per structure of ``make bench``'s
    per-structure, 512-atom and rotational-average cases (the plain side is the same code at both revisions)."""
    script = ENGINE_TIMING.format(benchmarks=str(REPO / 'benchmarks'))
    result = subprocess.run([bin_dir / 'python', '-P', '-c', script], check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--before', type=Path, required=True, help='checkout of the earlier revision, with .venv')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--cases', default='main,main_no_relax,random_40,kappa,random_100_si64')
    args = parser.parse_args()
    device = 'cpu'
    model = shipped_model(default_model_name())
    revisions = {'before': args.before.resolve() / '.venv' / 'bin', 'after': Path(sys.executable).parent}
    environments = {
        name: user_environment(Path(tempfile.mkdtemp(prefix=f'unconmlip-{name}-')), bin_dir)
        for name, bin_dir in revisions.items()
    }
    plain = plain_commands(device, model.path)
    cases = args.cases.split(',')
    seconds = {case: {'before': [], 'before_again': [], 'after': [], 'after_again': [], 'plain': []} for case in cases}
    for repeat in range(args.repeats):
        for case in cases:
            for name, bin_dir in revisions.items():
                stop_warm(bin_dir, environments[name])
                command = ours_commands(bin_dir)[case]
                seconds[case][name].append(wall(command, environments[name])[0])
                seconds[case][f'{name}_again'].append(wall(command, environments[name])[0])
            seconds[case]['plain'].append(wall(plain[case], environments['after'])[0])
            print(f'repeat {repeat + 1}, {case}: ' + ', '.join(f'{k} {v[-1]:.2f} s' for k, v in seconds[case].items()))
    for bin_dir, env in zip(revisions.values(), environments.values(), strict=True):
        stop_warm(bin_dir, env)
    engine = {name: [] for name in revisions}
    for _ in range(ENGINE_REPEATS):
        for name, bin_dir in revisions.items():
            engine[name].append(engine_seconds(bin_dir))
    engine_rows = {
        case: {name: min(run[case] for run in runs) for name, runs in engine.items()} for case in engine['after'][0]
    }

    rows = {}
    for case, runs in seconds.items():
        ratios = {
            column: statistics.median(t / p for t, p in zip(runs[column], runs['plain'], strict=True))
            for column in ('before', 'before_again', 'after', 'after_again')
        }
        rows[case] = {
            'seconds': {column: statistics.median(values) for column, values in runs.items()},
            'over_plain': ratios,
            'after_over_before': statistics.median(a / b for a, b in zip(runs['after'], runs['before'], strict=True)),
            'after_again_over_before_again': statistics.median(
                a / b for a, b in zip(runs['after_again'], runs['before_again'], strict=True)
            ),
        }
    lines = [
        '| case | before / plain | after / plain | again: before / plain | again: after / plain '
        '| after / before | again: after / before |',
        '|---|---|---|---|---|---|---|',
    ]
    for case, row in rows.items():
        ratios = row['over_plain']
        lines.append(
            f'| {case} | {ratios["before"]:.2f} | {ratios["after"]:.2f} | {ratios["before_again"]:.2f} '
            f'| {ratios["after_again"]:.2f} | {row["after_over_before"]:.2f} '
            f'| {row["after_again_over_before_again"]:.2f} |'
        )
    lines += ['', '| engine case | before (s per structure) | after | after / before |', '|---|---|---|---|']
    for case, row in engine_rows.items():
        lines.append(f'| {case} | {row["before"]:.4g} | {row["after"]:.4g} | {row["after"] / row["before"]:.2f} |')
    print('\n'.join(lines))
    result = {
        'before': str(args.before),
        'repeats': args.repeats,
        'machine': {'cores': os.cpu_count(), 'device': device},
        'cases': rows,
        'engine_seconds_per_structure': engine_rows,
        'raw_seconds': seconds,
    }
    (REPO / 'benchmarks' / 'results' / f'before-after-{device}.json').write_text(json.dumps(result, indent=2) + '\n')


if __name__ == '__main__':
    main()
