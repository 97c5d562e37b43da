"""Task ``phonopy``: force constants and phonon properties from the forces of a displacement set (the folder format is
described with the others in :mod:`aiida_unconmlip.engine.io`). It needs no model, so it imports no torch."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InvalidJob
from .force_set_job import read_request, read_setup_and_forces, write_force_set_job
from .io import RESULTS_FILE, write_report
from .restoration import fc_symmetrization

TASK = 'phonopy'
SETUP_FILE = 'phonopy_disp.yaml'
PARAMS_FILE = 'phonopy_params.yaml'
REQUEST_KEYS = ('symprec', 'method', 'force_constant_symmetrization', 'properties', 'space_group', 'space_group_kept')
# and, for a polar crystal, ``nac``: :meth:`aiida_unconmlip.phonons.nac.NacRequest.as_dict`


def write_phonopy_job(folder: str | Path, setup_yaml: str, forces: list[np.ndarray], request: dict[str, Any]) -> None:
    """An input folder of task phonopy (the CalcJob writes it; ``request`` holds :data:`REQUEST_KEYS`)."""
    write_force_set_job(folder, TASK, SETUP_FILE, setup_yaml, forces, request)


def phonon_request(spec: dict[str, Any]):
    """The :class:`~aiida_unconmlip.phonons.calculation.PhononRequest` of a job.json, validated."""
    from ..phonons.calculation import PhononRequest
    from ..phonons.nac import NacRequest
    from ..phonons.parameters import parse_force_constants, parse_properties

    request = read_request(spec, TASK, REQUEST_KEYS)
    try:
        method = parse_force_constants({'method': request['method']})['method']
        properties = parse_properties(request['properties'])
        nac = NacRequest.from_dict(request.get('nac'))
        symmetrize = fc_symmetrization(request['force_constant_symmetrization'])
    except ValueError as exc:
        raise InvalidJob(str(exc)) from exc
    return PhononRequest(
        symprec=float(request['symprec']),
        method=method,
        symmetrize=symmetrize,
        properties=properties,
        space_group=request['space_group'],
        space_group_kept=request['space_group_kept'],
        nac=nac,
    )


def run_phonopy_job(folder: str | Path, spec: dict[str, Any]) -> None:
    """Read the phonopy job in ``folder``, compute, write its results there."""
    from ..phonons.calculation import compute_phonons

    folder = Path(folder)
    start = time.perf_counter()
    request = phonon_request(spec)
    setup_yaml, forces = read_setup_and_forces(folder, SETUP_FILE)
    results = compute_phonons(setup_yaml, np.array(forces), request)
    (folder / PARAMS_FILE).write_text(results.phonopy_params)
    np.savez(
        folder / RESULTS_FILE,
        force_constants=results.force_constants,
        primitive_cell=results.primitive_cell,
        band_kpoints=results.band_kpoints,
        band_frequencies=results.band_frequencies,
        **{key: value for key, value in results.mesh.items() if key not in ('mesh_qpoints', 'mesh_frequencies')},
    )
    write_report(
        folder,
        None,
        results.records,
        band_labels=results.band_labels,
        primitive_symbols=results.primitive_symbols,
        diagnostics=results.diagnostics,
        timing={'wall_seconds': time.perf_counter() - start, 'displacements': len(forces)},
    )
