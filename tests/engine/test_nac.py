"""The non-analytical correction: charges carried into any cell of the same crystal exactly, and phonons with NAC
equal to plain phonopy given the same force constants and BORN file, the Gamma point of every segment included."""

import warnings
from dataclasses import replace

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from phonopy import Phonopy
from phonopy.file_IO import parse_BORN_from_strings
from phonopy.phonon.band_structure import get_band_qpoints_and_path_connections
from phonopy.physical_units import get_calculator_physical_units
from phonopy.structure.symmetry import symmetrize_borns_and_epsilon
from scipy.spatial.transform import Rotation

from aiida_unconmlip.conductivity.calculation import ConductivityRequest, compute_conductivity
from aiida_unconmlip.conductivity.parameters import parse_conductivity, parse_kappa_displacements
from aiida_unconmlip.conductivity.phono3py_setup import generate_displacements, make_phono3py, supercell_matrices
from aiida_unconmlip.conductivity.phono3py_setup import to_yaml_text as to_phono3py_yaml
from aiida_unconmlip.phonons.calculation import PhononRequest, compute_phonons
from aiida_unconmlip.phonons.nac import (
    BornCharges,
    NacRequest,
    apply_nac,
    charges_for_cell,
    cubic_lo_frequency,
    from_born_file,
)
from aiida_unconmlip.phonons.parameters import parse_properties
from aiida_unconmlip.phonons.phonopy_setup import displaced_phonopy, make_phonopy, standardize, to_yaml_text
from tests.helpers import ase_forces, phonopy_atoms
from tests.lattices import lattice_crystal

SYMPREC = 1e-3
# Zincblende CuAu with made-up charges: a polar crystal that EMT gives exact forces for.
BORN_ZINCBLENDE = (
    f'{get_calculator_physical_units().nac_factor}\n4.0 0 0 0 4.0 0 0 0 4.0\n'
    '1.5 0 0 0 1.5 0 0 0 1.5\n-1.5 0 0 0 -1.5 0 0 0 -1.5\n'
)


def site_symmetric_charges(atoms, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random charges and dielectric tensor made to obey the crystal's symmetry (phonopy's symmetrisation)."""
    rng = np.random.default_rng(seed)
    born = rng.normal(size=(len(atoms), 3, 3)) + 2 * np.eye(3)
    noise = rng.normal(size=(3, 3))
    dielectric = np.eye(3) * 5 + 0.3 * (noise + noise.T)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        return symmetrize_borns_and_epsilon(born, dielectric, phonopy_atoms(atoms), symprec=SYMPREC)


@pytest.mark.parametrize('name', ['cP1', 'hP1', 'oI2', 'oA1', 'mC1', 'aP2', 'zincblende', 'wurtzite'])
def test_charges_follow_the_crystal_into_a_rotated_shifted_reordered_supercell(name):
    if name in ('zincblende', 'wurtzite'):
        source = bulk('CuAu', name, a=4.0, c=6.5) if name == 'wurtzite' else bulk('CuAu', name, a=5.6)
    else:
        source = lattice_crystal(name)
    born, dielectric = site_symmetric_charges(source, seed=3)
    rotation = Rotation.random(random_state=11).as_matrix()
    target = source.repeat((1, 2, 1))
    target.set_cell(target.cell.array @ rotation.T, scale_atoms=True)
    target.translate([0.37, -0.21, 0.55])
    target.wrap()
    order = np.random.default_rng(5).permutation(len(target))
    target = target[order]

    moved_born, moved_dielectric = charges_for_cell(BornCharges(source, born, dielectric), target, SYMPREC)

    source_atom = (np.arange(len(target)) % len(source))[order]
    expected = np.array([rotation @ born[i] @ rotation.T for i in source_atom])
    np.testing.assert_allclose(moved_born, expected, atol=1e-10)
    np.testing.assert_allclose(moved_dielectric, rotation @ dielectric @ rotation.T, atol=1e-10)


def test_charges_of_the_primitive_cell_reach_the_standardised_cell_of_the_other_setting():
    """phonopy's primitive cell of zincblende standardises to the setting with the anion at (3/4, 3/4, 3/4), the
    conventional cell to (1/4, 1/4, 1/4): the charges follow the atoms, not the positions."""
    structure = bulk('CuAu', 'zincblende', a=5.6)
    charges = from_born_file(BORN_ZINCBLENDE, structure, SYMPREC)
    standard, _ = standardize(structure, SYMPREC)
    born, dielectric = charges_for_cell(charges, standard, SYMPREC)
    signs = np.where(np.array(standard.get_chemical_symbols()) == 'Cu', 1.5, -1.5)
    np.testing.assert_allclose(born, signs[:, None, None] * np.eye(3), atol=1e-12)
    np.testing.assert_allclose(dielectric, 4 * np.eye(3), atol=1e-12)


def test_charges_of_another_crystal_are_refused():
    charges = from_born_file(BORN_ZINCBLENDE, bulk('CuAu', 'zincblende', a=5.6), SYMPREC)
    with pytest.raises(ValueError, match='not the same crystal'):
        charges_for_cell(charges, bulk('CuAu', 'rocksalt', a=5.2), SYMPREC)


@pytest.mark.parametrize(
    ('dielectric', 'message'),
    [(np.diag([0.5, 4, 4]), 'eigenvalues'), (np.array([[4, 1, 0], [0, 4, 0], [0, 0, 4.0]]), 'not symmetric')],
)
def test_an_impossible_dielectric_tensor_is_refused(dielectric, message):
    with pytest.raises(ValueError, match=message):
        BornCharges(bulk('CuAu', 'zincblende', a=5.6), np.zeros((2, 3, 3)), dielectric)


def test_charges_are_symmetrised_and_made_to_sum_to_zero():
    structure = bulk('CuAu', 'zincblende', a=5.6)
    broken = BornCharges(
        structure, np.array([[[1.6, 0.05, 0], [0, 1.5, 0], [0, 0, 1.4]], -1.4 * np.eye(3)]), 4 * np.eye(3)
    )
    phonon = make_phonopy(standardize(structure, SYMPREC)[0], np.eye(3, dtype=int), SYMPREC)
    record = apply_nac(phonon, NacRequest(broken, 'gonze'), SYMPREC)
    born = phonon.nac_params['born']
    np.testing.assert_allclose(born.sum(axis=0), 0, atol=1e-12)
    cu = np.array(phonon.primitive.symbols) == 'Cu'
    # site symmetry -43m: isotropic; the mean of 1.6, 1.5, 1.4 is 1.5, and the sum 1.5 - 1.4 is split evenly
    np.testing.assert_allclose(born[cu][0], 1.45 * np.eye(3), atol=1e-12)
    assert record.effect['born_sum_rule_residual'] == pytest.approx(0.2)  # xx: 1.6 - 1.4
    assert record.effect['born_change'] == pytest.approx(0.15)  # xx of Cu: 1.6 -> 1.45


def zincblende_phonons(nac: NacRequest | None, path: dict):
    """The engine's phonopy task on EMT forces of zincblende CuAu, and the phonopy object of the same setup."""
    unitcell, symmetry = standardize(bulk('CuAu', 'zincblende', a=5.6), SYMPREC)
    phonon = displaced_phonopy(unitcell, 2 * np.eye(3, dtype=int), SYMPREC, 0.01, True, None, None)
    forces = ase_forces(phonon.supercells_with_displacements, EMT())
    request = PhononRequest(
        symprec=SYMPREC,
        method='phonopy',
        symmetrize='symfc',
        properties=parse_properties({'band_path': path, 'band_npoints': 11}),
        space_group={'number': symmetry['number'], 'symbol': symmetry['international']},
        space_group_kept=None,
        nac=nac,
    )
    return compute_phonons(to_yaml_text(phonon), forces, request), unitcell


@pytest.mark.parametrize('method', ['gonze', 'wang'])
def test_phonons_with_nac_equal_plain_phonopy_with_the_same_born_file(method):
    path = {
        'path': [['GAMMA', 'X', 'K', 'GAMMA', 'L']],
        'points': {'GAMMA': [0, 0, 0], 'X': [0.5, 0, 0.5], 'K': [0.375, 0.375, 0.75], 'L': [0.5, 0.5, 0.5]},
    }
    structure = bulk('CuAu', 'zincblende', a=5.6)
    results, unitcell = zincblende_phonons(
        NacRequest(from_born_file(BORN_ZINCBLENDE, structure, SYMPREC), method), path
    )
    without, _ = zincblende_phonons(None, path)

    plain = Phonopy(phonopy_atoms(unitcell), supercell_matrix=2 * np.eye(3, dtype=int), primitive_matrix='auto')
    plain.force_constants = results.force_constants
    plain.nac_params = {**parse_BORN_from_strings(BORN_ZINCBLENDE, plain.primitive), 'method': method}
    qpoints, connections = get_band_qpoints_and_path_connections(
        [[path['points'][label] for label in path['path'][0]]], npoints=11
    )
    plain.run_band_structure(qpoints, path_connections=connections)
    # The engine keeps a point shared by two segments once, except Gamma, which each segment approaches its own way:
    # Gamma -> X, X -> K, K -> Gamma, Gamma -> L.
    first, second, third, fourth = plain.band_structure.frequencies
    expected_frequencies = np.concatenate([first, second[1:], third[1:], fourth])
    gamma_between = 11 + 10 + 10  # the first point of Gamma -> L, after the end of K -> Gamma
    np.testing.assert_allclose(results.band_frequencies, expected_frequencies, atol=1e-6)

    gamma_points = np.flatnonzero(~results.band_kpoints.any(axis=1))
    assert gamma_points.tolist() == [0, gamma_between - 1, gamma_between]
    # LO-TO: at Gamma the highest mode is split off the two TO modes, which equal the run without NAC.
    for index in gamma_points:
        lo, to = results.band_frequencies[index][-1], results.band_frequencies[index][-2]
        assert lo - to > 0.1
        np.testing.assert_allclose(results.band_frequencies[index][3:5], without.band_frequencies[0][3:5], atol=1e-6)
    assert [record.name for record in results.records][-1] == 'non_analytical_correction'


def test_the_cubic_lo_formula_is_phonopys_lo():
    """The LO that DFPT's TO and charges give (what the SiC card compares with) is phonopy's for the same numbers."""
    primitive = bulk('CuAu', 'zincblende', a=5.9)
    phonon = Phonopy(phonopy_atoms(primitive), supercell_matrix=3 * np.eye(3, dtype=int), primitive_matrix=np.eye(3))
    phonon.generate_displacements(distance=0.01)
    phonon.forces = ase_forces(phonon.supercells_with_displacements, EMT())
    phonon.produce_force_constants()
    phonon.nac_params = parse_BORN_from_strings(BORN_ZINCBLENDE, phonon.primitive)
    phonon.run_qpoints([[0, 0, 0]], nac_q_direction=[1, 0, 0])
    to, other_to, lo = np.sort(phonon.get_qpoints_dict()['frequencies'][0])[3:]
    assert other_to == pytest.approx(to, abs=1e-9) and lo - to > 1
    lo_of_formula = cubic_lo_frequency(to, 1.5, 4.0, phonon.primitive.volume, tuple(phonon.primitive.masses))
    assert lo_of_formula == pytest.approx(lo, abs=1e-8)


def plain_kappa_with_born_file(plain) -> np.ndarray:
    """kappa(300 K) (Voigt) of a Phono3py object with force constants, NAC from ``BORN_ZINCBLENDE``, as a phono3py
    user computes it: 5x5x5 mesh, 0.2 THz smearing, RTA."""
    plain.nac_params = parse_BORN_from_strings(BORN_ZINCBLENDE, plain.primitive)
    plain.mesh_numbers = [5, 5, 5]
    plain.sigmas = [0.2]
    plain.init_phph_interaction()
    plain.run_thermal_conductivity(temperatures=[300.0])
    return plain.thermal_conductivity.kappa[0, 0]


def test_kappa_with_nac_equals_plain_phono3py_with_the_same_born_file():
    import phono3py

    unitcell, _ = standardize(bulk('CuAu', 'zincblende', a=5.6), SYMPREC)
    values = parse_kappa_displacements({'supercell_matrix': np.eye(3, dtype=int).tolist()})
    ph3 = make_phono3py(unitcell, *supercell_matrices(unitcell, values, SYMPREC), SYMPREC)
    supercells, layout = generate_displacements(ph3, values)
    forces = list(ase_forces(supercells, EMT()))
    conductivity = parse_conductivity({'mesh': [5, 5, 5], 'temperatures': [300.0], 'smearing_thz': 0.2})
    charges = from_born_file(BORN_ZINCBLENDE, unitcell, SYMPREC)
    request = ConductivityRequest(SYMPREC, layout, conductivity, symmetrize=None, nac=NacRequest(charges, 'gonze'))
    ours = compute_conductivity(to_phono3py_yaml(ph3), forces, request)
    without = compute_conductivity(to_phono3py_yaml(ph3), forces, replace(request, nac=None))

    plain = phono3py.Phono3py(phonopy_atoms(unitcell), supercell_matrix=np.eye(3, dtype=int), primitive_matrix='auto')
    plain.dataset = ph3.dataset
    plain.forces = np.array(forces)
    plain.produce_fc3()
    expected = plain_kappa_with_born_file(plain)
    np.testing.assert_allclose(ours.arrays['kappa'][0], expected, rtol=1e-6, atol=1e-9 * np.abs(expected).max())
    assert not np.allclose(without.arrays['kappa'][0], expected, rtol=1e-3)  # the correction changes kappa
    assert [record.name for record in ours.records] == ['non_analytical_correction']
