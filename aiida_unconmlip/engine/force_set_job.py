"""The input folder of the tasks that turn the forces of a displacement set into results (``phonopy``,
``phono3py``): ``job.json`` with the task's request, the library's setup yaml and ``forces.npz``. They need no
model, so they import no torch."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidJob
from .io import JOB_FILE

FORCES_FILE = 'forces.npz'


def write_force_set_job(
    folder: str | Path,
    task: str,
    setup_file: str,
    setup_yaml: str,
    forces: list[np.ndarray],
    request: dict[str, Any],
) -> None:
    """An input folder of ``task`` (its CalcJob writes it). The supercells may differ in size (phono3py's fc2 and
    fc3 sets), so ``forces.npz`` holds them concatenated, with ``atom_offsets``."""
    folder = Path(folder)
    (folder / JOB_FILE).write_text(json.dumps({'task': task, task: request}, indent=2))
    (folder / setup_file).write_text(setup_yaml)
    offsets = np.cumsum([0, *(len(f) for f in forces)])
    np.savez(
        folder / FORCES_FILE, forces=np.concatenate([np.asarray(f, dtype=float) for f in forces]), atom_offsets=offsets
    )


def read_request(spec: dict[str, Any], task: str, keys: tuple[str, ...]) -> dict[str, Any]:
    """The task's request in job.json, refused if a key is missing."""
    request = spec.get(task) or {}
    missing = [key for key in keys if key not in request]
    if missing:
        raise InvalidJob(f'{JOB_FILE} of task {task} lacks {", ".join(missing)}')
    return request


def read_setup_and_forces(folder: str | Path, setup_file: str) -> tuple[str, list[np.ndarray]]:
    """The setup yaml and the forces (eV/A) of each supercell, in order."""
    folder = Path(folder)
    try:
        setup_yaml = (folder / setup_file).read_text()
        with np.load(folder / FORCES_FILE, allow_pickle=False) as data:
            forces, offsets = data['forces'], data['atom_offsets']
        return setup_yaml, [forces[start:stop] for start, stop in itertools.pairwise(offsets)]
    except (OSError, KeyError, ValueError) as exc:
        raise InvalidJob(f'cannot read the setup or forces in {folder}: {exc}') from exc
