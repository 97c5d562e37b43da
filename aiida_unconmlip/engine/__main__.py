"""``unconmlip-engine FOLDER``: run the job in FOLDER on this node and write results (or error.json) there."""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path

from .errors import EngineCrash, EngineError
from .evaluate import evaluate_structures
from .io import Job, read_job, read_spec, write_error, write_relax_results, write_results
from .potentials import Potential, load_potential
from .relax import relax_structures

EXIT_ENGINE_ERROR = 2
EXIT_CRASH = 1


def run_job(folder: str | Path) -> None:
    """Read the job in ``folder``, run it, write its results there."""
    spec = read_spec(folder)
    if spec['task'] == 'phonopy':
        from .phonopy_task import run_phonopy_job

        run_phonopy_job(folder, spec)
        return
    job = read_job(folder, spec)
    potential = load_potential(
        job.model.path, job.model.backend, job.model.sha256, device=job.settings.device, dtype=job.settings.dtype
    )
    if job.task == 'relax':
        run_relaxation(folder, job, potential)
    else:
        result = evaluate_structures(potential, job.structures, job.restoration, job.settings.max_atoms_per_batch)
        write_results(folder, result, asdict(potential.description))


def run_relaxation(folder: str | Path, job: Job, potential: Potential) -> None:
    start = time.perf_counter()
    results, records = relax_structures(
        potential, job.structures, job.restoration, job.fix_symmetry, job.relax, job.settings.max_atoms_per_batch
    )
    timing = {
        'wall_seconds': time.perf_counter() - start,
        'device': potential.device,
        'structures': len(results),
        'steps': sum(r.steps for r in results),
    }
    write_relax_results(folder, results, records, timing, asdict(potential.description))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='unconmlip-engine', description=__doc__)
    parser.add_argument('folder', nargs='?', default='.', help='input folder with job.json (default: here)')
    folder = parser.parse_args(argv).folder
    try:
        run_job(folder)
    except EngineError as exc:
        write_error(folder, exc.code, str(exc))
        print(f'unconmlip-engine: {exc.code}: {exc}', file=sys.stderr)
        return EXIT_ENGINE_ERROR
    except Exception as exc:
        write_error(folder, EngineCrash.code, f'{type(exc).__name__}: {exc}\n{traceback.format_exc()}')
        traceback.print_exc()
        return EXIT_CRASH
    return 0


if __name__ == '__main__':
    sys.exit(main())
