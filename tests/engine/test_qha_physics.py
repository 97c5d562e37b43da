"""The QHA wrapper on a real case: fcc Cu with ASE's EMT, phonopy at five volumes (no AiiDA, a few seconds).

Cu, not Al: EMT Al's QHA is unphysical (its B(T) rises with temperature above about 200 K, even inside the
sampled volumes), while EMT Cu behaves like copper (B0 about 135 GPa, beta(300 K) about 6e-5 1/K).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
import phonopy
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT
from phonopy import Phonopy, PhonopyQHA
from phonopy.phonon.band_structure import get_band_qpoints
from phonopy.structure.atoms import PhonopyAtoms
from phonopy.structure.cells import PrimitiveMatrixAutoDefaultWarning
from scipy.optimize import minimize_scalar

from aiida_unconmlip.qha import compute_qha, gruneisen_on_path, volume_scale_factors

R = 8.314462618  # J/K/mol
SUPERCELL = 3  # of the 4-atom conventional cell: 108 atoms, one symmetry-distinct displacement
MESH = [16, 16, 16]
T_MAX, T_STEP = 1000.0, 10.0
G, X, L = [0.0, 0.0, 0.0], [0.5, 0.0, 0.5], [0.5, 0.5, 0.5]  # primitive reciprocal coordinates (fcc)


def emt_energy(atoms: Atoms) -> float:
    atoms = atoms.copy()
    atoms.calc = EMT()
    return atoms.get_potential_energy()


def emt_lattice_constant() -> float:
    """EMT's own equilibrium, so that the middle volume is the relaxed one."""
    fit = minimize_scalar(lambda a: emt_energy(bulk('Cu', 'fcc', a=a, cubic=True)), bounds=(3.4, 3.8), method='bounded')
    return float(fit.x)


def emt_phonopy(unitcell: Atoms, primitive_matrix: str = 'auto') -> Phonopy:
    """Force constants from finite displacements with EMT; thermal properties are computed by the caller."""
    cell = PhonopyAtoms(symbols=unitcell.get_chemical_symbols(), cell=unitcell.cell.array, positions=unitcell.positions)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', PrimitiveMatrixAutoDefaultWarning)
        phonon = Phonopy(
            cell,
            supercell_matrix=np.eye(3, dtype=int) * SUPERCELL,
            primitive_matrix=primitive_matrix,
        )
    phonon.generate_displacements(distance=0.01)
    forces = []
    for cell in phonon.supercells_with_displacements:
        supercell = Atoms(symbols=cell.symbols, cell=cell.cell, positions=cell.positions, pbc=True)
        supercell.calc = EMT()
        forces.append(supercell.get_forces())
    phonon.forces = np.array(forces)
    phonon.produce_force_constants(calculate_full_force_constants=False)  # compact: small yaml, quick to load
    return phonon


def thermal_properties(phonon: Phonopy, **temperatures) -> tuple[np.ndarray, ...]:
    """As the project computes them: Gamma-centred mesh, acoustic modes at Gamma left out of the sums."""
    phonon.run_mesh(MESH, is_gamma_center=True)
    phonon.run_thermal_properties(exclude_gamma_acoustic=True, **temperatures)
    tp = phonon.thermal_properties
    return tp.temperatures, tp.free_energy, tp.entropy, tp.heat_capacity


@dataclass
class EmtQha:
    phonons: list[Phonopy]
    volumes: np.ndarray  # per primitive cell, Angstrom^3
    energies: np.ndarray  # per primitive cell, eV
    temperatures: np.ndarray
    free_energies: np.ndarray  # (volumes, temperatures), kJ/mol
    entropies: np.ndarray
    heat_capacities: np.ndarray
    relaxed_volume: float  # per primitive cell


@pytest.fixture(scope='module')
def emt_cu() -> EmtQha:
    a0 = emt_lattice_constant()
    phonons, volumes, energies, free, entropy, cv = [], [], [], [], [], []
    for factor in volume_scale_factors(5, 0.01):
        unitcell = bulk('Cu', 'fcc', a=a0 * factor, cubic=True)
        phonon = emt_phonopy(unitcell)
        temperatures, f, s, c = thermal_properties(phonon, t_min=0, t_max=T_MAX, t_step=T_STEP)
        phonons.append(phonon)
        volumes.append(phonon.primitive.volume)
        # Static energy of the same cell as the thermal properties: the primitive one.
        energies.append(emt_energy(unitcell) * len(phonon.primitive) / len(unitcell))
        free.append(f)
        entropy.append(s)
        cv.append(c)
    return EmtQha(
        phonons,
        np.array(volumes),
        np.array(energies),
        temperatures,
        np.array(free),
        np.array(entropy),
        np.array(cv),
        relaxed_volume=a0**3 / 4,
    )


def qha_of(data: EmtQha, **kwargs):
    return compute_qha(
        data.volumes,
        data.energies,
        data.temperatures,
        data.free_energies,
        data.entropies,
        data.heat_capacities,
        **kwargs,
    )


def test_thermal_expansion_is_phonopys_and_physical(emt_cu):
    results = qha_of(emt_cu)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        direct = PhonopyQHA(
            volumes=emt_cu.volumes,
            electronic_energies=emt_cu.energies,
            temperatures=emt_cu.temperatures,
            free_energy=emt_cu.free_energies.T,
            cv=emt_cu.heat_capacities.T,
            entropy=emt_cu.entropies.T,
            eos='vinet',
        )
    # phonopy reports every temperature but the last; the wrapper also drops the first (a 0.0 placeholder).
    np.testing.assert_array_equal(results.temperatures, emt_cu.temperatures[1:-1])
    i = int(np.flatnonzero(results.temperatures == 300.0)[0])
    beta = results.volumetric_thermal_expansion[i]
    assert beta == pytest.approx(direct.thermal_expansion[i + 1], rel=1e-10)
    assert results.equilibrium_volumes[i] == pytest.approx(direct.volume_temperature[i + 1], rel=1e-10)
    assert results.gibbs_free_energy[i] == pytest.approx(direct.gibbs_temperature[i + 1], rel=1e-10)
    print(
        f'EMT Cu: beta(300 K) = {beta:.4e} 1/K (linear {beta / 3:.3e}), B(300 K) = {results.bulk_modulus[i]:.2f} GPa, '
        f'B0 = {results.b0:.2f} GPa'
    )
    assert 1e-5 < beta < 1e-4
    assert np.all(results.volumetric_thermal_expansion[results.temperatures >= 50] > 0)
    assert np.all(np.diff(results.equilibrium_volumes[results.temperatures >= 50]) > 0)
    assert results.equilibrium_volumes[i] > results.v0


def test_t_max_limits_the_temperatures(emt_cu):
    results = qha_of(emt_cu, t_max=500.0)
    assert results.temperatures[0] == T_STEP
    assert results.temperatures[-1] == 500.0
    assert len(results.volumetric_thermal_expansion) == len(results.temperatures) == len(results.heat_capacity_p)


def test_thermal_properties_are_per_primitive_cell(emt_cu):
    """At high temperature Cv -> 3 N R: N is the 1 atom of the fcc primitive cell that ``primitive_matrix='auto'``
    finds, not the 4 of the conventional unit cell given to phonopy; with ``'P'`` (unit cell = primitive) it is 4."""
    relaxed = emt_cu.phonons[2]
    assert (len(relaxed.unitcell), len(relaxed.primitive)) == (4, 1)
    high_t = {'temperatures': [5000.0]}
    cv_primitive = thermal_properties(relaxed, **high_t)[3][0]
    assert cv_primitive == pytest.approx(3 * 1 * R, rel=2e-3)
    conventional = emt_phonopy(bulk('Cu', 'fcc', a=relaxed.unitcell.cell[0, 0], cubic=True), primitive_matrix='P')
    assert len(conventional.primitive) == 4
    assert thermal_properties(conventional, **high_t)[3][0] == pytest.approx(3 * 4 * R, rel=2e-3)
    # So the volumes of the QHA are the primitive cell's (a quarter of the cubic cell's), as is its Cp.
    assert emt_cu.volumes[2] == pytest.approx(emt_cu.relaxed_volume, rel=1e-12)
    results = qha_of(emt_cu)
    i = int(np.flatnonzero(results.temperatures == 400.0)[0])
    assert not results.extrapolated[i]
    assert 3 * R < results.heat_capacity_p[i] < 3.2 * R  # Cp > Cv by the thermal expansion; 1 atom, not 4


def test_bulk_modulus_is_plausible(emt_cu):
    results = qha_of(emt_cu)
    i = int(np.flatnonzero(results.temperatures == 300.0)[0])
    assert 110.0 < results.b0 < 160.0  # EMT Cu, about 135 GPa
    assert 3.0 < results.b0_prime < 7.0
    assert results.v0 == pytest.approx(emt_cu.relaxed_volume, rel=1e-4)
    # Zero-point motion and thermal expansion soften it.
    assert 0.8 * results.b0 < results.bulk_modulus[i] < results.b0
    assert np.all(np.diff(results.bulk_modulus[results.temperatures >= 50]) < 0)


def test_extrapolated_marks_volumes_beyond_the_samples(emt_cu):
    """With +-1 % linear strain (+-3 % in volume) V(T) leaves the sampled range near 500 K for EMT Cu."""
    results = qha_of(emt_cu)
    outside = (results.equilibrium_volumes > emt_cu.volumes.max()) | (
        results.equilibrium_volumes < emt_cu.volumes.min()
    )
    np.testing.assert_array_equal(results.extrapolated, outside)
    assert not results.extrapolated[results.temperatures <= 300].any()
    assert results.extrapolated[-1]


def test_compute_qha_rejects_transposed_thermal_properties(emt_cu):
    with pytest.raises(ValueError, match='one row per volume'):
        compute_qha(
            emt_cu.volumes,
            emt_cu.energies,
            emt_cu.temperatures,
            emt_cu.free_energies.T,
            emt_cu.entropies,
            emt_cu.heat_capacities,
        )


def test_volume_scale_factors():
    assert volume_scale_factors(5, 0.01) == pytest.approx([0.99, 0.995, 1.0, 1.005, 1.01], abs=1e-15)
    factors = volume_scale_factors(7, 0.02)
    assert factors[3] == 1.0
    assert factors == pytest.approx([2 - f for f in reversed(factors)], abs=1e-15)


@pytest.mark.parametrize(
    ('n_volumes', 'strain', 'match'),
    [
        (3, 0.01, 'at least 5'),
        (6, 0.01, 'odd'),
        (5.0, 0.01, 'integer'),
        (True, 0.01, 'integer'),
        (5, 0.0, r'in \(0, 0.1\]'),
        (5, -0.01, r'in \(0, 0.1\]'),
        (5, 0.2, r'in \(0, 0.1\]'),
    ],
)
def test_volume_scale_factors_validation(n_volumes, strain, match):
    with pytest.raises(ValueError, match=match):
        volume_scale_factors(n_volumes, strain)


def yaml_text(phonon: Phonopy, force_constants: bool = True) -> str:
    return str(phonon.to_phonopy_yaml(settings={'force_constants': force_constants}))


def test_gruneisen_on_path(emt_cu):
    minus, equilibrium, plus = emt_cu.phonons[1:4]
    paths, npoints = [[G, X], [G, L]], 11
    texts = (yaml_text(minus), yaml_text(equilibrium), yaml_text(plus))
    result = gruneisen_on_path(texts, paths, npoints)
    qpoints = np.concatenate(get_band_qpoints(paths, npoints=npoints))
    np.testing.assert_allclose(result['qpoints'], qpoints, atol=1e-14)
    assert result['frequencies'].shape == result['gamma'].shape == (2 * npoints, 3)
    assert result['distances'].shape == (2 * npoints,)
    assert np.all(np.diff(result['distances']) >= 0)

    # Frequencies are the equilibrium volume's, from the same force constants (band-connected order: compare sorted).
    reloaded = phonopy.load(io.StringIO(texts[1]), produce_fc=False, is_nac=False)
    for phonon, atol in ((reloaded, 1e-8), (equilibrium, 1e-6)):  # the yaml keeps 10 decimals of the FC
        phonon.run_band_structure(get_band_qpoints(paths, npoints=npoints))
        expected = np.sort(np.concatenate(phonon.band_structure.frequencies), axis=1)
        np.testing.assert_allclose(np.sort(result['frequencies'], axis=1), expected, rtol=0, atol=atol)

    away_from_gamma = np.linalg.norm(qpoints, axis=1) > 0.05
    gamma = result['gamma'][away_from_gamma]
    assert np.all(np.isfinite(gamma))
    assert np.all((gamma > 0.5) & (gamma < 3.0))
    at_zone_boundary = np.isclose(qpoints, X).all(axis=1) | np.isclose(qpoints, L).all(axis=1)
    print('EMT Cu gamma at X and L:', result['gamma'][at_zone_boundary].round(3).tolist())
    assert np.all((result['gamma'][at_zone_boundary] > 1.5) & (result['gamma'][at_zone_boundary] < 3.0))  # Cu: ~2


def test_gruneisen_on_path_checks_its_inputs(emt_cu):
    minus, equilibrium, plus = emt_cu.phonons[1:4]
    with pytest.raises(ValueError, match='must increase'):
        gruneisen_on_path((yaml_text(plus), yaml_text(equilibrium), yaml_text(minus)), [[G, X]], 3)
    with pytest.raises(ValueError, match='no force constants'):
        gruneisen_on_path((yaml_text(minus, False), yaml_text(equilibrium), yaml_text(plus)), [[G, X]], 3)
