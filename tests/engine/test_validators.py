"""The validators that ports, the command line and the engine share, called directly: each refusal says what to fix,
and what they accept comes back with its defaults. No AiiDA, no jobs: the fast tier."""

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk, fcc111, molecule

from aiida_unconmlip.conductivity.parameters import parse_conductivity, parse_kappa_displacements
from aiida_unconmlip.engine.relax_parameters import parse_relax_parameters
from aiida_unconmlip.engine.restoration import DEFAULT_SYMPREC, STEP_NAMES, parse_restoration
from aiida_unconmlip.phonons.parameters import (
    DEFAULT_MAX_SUPERCELL_ATOMS,
    parse_displacements,
    parse_force_constants,
    parse_properties,
)
from aiida_unconmlip.qha.parameters import parse_volumes
from aiida_unconmlip.validation import (
    check_bulk_crystal,
    check_distances,
    check_elements,
    check_finite,
    supercell_size,
)


def test_a_bulk_crystal_passes_every_structure_check():
    silicon = bulk('Si', 'diamond', a=5.431)
    check_finite(silicon)
    check_distances(silicon)
    check_bulk_crystal(silicon)
    check_elements(silicon, ['Si', 'C'], 'pet')


@pytest.mark.parametrize(
    ('atoms', 'check', 'words'),
    [
        (Atoms('Si2', positions=[[0, 0, 0], [np.nan, 0, 0]], cell=np.eye(3) * 5, pbc=True), check_finite,
         'non-finite position'),
        (Atoms('Si2', positions=[[0, 0, 0], [0.2, 0, 0]], cell=np.eye(3) * 5, pbc=True), check_distances,
         'overlapping atoms'),
        (fcc111('Cu', (2, 2, 3), vacuum=6.0, periodic=True), check_bulk_crystal, 'vacuum along lattice vector c'),
        (molecule('H2O'), check_bulk_crystal, 'not a 3D-periodic crystal'),
    ],
    ids=['nan', 'overlap', 'slab', 'molecule'],
)  # fmt: skip
def test_a_structure_that_is_no_bulk_crystal_is_refused_with_what_to_fix(atoms, check, words):
    with pytest.raises(ValueError, match=words):
        check(atoms)


def test_an_element_the_model_does_not_know_is_named():
    with pytest.raises(ValueError, match=r'contains C, which model `pet` does not know \(it knows Si\)'):
        check_elements(bulk('SiC', 'zincblende', a=4.36), ['Si'], 'pet')


def test_supercell_size_counts_atoms_and_refuses_singular_left_handed_and_too_large():
    assert supercell_size([[2, 0, 0], [0, 2, 0], [0, 0, 2]], 8, 100) == 64
    assert supercell_size([[-1, 1, 1], [1, -1, 1], [1, 1, -1]], 2, 100) == 8  # non-diagonal, det 4
    with pytest.raises(ValueError, match='determinant 0'):
        supercell_size([[1, 0, 0], [1, 0, 0], [0, 0, 1]], 2, 100)
    with pytest.raises(ValueError, match='determinant -1'):
        supercell_size([[0, 1, 0], [1, 0, 0], [0, 0, 1]], 2, 100)
    with pytest.raises(ValueError, match=r'would have 128 atoms .* more than the limit of 100'):
        supercell_size(np.eye(3, dtype=int) * 4, 2, 100)


def test_phonon_parameters_come_back_with_their_defaults_and_refuse_what_they_do_not_take():
    values = parse_displacements({'min_length': 12.0})
    assert values['min_length'] == 12.0 and values['plus_minus'] is True
    assert values['max_supercell_atoms'] == DEFAULT_MAX_SUPERCELL_ATOMS
    assert parse_force_constants(None) == {'method': 'phonopy'}
    assert parse_properties({'projected_dos': True})['projected_dos'] is True
    for given, words in [
        ({'amplitud': 0.01}, r"unknown displacements keys \['amplitud'\]"),
        ({'amplitude': float('nan')}, 'must hold finite numbers'),
        ({'amplitude': -0.01}, 'amplitude must be positive'),
        ({'supercell_shape': 'round'}, 'supercell_shape must be one of diagonal, isotropic'),
        ({'random_snapshots': 0}, 'random_snapshots must be a positive integer'),
    ]:
        with pytest.raises(ValueError, match=words):
            parse_displacements(given)
    with pytest.raises(ValueError, match=r'force_constants.method must be one of'):
        parse_force_constants({'method': 'alm'})
    with pytest.raises(ValueError, match='no coordinates for X'):
        parse_properties({'band_path': {'path': [['GAMMA', 'X']], 'points': {'GAMMA': [0, 0, 0]}}})


def test_conductivity_parameters_share_the_method_map_and_refuse_with_their_own_names():
    assert parse_conductivity({'force_constants': 'symfc'})['force_constants'] == 'symfc'
    assert parse_kappa_displacements(None)['plus_minus'] is True
    with pytest.raises(ValueError, match=r'conductivity.force_constants must be one of phonopy, symfc'):
        parse_conductivity({'force_constants': 'alm'})
    with pytest.raises(ValueError, match=r'conductivity.wigner .* with method "rta"'):
        parse_conductivity({'wigner': True, 'method': 'lbte'})
    with pytest.raises(ValueError, match='fc2_min_length must be positive'):
        parse_kappa_displacements({'fc2_min_length': 0})


def test_restoration_relaxation_and_volume_scan_parameters():
    assert set(parse_restoration(None, STEP_NAMES)) == set(STEP_NAMES)
    assert parse_restoration({'rotational_average': {'l_max': 3, 'inversion': True}})['rotational_average'] == {
        'l_max': 3,
        'inversion': True,
    }
    with pytest.raises(ValueError, match=r'l_max must be an integer from 1 to 20, not 0 .*false switches'):
        parse_restoration({'rotational_average': {'l_max': 0}})
    assert parse_relax_parameters(None).symprec == DEFAULT_SYMPREC
    with pytest.raises(ValueError, match='cell must be one of'):
        parse_relax_parameters({'cell': 'shape'})
    assert parse_volumes(None)['eos'] == 'vinet'
    with pytest.raises(ValueError, match=r'volumes.eos must be one of'):
        parse_volumes({'eos': 'bm3'})
