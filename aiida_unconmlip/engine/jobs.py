"""Run the job of one input folder: the tasks, and the exit status and error record of each way a job can fail.

Both ways of starting the engine use it: a new process per job (``unconmlip-engine FOLDER``) and the warm engine
process kept between the jobs of a machine without a queue (:mod:`aiida_unconmlip.engine.warm`).
"""

from __future__ import annotations

import itertools
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from ..timing import PhaseClock
from .errors import EXIT_CRASH, EXIT_ENGINE_ERROR, EngineCrash, EngineError
from .evaluate import evaluate_structures, inference_records
from .io import (
    Job,
    read_job,
    read_spec,
    remove_partial,
    write_error,
    write_partial,
    write_relax_results,
    write_results,
)
from .potentials import Potential, load_potential
from .relax import relax_structures
from .rotations import rotation_quadrature

PotentialLoader = Callable[..., Potential]


def run_job(folder: str | Path, load: PotentialLoader = load_potential) -> None:
    """Read the job in ``folder``, run it, write its results there; ``load`` turns the job's model into a potential."""
    spec = read_spec(folder)
    if spec['task'] == 'phonopy':
        from .phonopy_task import run_phonopy_job

        run_phonopy_job(folder, spec)
        return
    if spec['task'] == 'phono3py':
        from .phono3py_task import run_phono3py_job

        run_phono3py_job(folder, spec)
        return
    phases = PhaseClock()
    with phases('read'):
        job = read_job(folder, spec)
    with phases('model_load'):
        potential = load(
            job.model.path, job.model.backend, job.model.sha256, device=job.settings.device, dtype=job.settings.dtype
        )
    if job.task == 'relax':
        run_relaxation(folder, job, potential, phases)
    else:
        run_evaluation(folder, job, potential, phases)


def run_folder(folder: str | Path, load: PotentialLoader = load_potential) -> int:
    """Run the job in ``folder`` and return the engine's exit status; a failure leaves error.json there."""
    try:
        run_job(folder, load)
    except EngineError as exc:
        write_error(folder, exc.code, str(exc))
        print(f'unconmlip-engine: {exc.code}: {exc}', file=sys.stderr)
        return EXIT_ENGINE_ERROR
    except Exception as exc:
        write_error(folder, EngineCrash.code, f'{type(exc).__name__}: {exc}\n{traceback.format_exc()}')
        traceback.print_exc()
        return EXIT_CRASH
    return 0


def run_evaluation(folder: str | Path, job: Job, potential: Potential, phases: PhaseClock) -> None:
    """Evaluate the job's structures, keeping each batch's finished structures on disk as it goes."""
    start, parts, done = time.perf_counter(), itertools.count(), [0]
    quadrature = rotation_quadrature(job.restoration.l_max, job.restoration.inversion)

    def keep(finished: list) -> None:
        with phases('keep_partial'):
            write_partial(
                folder, next(parts), finished, inference_records(potential, job.restoration, quadrature, finished)
            )
        done[0] += len(finished)
        print(f'[{time.perf_counter() - start:8.1f} s] {done[0]}/{len(job.structures)} structures done', flush=True)

    result = evaluate_structures(
        potential, job.structures, job.restoration, job.settings.max_atoms_per_batch, on_finished=keep
    )
    result.timing['job_phase_seconds'] = phases.seconds
    write_results(folder, result, asdict(potential.description))
    remove_partial(folder)


def run_relaxation(folder: str | Path, job: Job, potential: Potential, phases: PhaseClock) -> None:
    start = time.perf_counter()
    model_phases = dict(potential.phase_seconds)
    with phases('relaxation'):
        results, records = relax_structures(
            potential, job.structures, job.restoration, job.fix_symmetry, job.relax, job.settings.max_atoms_per_batch
        )
    timing = {
        'wall_seconds': time.perf_counter() - start,
        'device': potential.device,
        'structures': len(results),
        'steps': sum(r.steps for r in results),
        'job_phase_seconds': phases.seconds,
        'model_phase_seconds': {
            name: seconds - model_phases.get(name, 0.0) for name, seconds in potential.phase_seconds.items()
        },
    }
    write_relax_results(folder, results, records, timing, asdict(potential.description))
