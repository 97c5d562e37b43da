"""The pieces of the ``matbench`` protocol against the plain phono3py, phonopy and ASE calls they stand for:
phono3py's own force-constant symmetrisation with the Wigner term, isotopes and boundary scattering; phonopy's own
symmetrisation; a relaxation of the normal strains only."""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from phono3py import Phono3py
from phonopy import Phonopy

from aiida_unconmlip.conductivity.calculation import ConductivityRequest, compute_conductivity
from aiida_unconmlip.conductivity.parameters import parse_conductivity, parse_kappa_displacements
from aiida_unconmlip.conductivity.phono3py_setup import generate_displacements, make_phono3py, supercell_matrices
from aiida_unconmlip.conductivity.phono3py_setup import to_yaml_text as to_phono3py_yaml
from aiida_unconmlip.engine import Restoration, load_potential
from aiida_unconmlip.engine.relax import relax_structures
from aiida_unconmlip.engine.relax_parameters import parse_relax_parameters
from aiida_unconmlip.engine.restoration import fc_symmetrization, parse_restoration
from aiida_unconmlip.models import shipped_models
from aiida_unconmlip.phonons.calculation import PhononRequest, compute_phonons
from aiida_unconmlip.phonons.parameters import parse_properties
from aiida_unconmlip.phonons.phonopy_setup import displaced_phonopy, standardize, to_yaml_text
from tests.helpers import ase_forces, phonopy_atoms

SYMPREC = 1e-5


def noisy(forces, seed: int) -> list[np.ndarray]:
    """EMT forces with a little noise that breaks the sum rule and permutation symmetry, as a model's would."""
    rng = np.random.default_rng(seed)
    return [f + 1e-3 * rng.normal(size=f.shape) for f in forces]


def test_the_step_takes_true_traditional_or_false():
    assert fc_symmetrization(True) == 'symfc' and fc_symmetrization('traditional') == 'traditional'
    assert fc_symmetrization(False) is None
    with pytest.raises(ValueError, match='true, "traditional" or false'):
        parse_restoration({'force_constant_symmetrization': 'symmetric'}, ['force_constant_symmetrization'])


def test_kappa_equals_the_plain_phono3py_script_of_the_recipe():
    unitcell, _ = standardize(bulk('Cu', 'fcc', a=3.61, cubic=True), SYMPREC)
    fc3_matrix, fc2_matrix = np.eye(3, dtype=int), 2 * np.eye(3, dtype=int)  # small: the test is of exactness
    values = parse_kappa_displacements(
        {'supercell_matrix': fc3_matrix.tolist(), 'fc2_supercell_matrix': fc2_matrix.tolist(), 'plus_minus': 'auto'}
    )
    ph3 = make_phono3py(unitcell, *supercell_matrices(unitcell, values, SYMPREC), SYMPREC)
    supercells, layout = generate_displacements(ph3, values)
    for atoms in supercells:
        atoms.calc = EMT()
    forces = noisy([atoms.get_forces() for atoms in supercells], seed=3)
    # Gaussian smearing: the tetrahedron method is not a smooth function of the force constants (rounding moves it).
    conductivity = parse_conductivity(
        {
            'mesh': [5, 5, 5],
            'temperatures': [300.0],
            'smearing_thz': 0.1,
            'wigner': True,
            'isotope': True,
            'boundary_mfp': 1e6,
        }
    )
    request = ConductivityRequest(SYMPREC, layout, conductivity, symmetrize='traditional')
    ours = compute_conductivity(to_phono3py_yaml(ph3), forces, request)

    # The recipe's calls (Matbench Discovery's thermal_conductivity.py), in phono3py 4's spelling.
    plain = Phono3py(
        phonopy_atoms(unitcell),
        supercell_matrix=fc3_matrix,
        phonon_supercell_matrix=fc2_matrix,
        primitive_matrix='auto',
        symprec=SYMPREC,
    )
    plain.generate_displacements(distance=0.03)
    assert len(plain.supercells_with_displacements) == layout.fc3
    assert len(plain.phonon_supercells_with_displacements) == layout.fc2
    plain.forces = np.array(forces[: layout.fc3])
    plain.phonon_forces = np.array(forces[layout.fc3 :])
    plain.produce_fc2()
    plain.symmetrize_fc2()
    plain.produce_fc3()
    plain.symmetrize_fc3()
    plain.mesh_numbers = [5, 5, 5]
    plain.sigmas = [0.1]
    plain.init_phph_interaction()
    plain.run_thermal_conductivity(temperatures=[300.0], is_isotope=True, boundary_mfp=1e6, transport_type='SMM19')
    expected = plain.thermal_conductivity.kappa[0, 0]

    np.testing.assert_allclose(ours.arrays['kappa'][0], expected, rtol=1e-8, atol=1e-10 * np.abs(expected).max())
    (record,) = ours.records
    assert record.parameters == {'method': 'traditional', 'orders': [2, 3]}
    assert record.effect['fc3_relative_change'] > 0 and record.effect['fc2_relative_change'] > 0
    without_boundary = compute_conductivity(
        to_phono3py_yaml(ph3),
        forces,
        ConductivityRequest(SYMPREC, layout, {**conductivity, 'boundary_mfp': 1e-3}, 'traditional'),
    )
    assert without_boundary.arrays['kappa'][0, 0] < 0.5 * ours.arrays['kappa'][0, 0]  # a 1 nm path does scatter


def test_phonons_symmetrised_traditionally_equal_phonopys_own():
    unitcell, symmetry = standardize(bulk('Cu', 'fcc', a=3.61), SYMPREC)
    phonon = displaced_phonopy(unitcell, 3 * np.eye(3, dtype=int), SYMPREC, 0.01, True, None, None)
    forces = np.array(noisy(ase_forces(phonon.supercells_with_displacements, EMT()), seed=5))
    request = PhononRequest(
        symprec=SYMPREC,
        method='phonopy',
        symmetrize='traditional',
        properties=parse_properties({'band_npoints': 11}),
        space_group={'number': symmetry['number'], 'symbol': symmetry['international']},
        space_group_kept=None,
    )
    results = compute_phonons(to_yaml_text(phonon), forces, request)

    plain = Phonopy(phonopy_atoms(unitcell), supercell_matrix=3 * np.eye(3, dtype=int), primitive_matrix='auto')
    plain.dataset = phonon.dataset
    plain.forces = forces
    plain.produce_force_constants(calculate_full_force_constants=False)
    plain.symmetrize_force_constants()
    np.testing.assert_allclose(results.force_constants, plain.force_constants, atol=1e-12)
    (record,) = results.records
    assert record.name == 'force_constant_symmetrization' and record.parameters == {'method': 'traditional'}
    assert record.effect['relative_change'] > 0


@pytest.mark.parametrize('cell', ['normal_strains', 'full'])
def test_normal_strains_stretch_the_axes_and_keep_the_shear(cell):
    emt = next(model for model in shipped_models() if model.name == 'emt')
    potential = load_potential(emt.path, 'ase', emt.sha256)
    atoms = bulk('Cu', 'fcc', a=3.5, cubic=True)  # compressed, and sheared below
    sheared = atoms.cell.array.copy()
    sheared[0, 1] = 0.15
    atoms.set_cell(sheared, scale_atoms=True)
    parameters = parse_relax_parameters({'cell': cell, 'fmax': 1e-4, 'max_steps': 2000})
    (result,), _ = relax_structures(potential, [atoms], Restoration(), False, parameters, None)
    assert result.converged
    deformation = np.linalg.solve(atoms.cell.array, result.atoms.cell.array)
    stretch = np.diag(deformation)
    assert (stretch > 1.01).all()  # the compressed axes expanded
    shear_kept = np.allclose(deformation - np.diag(stretch), 0, atol=1e-10)
    assert shear_kept == (cell == 'normal_strains')
    assert np.abs(np.diag(result.stress)).max() < 1e-3  # eV/A^3: no normal stress left
