"""Validated parameters of the phonon steps: one place that says what each Dict input may hold."""

from __future__ import annotations

from typing import Any

from .force_constants import FC_METHODS

DISPLACEMENTS = {
    'min_length': 15.0,
    'supercell_matrix': None,
    'amplitude': 0.01,
    'plus_minus': True,
    'random_snapshots': None,
    'random_seed': None,
}
RESTORATION = {'space_group_projection': True, 'net_force_removal': True, 'force_constant_symmetrization': True}
RESTORATION_OFF = dict.fromkeys(RESTORATION, False)  # the raw side of a raw-versus-restored comparison
FORCE_CONSTANTS = {'method': 'phonopy'}
PROPERTIES = {
    'band_npoints': 101,
    'mesh_length': 50.0,
    't_max': 1000.0,
    't_step': 10.0,
    'imaginary_tolerance_thz': 0.01,
}


def with_defaults(name: str, defaults: dict[str, Any], given: dict[str, Any] | None) -> dict[str, Any]:
    """``defaults`` updated with ``given``; unknown keys raise ``ValueError`` naming the allowed ones."""
    given = dict(given or {})
    unknown = set(given) - set(defaults)
    if unknown:
        raise ValueError(f'unknown {name} keys {sorted(unknown)}; allowed: {", ".join(defaults)}')
    return {**defaults, **given}


def parse_displacements(given: dict[str, Any] | None) -> dict[str, Any]:
    values = with_defaults('displacements', DISPLACEMENTS, given)
    if values['amplitude'] <= 0:
        raise ValueError('displacements.amplitude must be positive (Angstrom)')
    if values['supercell_matrix'] is None and (values['min_length'] is None or values['min_length'] <= 0):
        raise ValueError('give displacements.supercell_matrix or a positive displacements.min_length (Angstrom)')
    if values['plus_minus'] not in ('auto', True, False):
        raise ValueError('displacements.plus_minus must be "auto", true or false')
    if values['random_snapshots'] is not None and values['random_snapshots'] < 1:
        raise ValueError('displacements.random_snapshots must be a positive integer')
    return values


def parse_restoration_steps(given: dict[str, Any] | None) -> dict[str, Any]:
    values = with_defaults('restoration', RESTORATION, given)
    if not all(isinstance(value, bool) for value in values.values()):
        raise ValueError('restoration steps are switched on or off with true or false')
    return values


def parse_force_constants(given: dict[str, Any] | None) -> dict[str, Any]:
    values = with_defaults('force_constants', FORCE_CONSTANTS, given)
    if values['method'] not in FC_METHODS:
        raise ValueError(f'force_constants.method must be one of {sorted(FC_METHODS)}')
    return values


def parse_properties(given: dict[str, Any] | None) -> dict[str, Any]:
    values = with_defaults('properties', PROPERTIES, given)
    if values['band_npoints'] < 2 or values['mesh_length'] <= 0 or values['t_step'] <= 0:
        raise ValueError('properties need band_npoints >= 2 and positive mesh_length and t_step')
    return values
