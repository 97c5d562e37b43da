"""Band paths right for every lattice: the labelled frequencies of a run are plain phonopy's at seekpath's own points,
carried into the run's cell through Cartesian q, whatever cell the crystal is given in."""

import numpy as np
import phonopy
import pytest
import seekpath
from aiida.engine import run_get_node
from aiida.orm import StructureData
from ase import Atoms

from aiida_unconmlip.workflows.phonons import PhononWorkChain
from tests.lattices import CRYSTALS, lattice_crystal, primitive_of, rotated_and_shifted

TOLERANCE_THZ = 1e-6


def run_phonons(code, model, atoms: Atoms):
    """The phonons of ``atoms`` with EMT, no relaxation: a supercell of 2 x 2 x 2 standardised cells where these have
    fewer than 8 atoms (the path does not depend on the supercell)."""
    overrides = {'displacements': {'min_length': 4.0}, 'properties': {'band_npoints': 11, 'mesh_length': 8.0}}
    builder = PhononWorkChain.get_builder_from_protocol(
        code, StructureData(ase=atoms), model, protocol='fast', relax=False, overrides=overrides
    )
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    return results


def seekpath_points_in_run_basis(given: Atoms, run_primitive: np.ndarray, run_unitcell: np.ndarray) -> dict:
    """seekpath's points of the cell as given, fractional in the reciprocal basis of the run's primitive cell.

    seekpath works in spglib's standardised frame of the given cell, which is also the frame of the run's
    standardised cell (checked: seekpath's conventional cell is an integer combination of the run's), so the points
    are carried over through Cartesian q alone."""
    path = seekpath.get_path((given.cell.array, given.get_scaled_positions(), given.numbers))
    combination = path['conv_lattice'] @ np.linalg.inv(run_unitcell)
    np.testing.assert_allclose(combination, np.rint(combination), atol=1e-6)
    cartesian = {label: np.array(q) @ path['reciprocal_primitive_lattice'] for label, q in path['point_coords'].items()}
    return {label: q @ run_primitive.T / (2 * np.pi) for label, q in cartesian.items()}, path


def assert_labelled_frequencies_are_plain_phonopys(results, given: Atoms) -> dict:
    """Every labelled point of the run against plain phonopy with the run's force constants; returns the plain
    phonopy object, seekpath's points in the run's basis and seekpath's own result."""
    with results['phonopy_yaml'].as_path() as path:
        plain = phonopy.load(path, produce_fc=False, log_level=0)
    points, path = seekpath_points_in_run_basis(given, plain.primitive.cell, results['structure'].cell)
    bands = results['band_structure']
    frequencies = bands.get_bands()
    labels = bands.labels
    assert {label for _, label in labels} == {label for segment in path['path'] for label in segment}
    for index, label in labels:
        expected = np.sort(plain.get_frequencies(points[label]))
        np.testing.assert_allclose(np.sort(frequencies[index]), expected, atol=TOLERANCE_THZ, err_msg=label)
    return plain, points, path


def unchanged_coordinates_error_thz(plain, points: dict, path: dict) -> float:
    """How far seekpath's coordinates used unchanged in phonopy's basis (the bug of finding 1) are off, in THz."""
    return max(
        np.abs(np.sort(plain.get_frequencies(path['point_coords'][label])) - np.sort(plain.get_frequencies(q))).max()
        for label, q in points.items()
    )


# where seekpath's primitive cell is another basis than phonopy's, its coordinates used unchanged were wrong by this
UNCHANGED_WRONG_BY_THZ = {'mC1': 1.0, 'mC2': 0.3, 'mC3': 1.0, 'oA1': 1.0, 'oA2': 0.3, 'aP2': 1.0, 'aP3': 1.0}


@pytest.mark.parametrize('name', sorted(CRYSTALS))
def test_band_path_is_seekpaths_for_every_extended_bravais_lattice(engine_code, shipped_models, name):
    given = lattice_crystal(name)
    results = run_phonons(engine_code, shipped_models['emt'], given)
    plain, points, path = assert_labelled_frequencies_are_plain_phonopys(results, given)
    assert path['bravais_lattice_extended'] == name
    if name in UNCHANGED_WRONG_BY_THZ:
        assert unchanged_coordinates_error_thz(plain, points, path) > UNCHANGED_WRONG_BY_THZ[name]


@pytest.mark.parametrize('name', ['hP1', 'hR2', 'oA1', 'mC1'])
@pytest.mark.parametrize('form', ['primitive', 'rotated and shifted'])
def test_band_path_does_not_depend_on_the_cell_the_crystal_is_given_in(engine_code, shipped_models, name, form):
    conventional = lattice_crystal(name)
    given = primitive_of(conventional) if form == 'primitive' else rotated_and_shifted(conventional)
    results = run_phonons(engine_code, shipped_models['emt'], given)
    assert_labelled_frequencies_are_plain_phonopys(results, given)


def test_fcc_copper_perturbed_to_p1_gets_the_points_of_its_triclinic_cell(engine_code, shipped_models):
    """fcc Cu with one atom moved by 1e-4 A is P1 at the default symprec: seekpath's Niggli-reduced cell, whose
    coordinates used unchanged were off by more than 1e-4 THz."""
    atoms = lattice_crystal('cF2')
    atoms.positions[0] += 1e-4 * np.array([3, 2, 1]) / np.sqrt(14)  # a general direction: no operation is left
    results = run_phonons(engine_code, shipped_models['emt'], atoms)
    plain, points, path = assert_labelled_frequencies_are_plain_phonopys(results, atoms)
    assert path['bravais_lattice'] == 'aP'
    assert unchanged_coordinates_error_thz(plain, points, path) > 1e-4
