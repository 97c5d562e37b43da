"""DFT reference data with pw.x for real (tiny cells, low cutoff): units, sign, provenance, refusals."""

import numpy as np
import pytest
from aiida.engine import run_get_node
from aiida.orm import InstalledCode, ProcessNode, QueryBuilder, StructureData
from aiida_pseudo.data.pseudo import UpfData
from ase import units
from ase.build import bulk
from click.testing import CliRunner

from aiida_unconmlip.cli.root import cmd_root
from aiida_unconmlip.data import StructureSetData
from aiida_unconmlip.data.training_set import read_frames
from aiida_unconmlip.dft.codes import ensure_dft_codes, ensure_pseudo_family
from aiida_unconmlip.workflows.reference_set import ReferenceSetWorkChain


@pytest.fixture
def pw_code(aiida_localhost):
    ensure_pseudo_family()
    return ensure_dft_codes(aiida_localhost)['pw']


def run_reference_set(code, structures, **overrides):
    builder = ReferenceSetWorkChain.get_builder_from_protocol(
        code, structures=StructureSetData.from_ase(structures), protocol='fast', overrides=overrides
    )
    return run_get_node(builder)


def test_exported_data_equal_what_aiida_quantumespresso_parsed(pw_code, tmp_path):
    compressed, stretched = bulk('Si', 'diamond', a=5.2), bulk('Si', 'diamond', a=5.7)
    compressed.rattle(0.05, seed=1)
    results, node = run_reference_set(pw_code, [compressed, stretched])
    assert node.is_finished_ok, node.exit_message

    output = tmp_path / 'si.extxyz'
    result = CliRunner().invoke(cmd_root, ['dataset', 'export', str(node.pk), str(output)])
    assert result.exit_code == 0, result.output
    frames = read_frames(output)
    calculations = sorted(
        (n for n in node.called_descendants if n.process_label == 'PwCalculation'), key=lambda n: n.pk
    )
    assert len(frames) == len(calculations) == 2
    for frame, calculation in zip(frames, calculations, strict=True):
        parameters = calculation.outputs.output_parameters
        trajectory = calculation.outputs.output_trajectory
        assert parameters['energy_units'] == 'eV'
        assert frame.info['energy'] == pytest.approx(parameters['energy'], abs=1e-8)
        np.testing.assert_allclose(frame.arrays['forces'], trajectory.get_array('forces')[-1], atol=1e-8)
        np.testing.assert_allclose(frame.info['stress'], -trajectory.get_array('stress')[-1] * units.GPa, atol=1e-10)
        assert frame.info['split'] in ('train', 'validation', 'test')
    # ASE's sign: a compressed cell pushes outwards, so its stress is negative; a stretched one, positive
    assert np.trace(frames[0].info['stress']) < 0 < np.trace(frames[1].info['stress'])

    training_set = results['training_set']
    assert training_set.base.attributes.get('units') == {
        'energy': 'eV',
        'forces': 'eV/Angstrom',
        'stress': 'eV/Angstrom^3',
    }
    ancestors = QueryBuilder().append(type(training_set), filters={'id': training_set.pk}, tag='set')
    ancestors.append(UpfData, with_descendants='set', project='attributes.element')
    assert ancestors.all(flat=True)[0] == 'Si'


def test_generator_is_reproducible_from_its_inputs(aiida_profile):
    from aiida.orm import Dict

    from aiida_unconmlip.workflows.reference_steps import generate_reference_structures

    base = StructureData(ase=bulk('Si', 'diamond', a=5.475, cubic=True))
    parameters = Dict(
        {
            'supercells': [[[1, 0, 0], [0, 1, 0], [0, 0, 1]], [[0, 1, 1], [1, 0, 1], [1, 1, 0]]],
            'samples': [3, 2],
            'seed': 7,
        }
    )
    first = generate_reference_structures(base, parameters).get_ase_list()
    second = generate_reference_structures(base, parameters).get_ase_list()
    assert [len(a) for a in first] == [8, 8, 8, 16, 16]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a.positions, b.positions)
        np.testing.assert_array_equal(a.cell.array, b.cell.array)


def test_each_supercell_group_keeps_to_its_own_ranges(aiida_profile):
    """A group held near equilibrium stays there, and adding it leaves the earlier groups' samples unchanged."""
    from aiida.orm import Dict

    from aiida_unconmlip.workflows.reference_steps import generate_reference_structures, parse_generator

    cubic = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
    ideal = bulk('Si', 'diamond', a=5.475, cubic=True)
    wide = {'supercells': [cubic], 'samples': [4], 'seed': 3}
    grouped = {
        'supercells': [cubic, cubic],
        'samples': [4, 6],
        'strain_max': [0.03, 0.005],
        'shear_max': [0.02, 0.003],
        'rattle_min': [0.01, 0.005],
        'rattle_max': [0.1, 0.03],
        'seed': 3,
    }
    first = generate_reference_structures(StructureData(ase=ideal), Dict(wide)).get_ase_list()
    both = generate_reference_structures(StructureData(ase=ideal), Dict(grouped)).get_ase_list()
    for a, b in zip(first, both[:4], strict=True):
        np.testing.assert_array_equal(a.positions, b.positions)
    for atoms in both[4:]:
        deformation = np.linalg.solve(ideal.cell.array, atoms.cell.array)
        assert np.abs(np.diag(deformation) - 1).max() <= 0.005 + 1e-12
        assert np.abs(deformation - np.diag(np.diag(deformation))).max() <= 0.003 + 1e-12
        unrattled = ideal.positions @ deformation
        assert np.abs(atoms.positions - unrattled).max() < 0.03 * 6  # Gaussian rattle, amplitude <= 0.03 A

    with pytest.raises(ValueError, match='strain_max takes one number, or a list with one value per supercell'):
        parse_generator({**grouped, 'strain_max': [0.03]})


def count_processes() -> int:
    return QueryBuilder().append(ProcessNode).count()


@pytest.mark.parametrize(
    ('case', 'message'),
    [
        ('element_not_in_family', 'has no pseudopotential for Cu'),
        ('overlapping_atoms', 'overlapping atoms'),
        ('missing_pw', 'does not exist'),
    ],
)
def test_bad_input_is_refused_before_anything_is_stored(pw_code, aiida_localhost, case, message):
    structures = [bulk('Si', 'diamond', a=5.43)]
    code = pw_code
    if case == 'element_not_in_family':
        structures = [bulk('Cu', 'fcc', a=3.6)]
    elif case == 'overlapping_atoms':
        structures[0].positions[1] = structures[0].positions[0] + [0.2, 0.0, 0.0]
    else:
        code = InstalledCode(computer=aiida_localhost, filepath_executable='/nonexistent/pw.x', label='missing-pw')
        code.store()
    before = count_processes()
    with pytest.raises(ValueError, match=message):
        run_reference_set(code, structures)
    assert count_processes() == before


def test_failed_runs_are_left_out_and_all_failing_is_an_error(pw_code, caplog):
    caplog.set_level(23)  # AiiDA's REPORT level: the work chain's report
    _, node = run_reference_set(
        pw_code,
        [bulk('Si', 'diamond', a=5.43)],
        dft={'max_iterations': 1, 'pw': {'parameters': {'ELECTRONS': {'electron_maxstep': 2}}}},
    )
    assert node.exit_status == ReferenceSetWorkChain.exit_codes.ERROR_NOTHING_SUCCEEDED.status
    assert any('DFT of structure 0 failed' in message and 'left out' in message for message in caplog.messages)
