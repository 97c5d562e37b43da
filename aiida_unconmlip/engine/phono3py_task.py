"""Task ``phono3py``: second- and third-order force constants and the lattice thermal conductivity from the forces of
phono3py's displacement sets (the folder format is described with the others in :mod:`aiida_unconmlip.engine.io`).
It needs no model, so it imports no torch."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidJob
from .force_set_job import read_request, read_setup_and_forces, write_force_set_job
from .io import RESULTS_FILE, write_report
from .restoration import fc_symmetrization

TASK = 'phono3py'
SETUP_FILE = 'phono3py_disp.yaml'
PARAMS_FILE = 'phono3py_params.yaml'
FORCE_CONSTANT_FILES = ('fc2.hdf5', 'fc3.hdf5')
REQUEST_KEYS = ('symprec', 'layout', 'conductivity', 'force_constant_symmetrization')
# and, for a polar crystal, ``nac``: :meth:`aiida_unconmlip.phonons.nac.NacRequest.as_dict`


def write_phono3py_job(folder: str | Path, setup_yaml: str, forces: list[np.ndarray], request: dict[str, Any]) -> None:
    """An input folder of task phono3py (the CalcJob writes it; ``request`` holds :data:`REQUEST_KEYS`)."""
    write_force_set_job(folder, TASK, SETUP_FILE, setup_yaml, forces, request)


def conductivity_request(spec: dict[str, Any]):
    """The :class:`~aiida_unconmlip.conductivity.calculation.ConductivityRequest` of a job.json, validated."""
    from ..conductivity.calculation import ConductivityRequest
    from ..conductivity.parameters import parse_conductivity
    from ..conductivity.phono3py_setup import Layout
    from ..phonons.nac import NacRequest

    request = read_request(spec, TASK, REQUEST_KEYS)
    try:
        conductivity = parse_conductivity(request['conductivity'])
        layout = Layout(**request['layout'])
        nac = NacRequest.from_dict(request.get('nac'))
        symmetrize = fc_symmetrization(request['force_constant_symmetrization'])
    except (TypeError, ValueError) as exc:
        raise InvalidJob(f'{exc}') from exc
    return ConductivityRequest(
        symprec=float(request['symprec']),
        layout=layout,
        conductivity=conductivity,
        symmetrize=symmetrize,
        nac=nac,
    )


def run_phono3py_job(folder: str | Path, spec: dict[str, Any]) -> None:
    """Read the phono3py job in ``folder``, compute, write its results there."""
    from ..conductivity.calculation import compute_conductivity

    folder = Path(folder)
    start = time.perf_counter()
    request = conductivity_request(spec)
    setup_yaml, forces = read_setup_and_forces(folder, SETUP_FILE)
    try:
        results = compute_conductivity(setup_yaml, forces, request)
    except ValueError as exc:  # forces that do not match the layout
        raise InvalidJob(str(exc)) from exc
    (folder / PARAMS_FILE).write_text(results.phono3py_params)
    for name, content in results.force_constant_files.items():
        (folder / name).write_bytes(content)
    np.savez(folder / RESULTS_FILE, **results.arrays)
    write_report(
        folder,
        None,
        results.records,
        diagnostics=results.diagnostics,
        timing={
            'wall_seconds': time.perf_counter() - start,
            'supercells': len(forces),
            'job_phase_seconds': results.phase_seconds,
        },
    )
