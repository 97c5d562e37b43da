"""The folder contract between the AiiDA side and the engine, task by task: the one interface the halves share.

Every job folder has a ``job.json`` whose ``task`` picks the section below; each section names the writer of its
input (called by its CalcJob), the reader the engine runs, and the parser that reads its output. A failed job of any
task leaves ``error.json`` (last section). Readers and writers of tasks evaluate and relax are in this module.

**Tasks evaluate and relax**

Input (:func:`write_job`, by the ``unconmlip.evaluate`` and ``unconmlip.relax`` CalcJobs, or by hand; read by
:func:`read_spec` and :func:`read_job`):

``job.json``
    ``{"task": "evaluate" | "relax",
    "model": {"backend": "metatomic" | "ase", "path": "model.pt", "sha256": "<hex>"},
    "restoration": {"forces_mode": "conservative" | "direct", "rotational_average": false | {"l_max": 3,
    "inversion": true}, "fix_symmetry": true | false (task relax only)},
    "settings": {"device": "auto" | "cpu" | "cuda", "dtype": "float32" | "float64" | null,
    "max_atoms_per_batch": null (the device's budget) | int},
    "relax": {...}}`` where ``relax`` (task relax only) holds
    :class:`~aiida_unconmlip.engine.relax_parameters.RelaxParameters`.
    A relative model path is relative to the folder; an absolute one is a file on the compute node.
``structures.npz`` (read with ``allow_pickle=False``)
    The structures, in order: ``numbers`` (total atoms,), ``positions`` (total atoms, 3) Angstrom, ``cells``
    (N, 3, 3) Angstrom, ``pbc`` (N, 3), ``atom_offsets`` (N + 1,). Binary float64, because text formats such as
    extxyz round positions to 1e-8 A, which shows in forces at the 1e-7 level.

Output, written into the same folder (:func:`write_results`, :func:`write_relax_results`, :func:`write_partial`;
read by :mod:`aiida_unconmlip.parsers.evaluate` and :mod:`aiida_unconmlip.parsers.relax`):

``results.npz`` (read with ``allow_pickle=False``)
    ``energies`` (N,) eV; ``forces`` (total atoms, 3) eV/A, structure i in rows
    ``atom_offsets[i]:atom_offsets[i+1]``; ``stresses`` (N, 3, 3) eV/A^3 with ASE's sign (NaN if not periodic).
    Task relax adds the final geometry: ``positions`` (total atoms, 3) and ``cells`` (N, 3, 3), Angstrom.
``trajectories.npz`` (task relax)
    For structure i: ``steps_i``, ``positions_i`` (frames, atoms, 3), ``cells_i``, ``energies_i``.
``report.json``
    ``{"restoration_steps": [{"name", "parameters", "effect"}, ...], "timing": {...}, "model": {...},
    "versions": {...}}`` (one record per restoration step applied, see :mod:`aiida_unconmlip.engine.restoration`),
    and for task relax
    ``"relaxation": [{"converged", "steps", "energy_ev", "space_group_input", "space_group_output", "seconds"},
    ...]``.
``partial/part_<k>.npz`` and ``partial/part_<k>.json`` (task evaluate, written as structures finish)
    The structures finished so far, batch after batch, so that a job stopped before the end (walltime, ``scancel``,
    a lost node) keeps them: ``indices`` (into the job's structures), ``energies``, ``forces`` with
    ``atom_offsets``, ``stresses`` as in ``results.npz``; the ``.json`` holds the restoration records of those
    structures. Each part is complete when it appears (written under another name, then renamed). A progress line
    per finished part goes to stdout. Removed once ``results.npz`` is written: it holds them all, and a finished job
    retrieves and stores no second copy.

**Task phonopy**

Written by :func:`~aiida_unconmlip.engine.phonopy_task.write_phonopy_job` (the ``unconmlip.phonopy`` CalcJob),
read by :func:`~aiida_unconmlip.engine.phonopy_task.phonon_request` and
:func:`~aiida_unconmlip.engine.force_set_job.read_setup_and_forces`; output parsed by
:mod:`aiida_unconmlip.parsers.phonopy`.

``phonopy``
    Input: ``job.json`` ``{"task": "phonopy", "phonopy": {"symprec", "method": "phonopy" | "symfc",
    "force_constant_symmetrization": true | "traditional" | false, "properties": {...}, "space_group": {"number",
    "symbol"}, "space_group_kept": bool | null}}`` (``properties`` as the phonon work chain's), ``phonopy_disp.yaml``
    (phonopy's setup with the displacements), ``forces.npz`` with ``forces`` (all atoms, 3) eV/A and
    ``atom_offsets`` (displacements + 1).
    Output: ``phonopy_params.yaml`` (with forces and force constants), ``results.npz`` (``force_constants``
    eV/A^2, ``primitive_cell``, ``band_kpoints``, ``band_frequencies`` THz, ``dos_frequencies``, ``total_dos``,
    ``temperatures``, ``free_energy`` kJ/mol, ``entropy`` and ``heat_capacity`` J/K/mol, ``mesh``, and with
    ``properties.projected_dos`` ``pdos_frequencies`` and ``projected_dos``) and ``report.json``
    (``restoration_steps``, ``band_labels`` [[index, label], ...], ``primitive_symbols``, ``diagnostics``,
    ``timing``).

**Task phono3py**

Written by :func:`~aiida_unconmlip.engine.phono3py_task.write_phono3py_job` (the ``unconmlip.phono3py`` CalcJob),
read by :func:`~aiida_unconmlip.engine.phono3py_task.conductivity_request` and
:func:`~aiida_unconmlip.engine.force_set_job.read_setup_and_forces`; output parsed by
:mod:`aiida_unconmlip.parsers.phono3py`.

``phono3py``
    Input: ``job.json`` ``{"task": "phono3py", "phono3py": {"symprec", "layout": {"fc3", "fc2", "reference_fc3",
    "reference_fc2"}, "conductivity": {...}, "force_constant_symmetrization": true | "traditional" | false}}``
    (``conductivity`` as the thermal-conductivity work chain's; ``layout`` says where the fc3 and fc2 sets and the
    undisplaced supercells sit in the forces; the latter are left out, the work chain has subtracted their forces
    already),
    ``phono3py_disp.yaml`` (phono3py's setup with the displacements), ``forces.npz`` with ``forces`` (all atoms, 3)
    eV/A and ``atom_offsets``. Output: ``phono3py_params.yaml`` (with forces), ``fc2.hdf5`` and ``fc3.hdf5``,
    ``results.npz`` (``temperatures`` K, ``kappa`` (temperatures, 6) W/m-K in Voigt order xx, yy, zz, yz, xz, xy,
    with the Wigner term ``kappa_intra`` and ``kappa_inter``, ``cumulative_frequencies`` THz and
    ``cumulative_kappa`` (temperatures, points) W/m-K, ``mesh``, and with ``mode_properties`` ``mode_qpoints``,
    ``mode_weights``, ``mode_frequencies`` THz, ``mode_group_velocities`` THz A, ``mode_linewidths`` THz) and
    ``report.json`` (``restoration_steps``, ``diagnostics``, ``timing``).

**Every task**

``error.json`` (only on failure; :func:`write_error`, read by :mod:`aiida_unconmlip.parsers.base`)
    ``{"code": "<ERROR CODE>", "message": "..."}`` with the codes of :mod:`aiida_unconmlip.engine.errors`
    (``ENGINE_CRASH`` for unexpected exceptions).
"""

from __future__ import annotations

import json
import platform
import shutil
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from ase import Atoms

from ..step_record import StepRecord
from .errors import InvalidJob
from .evaluate import EvaluationResult
from .relax_parameters import RelaxParameters, parse_relax_parameters
from .restoration import INFERENCE_STEPS, RELAXATION_STEPS, Restoration, parse_restoration
from .settings import EngineSettings, parse_settings

if TYPE_CHECKING:
    from .relax import RelaxationResult

JOB_FILE = 'job.json'
STRUCTURES_FILE = 'structures.npz'
RESULTS_FILE = 'results.npz'
REPORT_FILE = 'report.json'
ERROR_FILE = 'error.json'
TRAJECTORIES_FILE = 'trajectories.npz'
PARTIAL_FOLDER = 'partial'
TASKS = ('evaluate', 'relax', 'phonopy', 'phono3py')


@dataclass(frozen=True)
class ModelReference:
    backend: str
    path: Path
    sha256: str | None


@dataclass(frozen=True)
class Job:
    """A parsed input folder."""

    task: str
    model: ModelReference
    restoration: Restoration
    fix_symmetry: bool
    settings: EngineSettings
    structures: list[Atoms]
    relax: RelaxParameters | None


def read_spec(folder: str | Path) -> dict[str, Any]:
    """job.json of an input folder, with a known ``task``."""
    folder = Path(folder)
    try:
        spec = json.loads((folder / JOB_FILE).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidJob(f'cannot read {folder / JOB_FILE}: {exc}') from exc
    spec.setdefault('task', 'evaluate')
    if spec['task'] not in TASKS:
        raise InvalidJob(f'unknown task {spec["task"]!r}; this engine runs {list(TASKS)}')
    return spec


def read_job(folder: str | Path, spec: dict[str, Any]) -> Job:
    """Parse and validate the input folder of a task that evaluates a model (evaluate, relax)."""
    folder = Path(folder)
    task = spec['task']
    model = spec.get('model') or {}
    if 'path' not in model or 'backend' not in model:
        raise InvalidJob(f'{JOB_FILE} must give model.path and model.backend')
    try:
        steps = parse_restoration(spec.get('restoration'), RELAXATION_STEPS if task == 'relax' else INFERENCE_STEPS)
        settings = parse_settings(spec.get('settings'))
        relax = parse_relax_parameters(spec.get('relax')) if task == 'relax' else None
    except ValueError as exc:
        raise InvalidJob(str(exc)) from exc
    return Job(
        task=task,
        model=ModelReference(backend=model['backend'], path=folder / model['path'], sha256=model.get('sha256')),
        restoration=Restoration.from_values(steps),
        fix_symmetry=steps.get('fix_symmetry', False),
        settings=settings,
        structures=read_structures(folder / STRUCTURES_FILE),
        relax=relax,
    )


def read_structures(path: Path) -> list[Atoms]:
    try:
        with np.load(path, allow_pickle=False) as data:
            offsets = data['atom_offsets']
            return [
                Atoms(
                    numbers=data['numbers'][start:stop],
                    positions=data['positions'][start:stop],
                    cell=cell,
                    pbc=pbc,
                )
                for start, stop, cell, pbc in zip(offsets[:-1], offsets[1:], data['cells'], data['pbc'], strict=True)
            ]
    except (OSError, KeyError, ValueError) as exc:
        raise InvalidJob(f'cannot read structures from {path}: {exc}') from exc


def write_structures(path: Path, structures: list[Atoms]) -> None:
    np.savez(
        path,
        numbers=np.concatenate([atoms.numbers for atoms in structures]).astype(np.int64),
        positions=np.concatenate([atoms.positions for atoms in structures]).reshape(-1, 3),
        cells=np.array([atoms.cell.array for atoms in structures]).reshape(-1, 3, 3),
        pbc=np.array([atoms.pbc for atoms in structures], dtype=bool).reshape(-1, 3),
        atom_offsets=_offsets(structures),
    )


def write_job(
    folder: str | Path,
    structures: list[Atoms],
    model: dict[str, Any],
    restoration: dict[str, Any],
    settings: dict[str, Any],
    relax: dict[str, Any] | None = None,
) -> None:
    """Write an input folder (the CalcJobs do this on the AiiDA side); ``relax`` given means task relax."""
    folder = Path(folder)
    payload = {
        'task': 'evaluate' if relax is None else 'relax',
        'model': model,
        'restoration': restoration,
        'settings': settings,
    }
    if relax is not None:
        payload['relax'] = relax
    (folder / JOB_FILE).write_text(json.dumps(payload, indent=2))
    write_structures(folder / STRUCTURES_FILE, structures)


# What a job's results can depend on: the model's stack, and phonopy's for the force-constant jobs.
VERSIONED_PACKAGES = (
    'aiida-unconmlip',
    'torch',
    'ase',
    'numpy',
    'metatomic-torch',
    'metatrain',
    'phonopy',
    'phono3py',
    'symfc',
    'spglib',
    'seekpath',
)


def library_versions() -> dict[str, str]:
    versions = {'python': platform.python_version()}
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


def write_report(
    folder: Path, model_description: dict[str, Any] | None, restoration_steps: list[StepRecord], **sections: Any
) -> None:
    """report.json: the restoration records, the task's own sections, the model (if any), library versions."""
    report = {
        'restoration_steps': [record.as_dict() for record in restoration_steps],
        **sections,
        'model': model_description,
        'versions': library_versions(),
    }
    (folder / REPORT_FILE).write_text(json.dumps(report, indent=2))


def _offsets(structures_or_arrays) -> np.ndarray:
    return np.cumsum([0] + [len(item) for item in structures_or_arrays])


def write_results(folder: str | Path, result: EvaluationResult, model_description: dict[str, Any]) -> None:
    """Outputs of task evaluate."""
    folder = Path(folder)
    np.savez(
        folder / RESULTS_FILE,
        energies=result.energies,
        forces=np.concatenate(result.forces),
        atom_offsets=_offsets(result.forces),
        stresses=result.stresses,
    )
    write_report(folder, model_description, result.restoration_steps, timing=result.timing)


def write_relax_results(
    folder: str | Path,
    results: list[RelaxationResult],
    restoration_steps: list[StepRecord],
    timing: dict[str, Any],
    model_description: dict[str, Any],
) -> None:
    """Outputs of task relax: final geometries and predictions, trajectories, per-structure report."""
    folder = Path(folder)
    stresses = np.array([r.stress if r.stress is not None else np.full((3, 3), np.nan) for r in results])
    np.savez(
        folder / RESULTS_FILE,
        energies=np.array([r.energy for r in results]),
        forces=np.concatenate([r.forces for r in results]),
        atom_offsets=_offsets([r.atoms for r in results]),
        stresses=stresses.reshape(-1, 3, 3),
        positions=np.concatenate([r.atoms.positions for r in results]),
        cells=np.array([r.atoms.cell.array for r in results]).reshape(-1, 3, 3),
    )
    frames = {}
    for index, result in enumerate(results):
        trajectory = result.trajectory
        frames[f'steps_{index}'] = np.array(trajectory.steps)
        frames[f'positions_{index}'] = np.array(trajectory.positions)
        frames[f'cells_{index}'] = np.array(trajectory.cells)
        frames[f'energies_{index}'] = np.array(trajectory.energies)
    np.savez(folder / TRAJECTORIES_FILE, **frames)
    relaxation = [
        {
            'converged': r.converged,
            'steps': r.steps,
            'energy_ev': r.energy,
            'space_group_input': r.space_group_input,
            'space_group_output': r.space_group_output,
            'seconds': r.seconds,
        }
        for r in results
    ]
    write_report(folder, model_description, restoration_steps, timing=timing, relaxation=relaxation)


def write_partial(folder: str | Path, part: int, finished: list, records: list[StepRecord]) -> None:
    """Part ``part`` of the finished structures (:class:`~aiida_unconmlip.engine.evaluate.StructureResult`)."""
    partial = Path(folder) / PARTIAL_FOLDER
    partial.mkdir(exist_ok=True)
    name = f'part_{part:05d}'
    np.savez(
        partial / f'{name}.tmp.npz',
        indices=np.array([result.index for result in finished], dtype=np.int64),
        energies=np.array([result.energy for result in finished]),
        forces=np.concatenate([result.forces for result in finished]),
        atom_offsets=_offsets([result.forces for result in finished]),
        stresses=np.array([result.stress for result in finished]).reshape(-1, 3, 3),
    )
    (partial / f'{name}.json').write_text(json.dumps([record.as_dict() for record in records]))
    (partial / f'{name}.tmp.npz').replace(partial / f'{name}.npz')


def remove_partial(folder: str | Path) -> None:
    """The parts of a job whose ``results.npz`` is written."""
    shutil.rmtree(Path(folder) / PARTIAL_FOLDER, ignore_errors=True)


def write_error(folder: str | Path, code: str, message: str) -> None:
    (Path(folder) / ERROR_FILE).write_text(json.dumps({'code': code, 'message': message}, indent=2))
