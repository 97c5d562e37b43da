"""Validated parameters of the thermal-conductivity steps: the one place that says what each Dict input may hold and
what it defaults to. Each protocol, ``moderate`` included, states only what it changes from these defaults.

The force-constant method is ``conductivity.force_constants`` here and ``force_constants.method`` in the phonon work
chain: two input names kept for the inputs already written with them, one map of methods (``FC_METHODS``)."""

from __future__ import annotations

from typing import Any

from ..phonons.force_constants import FC_METHODS
from ..phonons.parameters import DEFAULT_MAX_SUPERCELL_ATOMS, check_displacements, with_defaults

# Third-order displacements pair up atoms, so their supercell is kept smaller than the phonon work chain's; the
# second-order force constants get their own, larger supercell when ``fc2_min_length`` or ``fc2_supercell_matrix``
# is given. Opposite pairs (plus_minus) by default: docs/thermal-conductivity.rst gives the measurement behind it.
DISPLACEMENTS = {
    'min_length': 10.0,
    'supercell_matrix': None,
    'supercell_shape': 'diagonal',
    'fc2_min_length': None,
    'fc2_supercell_matrix': None,
    'amplitude': 0.03,
    'plus_minus': True,
    'subtract_residual_forces': False,
    'cutoff_pair_distance': None,
    'random_snapshots': None,
    'random_seed': None,
    'max_supercell_atoms': DEFAULT_MAX_SUPERCELL_ATOMS,
}
CONDUCTIVITY = {
    'mesh': [11, 11, 11],
    'temperatures': [100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0, 900.0, 1000.0],
    'method': 'rta',
    'smearing_thz': None,
    'wigner': False,
    'force_constants': 'phonopy',
    'isotope': False,
    'boundary_mfp': None,
    'mode_properties': False,
    'imaginary_tolerance_thz': 0.01,
}
METHODS = ('rta', 'lbte')


def _positive_integers(name: str, value: Any, length: int) -> None:
    if (
        not isinstance(value, list)
        or len(value) != length
        or any(isinstance(x, bool) or not isinstance(x, int) or x < 1 for x in value)
    ):
        raise ValueError(f'{name} must be {length} positive integers, not {value!r}')


def parse_kappa_displacements(given: dict[str, Any] | None) -> dict[str, Any]:
    values = with_defaults('displacements', DISPLACEMENTS, given)
    check_displacements(values)
    if values['fc2_min_length'] is not None and values['fc2_min_length'] <= 0:
        raise ValueError('displacements.fc2_min_length must be positive (Angstrom) or null (the fc3 supercell)')
    if not isinstance(values['subtract_residual_forces'], bool):
        raise ValueError('displacements.subtract_residual_forces is true or false')
    if values['cutoff_pair_distance'] is not None and values['cutoff_pair_distance'] <= 0:
        raise ValueError('displacements.cutoff_pair_distance must be positive (Angstrom) or null (all pairs)')
    return values


def parse_conductivity(given: dict[str, Any] | None) -> dict[str, Any]:
    values = with_defaults('conductivity', CONDUCTIVITY, given)
    _positive_integers('conductivity.mesh', values['mesh'], 3)
    temperatures = values['temperatures']
    if (
        not isinstance(temperatures, list)
        or not temperatures
        or any(isinstance(t, bool) or not isinstance(t, (int, float)) or t < 0 for t in temperatures)
    ):
        raise ValueError(f'conductivity.temperatures must be a list of temperatures (K) >= 0, not {temperatures!r}')
    values['temperatures'] = [float(t) for t in temperatures]
    if values['method'] not in METHODS:
        raise ValueError(f'conductivity.method must be one of {", ".join(METHODS)}, not {values["method"]!r}')
    smearing = values['smearing_thz']
    if smearing is not None and (isinstance(smearing, bool) or not isinstance(smearing, (int, float)) or smearing <= 0):
        raise ValueError(
            f'conductivity.smearing_thz must be a positive width (THz) or null (tetrahedron method), not {smearing!r}'
        )
    boundary = values['boundary_mfp']
    if boundary is not None and (isinstance(boundary, bool) or not isinstance(boundary, (int, float)) or boundary <= 0):
        raise ValueError(
            f'conductivity.boundary_mfp must be a positive mean free path (micrometre) or null (none), not {boundary!r}'
        )
    if values['force_constants'] not in FC_METHODS:
        raise ValueError(f'conductivity.force_constants must be one of {", ".join(FC_METHODS)}')
    for name in ('wigner', 'isotope', 'mode_properties'):
        if not isinstance(values[name], bool):
            raise ValueError(f'conductivity.{name} is true or false, not {values[name]!r}')
    if values['wigner'] and values['method'] != 'rta':
        raise ValueError('conductivity.wigner (the coherence term) is computed with method "rta" here')
    return values
