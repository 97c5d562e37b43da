"""The thermal-conductivity work chain: exact against plain phono3py + ASE, isotropic with an unconstrained PET."""

import numpy as np
import phono3py
import pytest
from aiida.engine import run_get_node
from aiida.orm import StructureData
from ase import Atoms
from ase.build import bulk
from ase.calculators.emt import EMT
from phono3py import Phono3py

from aiida_unconmlip.engine.reference_potentials import TersoffSi1988
from aiida_unconmlip.engine.restoration import RESTORATION_OFF
from aiida_unconmlip.provenance import restoration_chain
from aiida_unconmlip.workflows.thermal_conductivity import ThermalConductivityWorkChain
from tests.helpers import ase_forces, phonopy_atoms

MESH = [7, 7, 7]


def plain_phono3py_kappa(
    unitcell: Atoms, supercell_matrix, calculator, plus_minus, temperatures, smearing, symmetrize
) -> np.ndarray:
    """What a phono3py user does by hand: displacements of 0.03 A, ASE forces, fc3 and fc2 (symmetrised with symfc's
    projector), RTA kappa on the mesh."""
    ph3 = Phono3py(
        phonopy_atoms(unitcell),
        supercell_matrix=supercell_matrix,
        primitive_matrix='auto',
    )
    ph3.generate_displacements(distance=0.03, is_plusminus=plus_minus)
    ph3.forces = ase_forces(ph3.supercells_with_displacements, calculator)
    ph3.produce_fc3()
    if symmetrize:
        ph3.symmetrize_fc3(use_symfc_projector=True)
        ph3.symmetrize_fc2(use_symfc_projector=True)
    ph3.mesh_numbers = MESH
    ph3.sigmas = [smearing]
    ph3.init_phph_interaction()
    ph3.run_thermal_conductivity(temperatures=temperatures)
    return ph3.thermal_conductivity.kappa[0]


def run_kappa(code, structure, model, protocol='fast', relax=False, **overrides):
    builder = ThermalConductivityWorkChain.get_builder_from_protocol(
        code, StructureData(ase=structure), model, protocol=protocol, relax=relax, overrides=overrides
    )
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    return results, node


@pytest.mark.parametrize(
    ('model_name', 'structure', 'calculator', 'plus_minus', 'smearing', 'restoration'),
    [
        ('emt', bulk('Cu', 'fcc', a=3.61), EMT(), True, 0.1, {}),
        ('tersoff-si-1988', bulk('Si', 'diamond', a=5.432), TersoffSi1988(), 'auto', 0.1, {}),
        ('emt', bulk('Cu', 'fcc', a=3.61), EMT(), True, None, RESTORATION_OFF),
    ],
    ids=['Cu-EMT', 'Si-Tersoff', 'Cu-EMT-tetrahedron-raw'],
)
def test_work_chain_equals_plain_phono3py_and_ase(
    engine_code, shipped_models, model_name, structure, calculator, plus_minus, smearing, restoration
):
    """Equal to 1e-6 with Gaussian smearing, where kappa is a smooth function of the forces, with every restoration
    step on; with the tetrahedron method kappa jumps with forces changed at 1e-14 eV/A (the projection's round-off),
    so it is compared with the restoration steps off, on the same forces."""
    temperatures = [300.0, 600.0]
    results, _ = run_kappa(
        engine_code,
        structure,
        shipped_models[model_name],
        displacements={'min_length': 7.0, 'plus_minus': plus_minus},
        conductivity={'mesh': MESH, 'temperatures': temperatures, 'smearing_thz': smearing},
        restoration=restoration,
    )
    with results['phono3py_params'].as_path() as path:
        supercell_matrix = phono3py.load(path, produce_fc=False).supercell_matrix
    assert results['supercell_matrix'].get_list() == supercell_matrix.tolist()
    unitcell = results['structure'].get_ase()
    symmetrize = not restoration
    expected = plain_phono3py_kappa(
        unitcell, supercell_matrix, calculator, plus_minus, temperatures, smearing, symmetrize
    )
    kappa = results['kappa']
    np.testing.assert_array_equal(kappa.get_array('temperatures'), temperatures)
    np.testing.assert_allclose(kappa.get_array('kappa'), expected, rtol=1e-6, atol=1e-9 * np.abs(expected).max())
    assert kappa.get_array('kappa')[0, 0] > 1  # W/m-K: a crystal, not a glass
    cumulative = results['cumulative_kappa'].get_array('kappa')
    np.testing.assert_allclose(cumulative[:, -1], kappa.get_array('kappa')[:, :3].mean(axis=1), rtol=1e-8)
    assert results['diagnostics']['imaginary_modes'] == 0


def test_phono3py_files_reproduce_kappa(engine_code, shipped_models):
    """phono3py_params.yaml with fc2.hdf5 and fc3.hdf5 give back the same kappa in phono3py alone."""
    temperatures = [300.0]
    results, _ = run_kappa(
        engine_code,
        bulk('Cu', 'fcc', a=3.61),
        shipped_models['emt'],
        displacements={'min_length': 7.0, 'fc2_min_length': 10.0},
        conductivity={'mesh': MESH, 'temperatures': temperatures, 'mode_properties': True},
    )
    with (
        results['phono3py_params'].as_path() as params,
        results['fc2'].as_path() as fc2,
        results['fc3'].as_path() as fc3,
    ):
        ph3 = phono3py.load(params, fc2_filename=fc2, fc3_filename=fc3, produce_fc=False, log_level=0)
    assert ph3.phonon_supercell_matrix is not None and len(ph3.phonon_supercells_with_displacements) > 0
    ph3.mesh_numbers = MESH
    ph3.init_phph_interaction()
    ph3.run_thermal_conductivity(temperatures=temperatures)
    np.testing.assert_allclose(results['kappa'].get_array('kappa'), ph3.thermal_conductivity.kappa[0], rtol=1e-10)
    modes = results['mode_properties']
    assert modes.get_array('linewidths').shape == (1, *modes.get_array('frequencies').shape)
    assert (modes.get_array('linewidths')[0][modes.get_array('frequencies') > 1] > 0).all()


def test_pet_kappa_of_silicon_is_isotropic_and_on_record(engine_code, default_model, record_property):
    silicon = bulk('Si', 'diamond', a=5.43)
    results, node = run_kappa(
        engine_code,
        silicon,
        default_model,
        relax=True,
        displacements={'plus_minus': 'auto'},
        conductivity={'mesh': MESH, 'temperatures': [300.0]},
    )
    kappa = results['kappa'].get_array('kappa')[0]
    record_property('kappa_300K', kappa.tolist())
    print('kappa(300 K):', kappa)
    assert kappa[0] > 10
    np.testing.assert_allclose(kappa[:3], kappa[0], rtol=1e-6)
    np.testing.assert_allclose(kappa[3:], 0, atol=1e-6 * kappa[0])
    chain = restoration_chain(results['kappa'])
    assert [step.name for step in chain.steps] == [
        'fix_symmetry',
        'forces_mode',
        'forces_mode',
        'space_group_projection',
        'net_force_removal',
        'force_constant_symmetrization',
    ]
    effect = chain.steps[-1].effect
    assert effect['fc3_relative_change'] > 0 and effect['fc2_relative_change'] > 0
    assert node.outputs.symmetry['number'] == 227


def test_bad_inputs_are_refused_before_any_job(engine_code, shipped_models):
    with pytest.raises(ValueError, match=r'conductivity\.method must be one of rta, lbte'):
        run_kappa(engine_code, bulk('Cu', 'fcc', a=3.61), shipped_models['emt'], conductivity={'method': 'exact'})
    with pytest.raises(ValueError, match='would have 6912 atoms'):
        run_kappa(engine_code, bulk('Cu', 'fcc', a=3.61), shipped_models['emt'], displacements={'min_length': 40.0})


def test_matbench_protocol_is_the_published_recipe(engine_code, shipped_models):
    """The ``matbench`` protocol against the recipe's own phono3py calls on the work chain's relaxed cell: rotational
    average without inversion and no other force step, 'auto' displacement pairs, phono3py's own symmetrisation,
    Wigner, isotopes, boundary scattering (Gaussian smearing for an exact comparison, as above)."""
    conductivity = {'mesh': MESH, 'smearing_thz': 0.1}
    results, node = run_kappa(
        engine_code,
        bulk('Cu', 'fcc', a=3.55),
        shipped_models['emt'],
        protocol='matbench',
        relax=True,
        displacements={'supercell_matrix': np.eye(3, dtype=int).tolist(), 'fc2_min_length': 7.0},
        conductivity=conductivity,
    )
    assert node.inputs.conductivity.get_dict() == {
        **conductivity,
        'wigner': True,
        'isotope': True,
        'boundary_mfp': 1e6,
        'temperatures': [300.0],
    }
    relax_parameters = node.inputs.relax.relax.parameters.get_dict()
    assert relax_parameters == {'max_steps': 300, 'cell': 'normal_strains'}
    unitcell = results['structure'].get_ase()
    assert unitcell.cell.cellpar()[0] > 3.56  # relaxed from the compressed cell, by normal strains

    ph3 = Phono3py(
        phonopy_atoms(unitcell),
        supercell_matrix=np.eye(3, dtype=int),
        phonon_supercell_matrix=2 * np.eye(3, dtype=int),
        primitive_matrix='auto',
    )
    ph3.generate_displacements(distance=0.03)
    ph3.forces = ase_forces(ph3.supercells_with_displacements, EMT())
    ph3.phonon_forces = ase_forces(ph3.phonon_supercells_with_displacements, EMT())
    ph3.produce_fc2()
    ph3.symmetrize_fc2()
    ph3.produce_fc3()
    ph3.symmetrize_fc3()
    ph3.mesh_numbers = MESH
    ph3.sigmas = [0.1]
    ph3.init_phph_interaction()
    ph3.run_thermal_conductivity(temperatures=[300.0], is_isotope=True, boundary_mfp=1e6, transport_type='SMM19')
    expected = ph3.thermal_conductivity.kappa[0]
    np.testing.assert_allclose(results['kappa'].get_array('kappa'), expected, rtol=1e-6, atol=1e-9 * expected.max())

    chain = restoration_chain(results['kappa'])
    names = [step.name for step in chain.steps]
    assert 'space_group_projection' not in names and 'net_force_removal' not in names
    average = next(step for step in chain.steps if step.name == 'rotational_average')
    assert average.parameters['l_max'] == 3 and average.parameters['inversion'] is False
    assert chain.steps[-1].name == 'force_constant_symmetrization'
    assert chain.steps[-1].parameters == {'method': 'traditional', 'orders': [2, 3]}
