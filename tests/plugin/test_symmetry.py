"""Space-group projection and net-force removal as calcfunctions on real model forces."""

import numpy as np
import pytest
import spglib
from aiida.engine import run_get_node
from aiida.orm import ArrayData, Float
from aiida.plugins import CalculationFactory
from ase import Atoms
from ase.build import bulk
from ase.spacegroup.symmetrize import prep_symmetry

from aiida_unconmlip.data import ForceSetData, StructureSetData
from aiida_unconmlip.phonons.phonopy_setup import displaced_phonopy, displaced_supercells
from aiida_unconmlip.symmetry.net_force import net_force_removal
from aiida_unconmlip.symmetry.no_symmetry import (
    fingerprints_tell_atoms_apart,
    has_no_symmetry,
    lattice_rotations,
    neighbour_fingerprints,
    rotations_fixing_every_atom,
)
from aiida_unconmlip.symmetry.projection import space_group_projection
from aiida_unconmlip.symmetry.space_group import space_group_operations

EvaluateCalculation = CalculationFactory('unconmlip.evaluate')


def displaced_silicon():
    """Diamond Si with one atom displaced along [111]: site symmetry 3m (C3v) survives."""
    atoms = bulk('Si', cubic=True).repeat(2)
    atoms.positions[0] += 0.03 * np.ones(3) / np.sqrt(3)
    return atoms


def symmetry_violation(forces, atoms, operations) -> float:
    """Largest |F_p(i) - Q F_i| over the operations, with Q the Cartesian rotation of each (eV/A)."""
    cell = atoms.cell.array.T
    worst = 0.0
    for rotation, atom_map in zip(operations.rotations, operations.atom_maps, strict=True):
        cartesian = cell @ rotation @ np.linalg.inv(cell)
        worst = max(worst, float(np.abs(forces[atom_map] - forces @ cartesian.T).max()))
    return worst


def test_projected_pet_forces_respect_the_site_symmetry(engine_code, default_model):
    atoms = displaced_silicon()
    structures = StructureSetData.from_ase([atoms])
    results, node = run_get_node(
        EvaluateCalculation,
        code=engine_code,
        model=default_model,
        structures=structures,
    )
    assert node.is_finished_ok, node.exit_message
    outputs = space_group_projection(structures, results['forces'], Float(1e-5), results['stresses'])

    operations = space_group_operations(atoms, 1e-5)
    assert operations.number == 160  # R3m: the 3m site symmetry of the displaced atom
    raw = results['forces'].get_list()[0]
    projected = outputs['forces'].get_list()[0]
    assert symmetry_violation(raw, atoms, operations) > 1e-7, 'raw PET forces should break the site symmetry'
    assert symmetry_violation(projected, atoms, operations) < 1e-10
    record = outputs['restoration_steps']['space_group_projection'].get_dict()
    assert record['name'] == 'space_group_projection' and record['parameters'] == {'symprec': 1e-5}
    effect = record['effect']
    assert effect['space_group_number'] == [160]
    assert effect['forces_removed_norm'][0] == pytest.approx(np.linalg.norm(raw - projected))
    stress = outputs['stresses'].get_array('stresses')[0]
    np.testing.assert_allclose(stress, stress.T, atol=1e-12)


def test_projection_leaves_symmetric_forces_unchanged(aiida_profile):
    from aiida_unconmlip.engine.reference_potentials import TersoffSi1988

    atoms = displaced_silicon()
    atoms.calc = TersoffSi1988()
    forces = ForceSetData.from_list([atoms.get_forces()])
    stresses = ArrayData()
    stresses.set_array('stresses', atoms.get_stress(voigt=False)[None])
    outputs = space_group_projection(StructureSetData.from_ase([atoms]), forces, Float(1e-5), stresses)
    np.testing.assert_allclose(outputs['forces'].get_list()[0], atoms.get_forces(), atol=1e-12)
    assert outputs['restoration_steps']['space_group_projection']['effect']['forces_removed_max'][0] < 1e-12


def test_net_force_removal_records_what_it_removed(aiida_profile):
    rng = np.random.default_rng(0)
    raw = [rng.normal(size=(8, 3)), rng.normal(size=(5, 3))]
    outputs = net_force_removal(ForceSetData.from_list(raw))
    effect = outputs['restoration_steps']['net_force_removal']['effect']
    for before, after, net in zip(raw, outputs['forces'].get_list(), effect['net_force'], strict=True):
        np.testing.assert_allclose(after.sum(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(net, before.sum(axis=0))
    assert outputs['forces'].creator.process_type.endswith('net_force_removal')


@pytest.mark.parametrize('displaced', [False, True], ids=['perfect-216', 'displaced-216'])
def test_atom_maps_are_those_fix_symmetry_uses(displaced):
    atoms = bulk('Si', 'diamond', a=5.431, cubic=True).repeat(3)
    if displaced:
        atoms.positions[0] += [0.01, 0.01, 0.01]
    operations = space_group_operations(atoms, 1e-5)
    rotations, translations, atom_maps = prep_symmetry(atoms, 1e-5)
    assert len(operations.rotations) == (48 * 108 if not displaced else 6)  # 108 lattice translations in 216 atoms
    np.testing.assert_array_equal(operations.rotations, rotations)
    np.testing.assert_array_equal(operations.translations, translations)
    np.testing.assert_array_equal(operations.atom_maps, np.array(atom_maps))


def random_displacement_supercells(count: int):
    """phonopy's random displacements of Si216 (every atom 0.01 A in a random direction), as symfc runs use."""
    unitcell = bulk('Si', 'diamond', a=5.431, cubic=True)
    phonon = displaced_phonopy(unitcell, np.diag([3, 3, 3]), 1e-5, 0.01, False, count, seed=1)
    return displaced_supercells(phonon)


def spglib_number(atoms, symprec: float) -> int:
    return spglib.get_symmetry_dataset(
        (atoms.cell.array, atoms.get_scaled_positions(), atoms.numbers), symprec=symprec
    ).number


def test_random_displacements_are_proven_without_symmetry_and_spglib_agrees():
    for atoms in random_displacement_supercells(3):
        assert has_no_symmetry(atoms, 1e-5)
        assert spglib_number(atoms, 1e-5) == 1
        operations = space_group_operations(atoms, 1e-5)
        rotations, translations, atom_maps = prep_symmetry(atoms, 1e-5)  # spglib's answer, through ASE
        assert operations.number == 1 and operations.symbol == 'P1'
        np.testing.assert_array_equal(operations.rotations, rotations)
        np.testing.assert_array_equal(operations.translations, translations)
        np.testing.assert_array_equal(operations.atom_maps, np.array(atom_maps))


def planar_random_atoms():
    """Atoms at random places on one plane: the mirror through it fixes every atom, so step 2 must find it."""
    rng = np.random.default_rng(3)
    positions = np.c_[rng.uniform(0, 10, size=(20, 2)), np.full(20, 5.0)]
    return Atoms('Si20', positions=positions, cell=[10, 10, 10], pbc=True)


def displaced_two_atom_cell():
    """Primitive Si with one atom moved: the inversion through the two atoms' midpoint survives any displacement."""
    atoms = bulk('Si')
    atoms.positions[0] += [1e-3, 2e-3, 0.0]
    return atoms


@pytest.mark.parametrize(
    'atoms',
    [displaced_silicon(), displaced_two_atom_cell(), planar_random_atoms()],
    ids=['one-atom-displaced-R3m', 'two-atom-cell-P-1', 'planar-Pm'],
)
def test_structures_with_symmetry_are_never_called_symmetry_free(atoms):
    assert spglib_number(atoms, 1e-5) > 1
    assert not has_no_symmetry(atoms, 1e-5)
    assert space_group_operations(atoms, 1e-5).number == spglib_number(atoms, 1e-5)


def test_the_mirror_of_planar_atoms_is_found_by_the_rotation_step():
    atoms = planar_random_atoms()
    fingerprints = neighbour_fingerprints(atoms)
    assert fingerprints_tell_atoms_apart(fingerprints, atoms.numbers, 1e-5)
    assert rotations_fixing_every_atom(atoms, lattice_rotations(atoms, 1e-5), 1e-5).any()


def test_a_proof_of_no_symmetry_is_never_contradicted_by_spglib():
    """Rattles from below symprec to 0.01 A of cells with and without inversion: wherever the proof holds, spglib
    finds P1, and the proof holds for the larger rattles."""
    rng = np.random.default_rng(0)
    proven = 0
    for amplitude in (5e-6, 2e-5, 1e-4, 1e-2):
        for base in (bulk('Si', cubic=True), bulk('NaCl', 'rocksalt', a=5.6, cubic=True), bulk('Mg')):
            for _ in range(5):
                atoms = base.copy()
                atoms.positions += rng.normal(scale=amplitude, size=atoms.positions.shape)
                if has_no_symmetry(atoms, 1e-5):
                    proven += 1
                    assert spglib_number(atoms, 1e-5) == 1, (amplitude, atoms.get_chemical_formula())
    assert proven >= 10
