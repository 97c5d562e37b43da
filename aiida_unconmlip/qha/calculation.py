"""Quasi-harmonic (QHA) thermal expansion and mode Grüneisen parameters with phonopy. No AiiDA here.

The QHA takes, for a handful of volumes around the relaxed one, the static energy E(V) and the harmonic phonon
thermal properties F(T, V), S(T, V), Cv(T, V). At each temperature phonopy fits E(V) + F(T, V) to an equation of
state; the minimum gives V(T), G(T) and B(T), and V(T) gives the volumetric thermal expansion.

Cell convention: phonopy normalises its thermal properties (``get_thermal_properties_dict``) per *primitive* cell
(``phonon.primitive``, which ``primitive_matrix='auto'`` finds from the symmetry), not per input unit cell: the
high-temperature heat capacity tends to 3 N R with N the atoms of the primitive cell (3 R, not 12 R, for the 4-atom
conventional fcc cell; ``tests/engine/test_qha_physics.py`` checks this). The volumes and static energies given to
:func:`compute_qha` must therefore be those of ``phonon.primitive`` (for fcc: a quarter of the conventional cell's),
and every extensive result (volumes, energies, heat capacity) is per primitive cell, where "mol" is a mole of
primitive cells.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from phonopy import Phonopy, PhonopyGruneisen, PhonopyQHA
from phonopy.phonon.band_structure import get_band_qpoints
from phonopy.physical_units import get_physical_units

from ..phonons.phonopy_setup import from_yaml_text

MIN_VOLUMES = 5  # phonopy's run_qha refuses fewer; an EOS with 4 parameters needs more points than parameters
MAX_LINEAR_STRAIN = 0.1
EQUATIONS_OF_STATE = ('vinet', 'murnaghan', 'birch_murnaghan')
_FORCE_CONSTANTS_KEY = re.compile(r'^force_constants:', re.MULTILINE)


def volume_scale_factors(n_volumes: int, max_linear_strain: float) -> list[float]:
    """Factors to multiply the lattice vectors by (the volume scales by their cube), evenly spaced and symmetric
    around 1.0, so that the relaxed cell is the middle one, e.g. ``(5, 0.01)`` gives
    ``[0.99, 0.995, 1.0, 1.005, 1.01]``."""
    if isinstance(n_volumes, bool) or not isinstance(n_volumes, (int, np.integer)):
        raise ValueError(f'n_volumes must be an integer, got {n_volumes!r}')
    if n_volumes < MIN_VOLUMES or n_volumes % 2 == 0:
        raise ValueError(
            f'n_volumes must be an odd integer of at least {MIN_VOLUMES} (the relaxed volume in the middle, enough '
            f'points for the equation-of-state fit), got {n_volumes}'
        )
    if not 0.0 < max_linear_strain <= MAX_LINEAR_STRAIN:
        raise ValueError(
            f'max_linear_strain must be in (0, {MAX_LINEAR_STRAIN}] (a fraction: 0.01 is 1 % of the lattice '
            f'parameter), got {max_linear_strain!r}'
        )
    half = n_volumes // 2
    return [1.0 + max_linear_strain * k / half for k in range(-half, half + 1)]


@dataclass(frozen=True)
class QhaResults:
    """phonopy's QHA at the temperatures it gives results for, per primitive cell (see the module docstring).

    Temperature-dependent arrays (all of the same length):

    - ``temperatures``: K.
    - ``equilibrium_volumes``: V(T) minimising E(V) + F_ph(T, V), Angstrom^3 per primitive cell.
    - ``volumetric_thermal_expansion``: beta = (1/V) dV/dT, 1/K (the linear coefficient of a cubic crystal is
      beta / 3).
    - ``bulk_modulus``: B(T) at V(T), GPa.
    - ``heat_capacity_p``: Cp(T) from polynomial fits of Cv(V) and S(V) (phonopy's ``heat_capacity_P_polyfit``),
      J/K/mol of primitive cells.
    - ``gibbs_free_energy``: G(T) = min_V [E(V) + F_ph(T, V)], eV per primitive cell.

    ``extrapolated`` (bool) marks the temperatures where V(T) lies outside the sampled volumes: there B(T), beta(T)
    and Cp(T) come from the equation of state beyond its data and should not be trusted; sample a wider range.

    Static equation of state E(V) (no phonons): ``e0`` (eV), ``v0`` (Angstrom^3), ``b0`` (GPa), ``b0_prime``
    (dimensionless), fitted with ``eos``.
    """

    temperatures: np.ndarray
    equilibrium_volumes: np.ndarray
    volumetric_thermal_expansion: np.ndarray
    bulk_modulus: np.ndarray
    heat_capacity_p: np.ndarray
    gibbs_free_energy: np.ndarray
    extrapolated: np.ndarray
    e0: float
    v0: float
    b0: float
    b0_prime: float
    eos: str


def _per_volume(name: str, values, n_volumes: int, n_temperatures: int) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.shape != (n_volumes, n_temperatures):
        raise ValueError(
            f'{name} must have one row per volume and one column per temperature, shape '
            f'({n_volumes}, {n_temperatures}), got {array.shape}'
        )
    return array


def compute_qha(
    volumes: Sequence[float],
    electronic_energies: Sequence[float],
    temperatures: Sequence[float],
    free_energies: Sequence[Sequence[float]],
    entropies: Sequence[Sequence[float]],
    heat_capacities: Sequence[Sequence[float]],
    eos: str = 'vinet',
    t_max: float | None = None,
) -> QhaResults:
    """Thermal expansion, B(T), Cp(T) and G(T) with ``phonopy.PhonopyQHA``.

    ``volumes`` (Angstrom^3) and ``electronic_energies`` (static energies, eV) are those of the primitive cell of the
    phonon calculations, one per volume. ``free_energies`` (kJ/mol), ``entropies`` and ``heat_capacities`` (J/K/mol)
    are phonopy's ``free_energy``, ``entropy`` and ``heat_capacity`` (``Phonopy.thermal_properties`` or the
    deprecated ``get_thermal_properties_dict()``), one row per volume (shape ``(volumes, temperatures)``), all on the
    same ascending ``temperatures`` (K). On a Gamma-centred mesh compute them with ``exclude_gamma_acoustic=True``:
    otherwise the near-zero acoustic frequencies at Gamma enter the sums at random, which makes F(V) noisy enough to
    spoil the fits (B(T) above the static B0).

    phonopy needs a temperature above each one it reports (central differences), so the last temperature (and all
    above ``t_max``) is dropped; the first is dropped too, as phonopy puts a 0.0 placeholder there for the thermal
    expansion and Cp rather than a result. A failed equation-of-state fit raises (phonopy's ``RuntimeError``).
    """
    volumes_array = np.asarray(volumes, dtype=float)
    energies = np.asarray(electronic_energies, dtype=float)
    temps = np.asarray(temperatures, dtype=float)
    n_volumes, n_temperatures = len(volumes_array), len(temps)
    if volumes_array.ndim != 1 or n_volumes < MIN_VOLUMES:
        raise ValueError(f'give at least {MIN_VOLUMES} volumes (a 1D sequence), got {volumes_array.shape}')
    if energies.shape != volumes_array.shape:
        raise ValueError(f'give one static energy per volume: {energies.shape} energies for {n_volumes} volumes')
    if temps.ndim != 1 or n_temperatures < 4 or not np.all(np.diff(temps) > 0):
        raise ValueError('temperatures must be strictly ascending, at least 4 of them')
    if eos not in EQUATIONS_OF_STATE:
        raise ValueError(f'eos must be one of {EQUATIONS_OF_STATE}, got {eos!r}')
    free = _per_volume('free_energies', free_energies, n_volumes, n_temperatures)
    entropy = _per_volume('entropies', entropies, n_volumes, n_temperatures)
    cv = _per_volume('heat_capacities', heat_capacities, n_volumes, n_temperatures)

    with warnings.catch_warnings():
        # Deprecated in phonopy 4 in favour of run_qha, which wants Phonopy objects; this one takes the numbers.
        warnings.simplefilter('ignore', DeprecationWarning)
        qha = PhonopyQHA(
            volumes=volumes_array,
            electronic_energies=energies,
            temperatures=temps,
            free_energy=free.T,
            cv=cv.T,
            entropy=entropy.T,
            eos=eos,
            t_max=t_max,
        )
    # Each temperature phonopy keeps is the next input one (a failed fit raises rather than skipping one).
    n_kept = len(qha.thermal_expansion)
    kept = slice(1, n_kept)
    e0, b0, b0_prime, v0 = qha.get_bulk_modulus_parameters()
    equilibrium_volumes = np.array(qha.volume_temperature[kept])
    return QhaResults(
        temperatures=temps[kept].copy(),
        equilibrium_volumes=equilibrium_volumes,
        volumetric_thermal_expansion=np.array(qha.thermal_expansion[kept]),
        bulk_modulus=np.array(qha.bulk_modulus_temperature[kept]),
        heat_capacity_p=np.array(qha.heat_capacity_P_polyfit[kept]),
        gibbs_free_energy=np.array(qha.gibbs_temperature[kept]),
        extrapolated=(equilibrium_volumes < volumes_array.min()) | (equilibrium_volumes > volumes_array.max()),
        e0=float(e0),
        v0=float(v0),
        b0=float(b0) * get_physical_units().EVAngstromToGPa,  # BulkModulus fits in eV/Angstrom^3
        b0_prime=float(b0_prime),
        eos=eos,
    )


def _load_with_force_constants(text: str) -> Phonopy:
    """A phonopy object from phonopy yaml text that carries force constants.

    Without force constants in the text, ``phonopy.load`` would read a ``FORCE_CONSTANTS`` file from the working
    directory instead, hence the check first.
    """
    if _FORCE_CONSTANTS_KEY.search(text) is None:
        raise ValueError(
            "the phonopy yaml has no force constants: write it with settings={'force_constants': True} "
            '(Phonopy.save or to_phonopy_yaml)'
        )
    return from_yaml_text(text)


def gruneisen_on_path(
    phonopy_yaml_texts: tuple[str, str, str],
    band_paths: Sequence[Sequence[Sequence[float]]],
    npoints: int = 51,
) -> dict[str, np.ndarray]:
    """Mode Grüneisen parameters gamma = -(V / omega) d omega / dV along a band path, with ``PhonopyGruneisen``.

    ``phonopy_yaml_texts`` are phonopy yaml texts with force constants at the volumes (minus, equilibrium, plus),
    typically the two QHA volumes next to the relaxed one; phonopy takes the derivative from their primitive
    volumes. ``band_paths`` are runs of q-point corners in reduced coordinates of the primitive reciprocal lattice,
    as phonopy's ``get_band_qpoints`` takes them (e.g. ``[[G, X, U], [K, G, L]]``), each segment sampled with
    ``npoints`` points including its ends.

    Returns ``qpoints`` (nq, 3), ``distances`` (nq,, in the primitive reciprocal lattice's 1/Angstrom, without 2 pi),
    ``frequencies`` (nq, bands; THz, at the equilibrium volume) and ``gamma`` (nq, bands), all segments concatenated.
    Bands are ordered by band connection along each segment, not sorted by frequency. At Gamma the acoustic gamma is
    0/0 and not meaningful.
    """
    if len(phonopy_yaml_texts) != 3:
        raise ValueError('give three phonopy yaml texts: the volumes minus, equilibrium and plus')
    minus, equilibrium, plus = (_load_with_force_constants(text) for text in phonopy_yaml_texts)
    volumes = [phonon.primitive.volume for phonon in (minus, equilibrium, plus)]
    if not volumes[0] < volumes[1] < volumes[2]:
        raise ValueError(f'the primitive volumes must increase as (minus, equilibrium, plus), got {volumes}')
    if len({len(phonon.primitive) for phonon in (minus, equilibrium, plus)}) != 1:
        raise ValueError('the three phonopy objects have primitive cells with different numbers of atoms')

    gruneisen = PhonopyGruneisen(equilibrium, plus, minus)
    gruneisen.set_band_structure(get_band_qpoints(band_paths, npoints=npoints))
    qpoints, distances, frequencies, _, gamma = gruneisen.get_band_structure()
    return {
        'qpoints': np.concatenate(qpoints),
        'distances': np.concatenate(distances),
        'frequencies': np.concatenate(frequencies),
        'gamma': np.concatenate(gamma),
    }
