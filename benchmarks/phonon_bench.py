"""``make bench``: ours against the floor, a plain script and one CalcJob per supercell, side by side in one run.

The default PET in float64, on the CPU (a GPU column is added when one is visible). Cases:

``main``, ``main_no_relax``
    The main job: ``aiida-unconmlip phonons si.cif`` (moderate protocol; ``--no-relax``) as a whole process, against
    ``plain_phonons.py`` (ASE + phonopy + metatomic's ASE calculator) as a whole process, and the floor: the same
    relaxation and supercell forces in one warm engine process. *ours* starts with no warm engine process (as a
    user's first run), *ours, again* right after it, with the warm engine process the first run left.
``random_40``
    40 random-displacement 216-atom supercells with symfc, no relaxation: ours (``--random-displacements 20``), the
    plain script, the floor (the engine evaluating the 40 supercells, warm), and one evaluate CalcJob per supercell:
    each in a process of its own (a code without a warm engine process, as on a cluster), and on the warm code.
``kappa``
    The conductivity job: ``aiida-unconmlip kappa si.cif --supercell 2 2 2 --fc2-supercell 2 2 2 --mesh 11 11 11``
    (relaxation, 224 displaced 64-atom supercells, fc2 and fc3, RTA) against ``plain_kappa.py`` (ASE + phono3py +
    metatomic's ASE calculator, one supercell at a time). Also the model's seconds per supercell: ours' evaluate job
    (``model_seconds`` of its timing) against the plain script's loop of calculator calls.
``random_100_si64``
    100 random-displacement 64-atom supercells with symfc, no relaxation (``--supercell 2 2 2
    --random-displacements 50``), against the plain script with the same supercells.
``rotational_average``
    One 216-atom supercell averaged over the l_max 3 quadrature with inversion (84 rotations): the engine against
    metatomic-ase's ``SymmetrizedCalculator``, both warm.
``supercell_64``, ``supercell_512``
    One evaluation of a rattled supercell: the engine against metatomic's ASE calculator, both warm.
``per_structure_8``, ``per_structure_64``, ``per_structure_216``
    Many displaced cells of one size (256, 64 and 16 of them): the engine (its own budget and calls side by side)
    against one call per structure of metatomic's ASE calculator, both warm; seconds per structure.

*ours' force jobs / floor* compares the engine's own seconds in ours' relax and evaluate jobs (``timings.jobs`` of
``--json``, first and again runs) with the floor: how close the engine, inside a run, comes to the same work done in
one warm process. The last column is the work chain's own overhead: its wall time less the wall time the engine
reports for its CalcJobs (``timings.overhead_seconds`` of ``--json``), so what AiiDA's processes, storage and
scheduling and the calcfunction steps add to the engine's work.

Usage: ``python benchmarks/phonon_bench.py [--repeats 3] [--skip-per-supercell] [--cases kappa,...]``. Writes
``benchmarks/results/bench-<device>.json`` and ``bench-<device>.md`` with the medians, the ratios and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from ase.build import bulk
from timing import best_of

from aiida_unconmlip.engine import Restoration, evaluate_structures, load_potential
from aiida_unconmlip.engine.relax import relax_structures
from aiida_unconmlip.engine.relax_parameters import parse_relax_parameters
from aiida_unconmlip.engine.warm import stop_warm_engines
from aiida_unconmlip.models import default_model_name, shipped_model

REPO = Path(__file__).resolve().parent.parent
PER_SUPERCELL_COLUMNS = ('per_supercell_calcjobs', 'per_supercell_calcjobs_warm')
BIN = Path(sys.executable).parent
SI_CIF = REPO / 'docs' / 'examples' / 'si.cif'
FORCE_JOBS = ('RelaxCalculation', 'EvaluateCalculation')
KAPPA_OPTIONS = ('--supercell', '2', '2', '2', '--fc2-supercell', '2', '2', '2', '--mesh', '11', '11', '11')


def wall(command: list, env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f'{command} failed:\n{result.stdout}\n{result.stderr}')
    return seconds, result.stdout


def work_chain_overhead(summary_json: str) -> float:
    """Seconds of the work chain beyond its CalcJobs' engine time, from the run's ``--json`` timings."""
    return json.loads(summary_json)['timings']['overhead_seconds']


def force_jobs_seconds(summary_json: str) -> float:
    """The engine's seconds in the run's relax and evaluate jobs: the work the floor measures, done inside ours."""
    jobs = json.loads(summary_json)['timings']['jobs']
    return sum(job['wall_seconds'] for job in jobs if job['process'] in FORCE_JOBS)


def model_seconds_per_supercell(ours: list, plain: list) -> dict[str, float]:
    """The model's seconds per supercell: ours' evaluate job (its ``model_seconds``) and the plain script's loop."""
    evaluate = [json.loads(output)['timings']['evaluate'] for _, output in ours]
    engine = [sum(job['model_seconds'] for job in jobs) / sum(job['structures'] for job in jobs) for jobs in evaluate]
    loop = [json.loads(output)['seconds']['forces'] / json.loads(output)['supercells'] for _, output in plain]
    return {'model_per_supercell': statistics.median(engine), 'plain_model_per_supercell': statistics.median(loop)}


def random_supercells(count: int) -> list:
    """``count`` 216-atom diamond supercells with every atom displaced by 0.01 A in a random direction."""
    rng = np.random.default_rng(0)
    cells = []
    for _ in range(count):
        atoms = bulk('Si', 'diamond', a=5.431, cubic=True).repeat(3)
        directions = rng.normal(size=(len(atoms), 3))
        atoms.positions += 0.01 * directions / np.linalg.norm(directions, axis=1)[:, None]
        cells.append(atoms)
    return cells


PER_SUPERCELL = """
import sys, time
from aiida import load_profile
load_profile()
from aiida.engine import run_get_node
from aiida.orm import Dict, InstalledCode, StructureData, load_code
sys.path.insert(0, {bench!r})
from phonon_bench import random_supercells
from aiida_unconmlip.calcjobs.evaluate import EvaluateCalculation
from aiida_unconmlip.models.resolve import resolve_model
code, model = load_code('unconmlip-engine@localhost'), resolve_model('pet-si-pbe')
if {cold!r}:  # the same engine, each job in a process of its own
    code = InstalledCode(computer=code.computer, filepath_executable=str(code.filepath_executable),
                         label='unconmlip-engine-cold').store()
start = time.perf_counter()
for atoms in random_supercells(40):
    _, node = run_get_node(EvaluateCalculation, code=code, model=model, structures=StructureData(ase=atoms),
                           settings=Dict({{'dtype': 'float64'}}))
    assert node.is_finished_ok, node.exit_message
print(time.perf_counter() - start)
"""


def floors(potential, repeats: int) -> dict[str, float]:
    """The engine's own work of each case in this warm process (s)."""
    relax = parse_relax_parameters(None)
    restoration = Restoration()
    displaced = random_supercells(2)
    forty = random_supercells(40)
    return {
        'main': best_of(
            repeats,
            lambda: (
                relax_structures(potential, [bulk('Si', 'diamond', a=5.431)], restoration, True, relax, None),
                evaluate_structures(potential, displaced),
            ),
        ),
        'main_no_relax': best_of(repeats, lambda: evaluate_structures(potential, displaced)),
        'random_40': best_of(repeats, lambda: evaluate_structures(potential, forty)),
    }


def model_calls(potential, path: Path, repeats: int) -> dict[str, dict[str, float]]:
    """The engine against metatomic's ASE calculators on one structure, both warm (s)."""
    sys.path.insert(0, str(REPO / 'benchmarks'))
    from metatomic_ase import MetatomicCalculator, SymmetrizedCalculator
    from plain_phonons import float64_model

    calculator = MetatomicCalculator(float64_model(path), device=potential.device)
    symmetrized = SymmetrizedCalculator(calculator, l_max=3, include_inversion=True)
    rows = {}
    cases = {
        'rotational_average': (random_supercells(1)[0], Restoration(l_max=3, inversion=True), symmetrized),
        'supercell_64': (bulk('Si', 'diamond', a=5.431, cubic=True).repeat(2), Restoration(), calculator),
        'supercell_512': (bulk('Si', 'diamond', a=5.431, cubic=True).repeat(4), Restoration(), calculator),
    }
    for name, (atoms, restoration, ase_calculator) in cases.items():
        atoms.rattle(0.01, seed=1)

        def ase_call(atoms=atoms, ase_calculator=ase_calculator):
            ase_calculator.reset()  # no cached result: every call evaluates
            copy = atoms.copy()
            copy.calc = ase_calculator
            return copy.get_forces()

        def ours(atoms=atoms, restoration=restoration):
            return evaluate_structures(potential, [atoms], restoration)

        ours(), ase_call()  # warm-up
        np.testing.assert_allclose(ours().forces[0], ase_call(), atol=1e-6)
        calls = repeats if name == 'rotational_average' else 10 * repeats  # a 0.05 s call is at the noise's mercy
        rows[name] = {'ours': best_of(calls, ours), 'plain': best_of(calls, ase_call)}
    return rows


PER_STRUCTURE_CASES = {8: (1, 256), 64: (2, 64), 216: (3, 16)}  # atoms: (repetitions of the cubic cell, cells)


def displaced_cells(repetitions: int, count: int) -> list:
    """``count`` diamond supercells, each with one atom displaced by 0.03 A, as a displacement set has them."""
    cells = []
    for index in range(count):
        atoms = bulk('Si', 'diamond', a=5.431, cubic=True).repeat(repetitions)
        atoms.positions[index % len(atoms)] += [0.03, 0.0, 0.0]
        cells.append(atoms)
    return cells


def per_structure(potential, path: Path, repeats: int) -> dict[str, dict[str, float]]:
    """Seconds per structure over many cells of one size: the engine as a job runs it (its own budget, calls side by
    side) against one call per structure of metatomic's ASE calculator, both warm."""
    sys.path.insert(0, str(REPO / 'benchmarks'))
    from metatomic_ase import MetatomicCalculator
    from plain_phonons import float64_model

    calculator = MetatomicCalculator(float64_model(path), device=potential.device)
    rows = {}
    for atoms_count, (repetitions, count) in PER_STRUCTURE_CASES.items():
        cells = displaced_cells(repetitions, count)

        def plain_loop(cells=cells):
            for atoms in cells:
                calculator.reset()
                copy = atoms.copy()
                copy.calc = calculator
                copy.get_forces()

        def ours(cells=cells):
            return evaluate_structures(potential, cells)

        ours(), plain_loop()  # warm-up: copies of the model loaded, budget measured
        rows[f'per_structure_{atoms_count}'] = {
            'ours': best_of(repeats, ours) / count,
            'plain': best_of(repeats, plain_loop) / count,
        }
    return rows


def ours_commands(bin_dir: Path) -> dict[str, list]:
    """The whole-command cases as a user runs them, with ``--json`` for the timings, from the install in ``bin_dir``."""
    command = bin_dir / 'aiida-unconmlip'
    commands = {
        'main': [command, 'phonons', SI_CIF],
        'main_no_relax': [command, 'phonons', SI_CIF, '--no-relax'],
        'random_40': [command, 'phonons', SI_CIF, '--no-relax', '--random-displacements', '20'],
        'kappa': [command, 'kappa', SI_CIF, *KAPPA_OPTIONS],
        'random_100_si64': [
            *(command, 'phonons', SI_CIF, '--no-relax', '--supercell', '2', '2', '2'),
            *('--random-displacements', '50'),
        ],
    }
    return {name: [*arguments, '--json'] for name, arguments in commands.items()}


def plain_commands(device: str, model_path: Path) -> dict[str, list]:
    """The plain scripts of the same cases (ASE + phonopy or phono3py + metatomic's ASE calculator)."""
    scripts = REPO / 'benchmarks'
    return {
        'main': [sys.executable, scripts / 'plain_phonons.py', '--device', device],
        'main_no_relax': [sys.executable, scripts / 'plain_phonons.py', '--no-relax', '--device', device],
        'random_40': [sys.executable, scripts / 'plain_phonons.py', '--no-relax', '--random', '20'],
        'kappa': [sys.executable, scripts / 'plain_kappa.py', model_path, '--structure', SI_CIF, '--device', device],
        'random_100_si64': [
            *(sys.executable, scripts / 'plain_phonons.py', '--no-relax'),
            *('--random', '50', '--supercell', '2', '--device', device),
        ],
    }


def user_environment(folder: Path, bin_dir: Path) -> dict[str, str]:
    """A fresh AiiDA profile in ``folder`` set up with the install in ``bin_dir``, as a user's environment."""
    env = {**os.environ, 'AIIDA_PATH': str(folder), 'PATH': f'{bin_dir}{os.pathsep}{os.environ["PATH"]}'}
    wall([bin_dir / 'aiida-unconmlip', 'setup'], env)
    return env


def format_seconds(value: float) -> str:
    """Seconds with two decimals, or three significant digits below 0.1 s (per-structure times)."""
    return f'{value:.2f}' if value >= 0.1 else f'{value:.3g}'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--skip-per-supercell', action='store_true', help='skip the 40 CalcJobs (minutes)')
    parser.add_argument('--cases', help='only these comma-separated whole-command cases (and no per-supercell jobs)')
    args = parser.parse_args()
    model = shipped_model(default_model_name())
    potential = load_potential(model.path, 'metatomic', model.sha256, device='auto', dtype='float64')
    device = potential.device.split(':')[0]

    env = user_environment(Path(tempfile.mkdtemp(prefix='unconmlip-bench-')), BIN)
    ours_by_case = ours_commands(BIN)
    plain_by_case = plain_commands(device, model.path)
    if args.cases:
        chosen = args.cases.split(',')
        ours_by_case = {name: command for name, command in ours_by_case.items() if name in chosen}
    rows: dict[str, dict[str, float]] = {}
    for name in ours_by_case:
        ours, again, plain = [], [], []
        for _ in range(args.repeats):  # paired runs, alternating
            stop_warm_engines()  # each first run starts as a user's first run of the day
            ours.append(wall(ours_by_case[name], env))
            again.append(wall(ours_by_case[name], env))
            plain.append(wall(plain_by_case[name], env))
        rows[name] = {
            'ours': statistics.median(seconds for seconds, _ in ours),
            'ours_again': statistics.median(seconds for seconds, _ in again),
            'plain': statistics.median(seconds for seconds, _ in plain),
            'overhead': statistics.median(work_chain_overhead(output) for _, output in ours),
            'overhead_again': statistics.median(work_chain_overhead(output) for _, output in again),
            'ours_force_jobs': statistics.median(force_jobs_seconds(output) for _, output in [*ours, *again]),
        }
        if name == 'kappa':
            rows[name].update(model_seconds_per_supercell([*ours, *again], plain))
    for name, seconds in floors(potential, args.repeats).items():
        if name in rows:
            rows[name]['floor'] = seconds
    if not args.skip_per_supercell and not args.cases:
        for column, cold in (('per_supercell_calcjobs', True), ('per_supercell_calcjobs_warm', False)):
            script = PER_SUPERCELL.format(bench=str(REPO / 'benchmarks'), cold=cold)
            rows['random_40'][column] = float(wall([sys.executable, '-c', script], env)[1].strip())
    stop_warm_engines()
    if not args.cases:
        rows.update(model_calls(potential, model.path, args.repeats))
        rows.update(per_structure(potential, model.path, args.repeats))

    result = {
        'machine': {
            'cpu': platform.processor() or platform.machine(),
            'cores': os.cpu_count(),
            'torch_threads': torch.get_num_threads(),
            'device': potential.device,
            'accelerator': torch.cuda.get_device_name(potential.device) if device == 'cuda' else None,
        },
        'seconds': rows,
        'ratios': {
            name: {
                f'{column}_over_{reference}': values[column] / values[reference]
                for column in ('ours', 'ours_again', 'ours_force_jobs', 'floor')
                for reference in ('plain', 'floor', 'per_supercell_calcjobs', 'per_supercell_calcjobs_warm')
                if column in values and reference in values and column != reference
            }
            for name, values in rows.items()
        },
    }
    results = REPO / 'benchmarks' / 'results'
    if not args.cases:  # a partial run is printed, not recorded
        (results / f'bench-{device}.json').write_text(json.dumps(result, indent=2) + '\n')
    lines = [
        f'Machine: {result["machine"]}',
        '',
        '| case | ours (s) | ours, again (s) | plain (s) | floor (s) '
        '| one CalcJob per supercell, own process / warm (s) | ours / plain | ours, again / plain | ours / floor '
        "| ours' force jobs / floor | work chain overhead, first / again (s) |",
        '|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    for name, values in rows.items():
        ratios = result['ratios'][name]
        columns = ('ours', 'ours_again', 'plain', 'floor')
        cells = [format_seconds(values[key]) if key in values else '' for key in columns]
        per_supercell = [f'{values[key]:.1f}' for key in PER_SUPERCELL_COLUMNS if key in values]
        cells.append(' / '.join(per_supercell))
        cells += [
            f'{ratios[key]:.2f}' if key in ratios else ''
            for key in ('ours_over_plain', 'ours_again_over_plain', 'ours_over_floor', 'ours_force_jobs_over_floor')
        ]
        cells.append(' / '.join(f'{values[key]:.2f}' for key in ('overhead', 'overhead_again') if key in values))
        lines.append(f'| {name} | {" | ".join(cells)} |')
    if 'model_per_supercell' in rows.get('kappa', {}):
        kappa = rows['kappa']
        lines += [
            '',
            f'kappa, the model per 64-atom supercell: ours {kappa["model_per_supercell"] * 1e3:.1f} ms (evaluate job), '
            f'plain {kappa["plain_model_per_supercell"] * 1e3:.1f} ms (calculator loop), '
            f'{kappa["model_per_supercell"] / kappa["plain_model_per_supercell"]:.2f}x',
        ]
    if not args.cases:
        (results / f'bench-{device}.md').write_text('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main()
