"""Space-group projection and net-force removal as calcfunctions on real model forces."""

import numpy as np
import pytest
from aiida.engine import run_get_node
from aiida.orm import ArrayData, Float
from aiida.plugins import CalculationFactory
from ase.build import bulk

from aiida_unconmlip.data import ForceSetData, StructureSetData
from aiida_unconmlip.symmetry import net_force_removal, space_group_projection
from aiida_unconmlip.symmetry.space_group import symmetry_operations

EvaluateCalculation = CalculationFactory('unconmlip.evaluate')


def displaced_silicon():
    """Diamond Si with one atom displaced along [111]: site symmetry 3m (C3v) survives."""
    atoms = bulk('Si', cubic=True).repeat(2)
    atoms.positions[0] += 0.03 * np.ones(3) / np.sqrt(3)
    return atoms


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

    operations = symmetry_operations(atoms, 1e-5)
    assert operations.space_group_number == 160  # R3m: the 3m site symmetry of the displaced atom
    raw = results['forces'].get_list()[0]
    projected = outputs['forces'].get_list()[0]
    raw_error = max(
        np.abs(raw[p] - raw @ q.T).max() for q, p in zip(operations.rotations, operations.permutations, strict=True)
    )
    error = max(
        np.abs(projected[p] - projected @ q.T).max()
        for q, p in zip(operations.rotations, operations.permutations, strict=True)
    )
    assert raw_error > 1e-7, 'raw PET forces should break the site symmetry slightly'
    assert error < 1e-10
    effect = outputs['effect'].get_dict()
    assert effect['space_group_number'] == [160]
    assert effect['forces_removed_norm'][0] == pytest.approx(np.linalg.norm(raw - projected))
    stress = outputs['stresses'].get_array('stresses')[0]
    np.testing.assert_allclose(stress, stress.T, atol=1e-12)


def test_projection_leaves_symmetric_forces_unchanged(aiida_profile):
    from aiida_unconmlip.engine.reference_potentials import tersoff_si_1988

    atoms = displaced_silicon()
    atoms.calc = tersoff_si_1988()
    forces = ForceSetData.from_list([atoms.get_forces()])
    stresses = ArrayData()
    stresses.set_array('stresses', atoms.get_stress(voigt=False)[None])
    outputs = space_group_projection(StructureSetData.from_ase([atoms]), forces, Float(1e-5), stresses)
    np.testing.assert_allclose(outputs['forces'].get_list()[0], atoms.get_forces(), atol=1e-12)
    assert outputs['effect']['forces_removed_max'][0] < 1e-12


def test_net_force_removal_records_what_it_removed(aiida_profile):
    rng = np.random.default_rng(0)
    raw = [rng.normal(size=(8, 3)), rng.normal(size=(5, 3))]
    outputs = net_force_removal(ForceSetData.from_list(raw))
    for before, after, net in zip(raw, outputs['forces'].get_list(), outputs['effect']['net_force'], strict=True):
        np.testing.assert_allclose(after.sum(axis=0), 0.0, atol=1e-12)
        np.testing.assert_allclose(net, before.sum(axis=0))
    assert outputs['forces'].creator.process_type.endswith('net_force_removal')
