"""Validated parameters of the phonon steps: the one place that says what each Dict input may hold and what it
defaults to. The ``moderate`` protocol is these defaults; the other protocols state only what they change."""

from __future__ import annotations

import math
from typing import Any

from .force_constants import FC_METHODS
from .supercells import SUPERCELL_SHAPES

# How phonopy applies the non-analytical correction of a polar crystal; the first is the default.
NAC_METHODS = ('gonze', 'wang')

DEFAULT_MAX_SUPERCELL_ATOMS = 2000  # a larger supercell is refused unless asked for: its jobs would take hours
DISPLACEMENTS = {
    'min_length': 15.0,
    'supercell_matrix': None,
    'supercell_shape': 'diagonal',
    'amplitude': 0.01,
    'plus_minus': True,
    'random_snapshots': None,
    'random_seed': None,
    'max_supercell_atoms': DEFAULT_MAX_SUPERCELL_ATOMS,
}
FORCE_CONSTANTS = {'method': 'phonopy'}
PROPERTIES = {
    'band_npoints': 101,
    'band_path': None,
    'mesh_length': 50.0,
    't_max': 1000.0,
    't_step': 10.0,
    'imaginary_tolerance_thz': 0.01,
    'projected_dos': False,
}


def with_defaults(name: str, defaults: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
    """``defaults`` updated with ``given``; unknown keys, and NaN or infinity anywhere in a value (no parameter
    takes them), raise ``ValueError`` naming what to fix."""
    given = dict(given or {})
    unknown = set(given) - set(defaults)
    if unknown:
        raise ValueError(f'unknown {name} keys {sorted(unknown)}; allowed: {", ".join(defaults)}')
    for key, value in given.items():
        if not all_finite(value):
            raise ValueError(f'{name}.{key} must hold finite numbers, not {value!r}')
    return {**defaults, **given}


def all_finite(value: Any) -> bool:
    """No NaN or infinity in ``value``, however nested in lists and dicts."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(all_finite(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return all(all_finite(item) for item in value)
    return True


def check_displacements(values: dict[str, Any]) -> None:
    """What every displacement set needs (phonopy's and phono3py's): ``ValueError`` says what to fix."""
    if values['amplitude'] <= 0:
        raise ValueError('displacements.amplitude must be positive (Angstrom)')
    if values['supercell_matrix'] is None and (values['min_length'] is None or values['min_length'] <= 0):
        raise ValueError('give displacements.supercell_matrix or a positive displacements.min_length (Angstrom)')
    if values['supercell_shape'] not in SUPERCELL_SHAPES:
        raise ValueError(f'displacements.supercell_shape must be one of {", ".join(SUPERCELL_SHAPES)}')
    if values['plus_minus'] not in ('auto', True, False):
        raise ValueError('displacements.plus_minus must be "auto", true or false')
    snapshots = values['random_snapshots']
    if snapshots is not None and (isinstance(snapshots, bool) or not isinstance(snapshots, int) or snapshots < 1):
        raise ValueError('displacements.random_snapshots must be a positive integer')
    limit = values['max_supercell_atoms']
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f'displacements.max_supercell_atoms must be a positive integer, not {limit!r}')


def parse_displacements(given: dict[str, Any] | None) -> dict[str, Any]:
    values = with_defaults('displacements', DISPLACEMENTS, given)
    check_displacements(values)
    return values


def parse_force_constants(given: dict[str, Any] | None) -> dict[str, Any]:
    values = with_defaults('force_constants', FORCE_CONSTANTS, given)
    if values['method'] not in FC_METHODS:
        raise ValueError(f'force_constants.method must be one of {sorted(FC_METHODS)}')
    return values


def parse_band_path(path: Any) -> dict[str, Any] | None:
    """A q-path of the user's: ``{"path": [["GAMMA", "X", "U"], ["K", "GAMMA"]], "points": {"GAMMA": [0, 0, 0], ...}}``.

    Each inner list is a continuous run of labelled points; coordinates are fractional, in the reciprocal basis of
    the primitive cell (phonopy's, the cell of the band structure output).
    """
    if path is None:
        return None
    if not isinstance(path, dict) or set(path) != {'path', 'points'}:
        raise ValueError(
            'properties.band_path must be {"path": [[label, label, ...], ...], "points": {label: [qx, qy, qz]}}'
        )
    runs, points = path['path'], path['points']
    if not isinstance(runs, list) or not runs or any(not isinstance(run, list) or len(run) < 2 for run in runs):
        raise ValueError('properties.band_path.path must be a list of runs of at least two labels each')
    missing = sorted({label for run in runs for label in run} - set(points))
    if missing:
        raise ValueError(f'properties.band_path.points has no coordinates for {", ".join(map(str, missing))}')
    for label, coordinates in points.items():
        if not isinstance(coordinates, list) or len(coordinates) != 3:
            raise ValueError(f'properties.band_path.points.{label} must be three fractional coordinates')
        if any(isinstance(x, bool) or not isinstance(x, (int, float)) for x in coordinates):
            raise ValueError(f'properties.band_path.points.{label} must be three numbers, not {coordinates!r}')
    return {'path': [[str(label) for label in run] for run in runs], 'points': points}


def parse_properties(given: dict[str, Any] | None) -> dict[str, Any]:
    values = with_defaults('properties', PROPERTIES, given)
    if values['band_npoints'] < 3 or values['mesh_length'] <= 0 or values['t_step'] <= 0:
        raise ValueError('properties need band_npoints >= 3 and positive mesh_length and t_step')
    if not isinstance(values['projected_dos'], bool):
        raise ValueError('properties.projected_dos is true or false (eigenvectors on the full mesh: costly)')
    values['band_path'] = parse_band_path(values['band_path'])
    return values
