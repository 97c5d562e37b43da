"""Space-group projection and net-force removal as calcfunctions on real model forces."""

import numpy as np
import pytest
from aiida.engine import run_get_node
from aiida.orm import ArrayData, Float
from aiida.plugins import CalculationFactory
from ase.build import bulk
from ase.spacegroup.symmetrize import prep_symmetry

from aiida_unconmlip.data import ForceSetData, StructureSetData
from aiida_unconmlip.symmetry import net_force_removal, space_group_projection
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
