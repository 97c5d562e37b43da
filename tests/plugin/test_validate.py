"""``unconmlip.validate`` for real: the default model's runs checked with pw.x at the DFT settings of its training
data, on small Si cells; the numbers it reports recomputed here from the pw.x calculations' own outputs."""

import json

import numpy as np
import pytest
from aiida.engine import run_get_node
from aiida.manage.caching import enable_caching
from aiida.orm import CalcJobNode, QueryBuilder, StructureData
from aiida_pseudo.data.pseudo import UpfData
from ase.build import bulk
from ase.units import GPa
from click.testing import CliRunner

from aiida_unconmlip.cli.root import cmd_root
from aiida_unconmlip.data import StructureSetData
from aiida_unconmlip.dft.codes import ensure_dft_codes, ensure_pseudo_family
from aiida_unconmlip.workflows.evaluate import EvaluateWorkChain
from aiida_unconmlip.workflows.phonons import PhononWorkChain
from aiida_unconmlip.workflows.validate import ValidateWorkChain
from aiida_unconmlip.workflows.validate_steps import checked_run, dft_calculations

LATTICE_CONSTANT = 5.475  # the DFT setup's own


@pytest.fixture
def pw_code(aiida_localhost):
    ensure_pseudo_family()
    return ensure_dft_codes(aiida_localhost)['pw']


def pw_results(node):
    """Energy (eV), forces (eV/A) and stress (eV/A^3, ASE sign) of each cell, read from the pw.x calculations."""
    reference = node.base.links.get_outgoing(link_label_filter='dft').one().node
    runs = sorted(reference.base.links.get_outgoing(link_label_filter='dft_%').all(), key=lambda link: link.link_label)
    results = []
    for link in runs:
        calculation = link.node.called[-1]
        trajectory = calculation.outputs.output_trajectory
        results.append(
            (
                calculation.outputs.output_parameters['energy'],
                trajectory.get_array('forces')[-1],
                -trajectory.get_array('stress')[-1] * GPa,
            )
        )
    return results


def model_results(node):
    """The model's energies and stresses, and its forces after the run's restoration steps (the last step's)."""
    evaluation = node.base.links.get_outgoing(link_label_filter='model').one().node
    last = node.base.links.get_outgoing(link_label_filter='net_force_removal').one().node
    return (
        evaluation.outputs.energies.get_array('energies'),
        last.outputs.forces.get_list(),
        evaluation.outputs.stresses.get_array('stresses'),
    )


@pytest.fixture
def phonon_run(engine_code, default_model):
    builder = PhononWorkChain.get_builder_from_protocol(
        engine_code,
        StructureData(ase=bulk('Si', 'diamond', a=LATTICE_CONSTANT)),
        default_model,
        protocol='fast',
        relax=False,
    )
    _, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    return node


def test_errors_are_the_model_against_pw(phonon_run, pw_code):
    """The displacement pattern of the phonon run in the primitive cell, with the training data's pw.x settings."""
    builder = ValidateWorkChain.get_builder_from_run(phonon_run, pw_code, {'max_atoms': 2})
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    errors = results['errors'].get_dict()
    cells = results['structures'].get_ase_list()
    assert [len(atoms) for atoms in cells] == [2, 2, 2]  # undisplaced, then the displacement and its opposite

    dft = pw_results(node)
    # the check reads pw.x through its training set, an extxyz file written to 1e-8 eV/A: that is the agreement
    exact = {'abs': 1e-4}  # meV/A
    energies, forces, stresses = model_results(node)
    difference = np.concatenate([model - reference[1] for model, reference in zip(forces, dft, strict=True)])
    assert errors['forces_mev_per_angstrom']['mae'] == pytest.approx(1000 * np.abs(difference).mean(), **exact)
    assert errors['forces_mev_per_angstrom']['rmse'] == pytest.approx(1000 * np.sqrt((difference**2).mean()), **exact)
    stress = np.array([model - reference[2] for model, reference in zip(stresses, dft, strict=True)]) / GPa
    assert errors['stress']['mae_gpa'] == pytest.approx(np.abs(stress).mean(), abs=1e-6)
    aligned = [(energies[i] - energies[0]) / 2 - (dft[i][0] - dft[0][0]) / 2 for i in (1, 2)]
    assert errors['energy_mev_per_atom']['max'] == pytest.approx(1000 * max(map(abs, aligned)), abs=1e-4)

    pattern = errors['displacement_patterns'][0]
    plus, minus = cells[1].positions - cells[0].positions, cells[2].positions - cells[0].positions
    atom = int(np.argmax(np.linalg.norm(plus, axis=1)))
    direction = plus[atom] / np.linalg.norm(plus[atom])
    assert np.allclose(minus[atom], -plus[atom])
    ratio = (forces[1][atom] @ direction - forces[2][atom] @ direction) / (
        dft[1][1][atom] @ direction - dft[2][1][atom] @ direction
    )
    assert pattern['displaced_atom_force_ratio'] == pytest.approx(ratio, rel=1e-6)
    assert 0.9 < ratio < 1.15  # the default model is close to its DFT at its own lattice constant
    assert errors['verdict']['domain'] == 'inside', errors['verdict']['message']

    # provenance: the pw.x runs and their pseudopotential, the run checked, the model card's errors
    calculations = dft_calculations(node)
    assert len(calculations) == 3 and all(isinstance(n, CalcJobNode) for n in calculations)
    traced = CliRunner().invoke(cmd_root, ['provenance', str(node.pk), '--json'])
    assert traced.exit_code == 0, traced.output
    traced = json.loads(traced.output)
    assert traced['dft_calculations'] == [n.pk for n in calculations]
    assert traced['checked'] == {'pk': phonon_run.pk, 'process': 'PhononWorkChain'}
    pseudos = QueryBuilder().append(type(results['errors']), filters={'id': results['errors'].pk}, tag='errors')
    pseudos.append(UpfData, with_descendants='errors', project='attributes.filename')
    assert pseudos.distinct().all(flat=True) == ['Si.pbe-rrkj.UPF']
    assert checked_run(node).pk == phonon_run.pk
    shown = CliRunner().invoke(cmd_root, ['show', str(phonon_run.pk), '--json'])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)['validations'] == [
        {'pk': node.pk, 'domain': 'inside', 'message': errors['verdict']['message']}
    ]


def test_outside_the_domain_is_said_and_fails_only_when_asked(engine_code, default_model, pw_code):
    """Si compressed by 10 %, rattled: far from anything the model was trained on. A second check with caching on
    reuses the pw.x results."""
    compressed = bulk('Si', 'diamond', a=0.9 * LATTICE_CONSTANT, cubic=True)
    compressed.rattle(0.05, seed=4)
    inputs = {'code': engine_code, 'model': default_model, 'structures': StructureSetData.from_ase([compressed])}
    _, evaluation = run_get_node(EvaluateWorkChain, evaluate=inputs)
    assert evaluation.is_finished_ok, evaluation.exit_message

    with enable_caching(identifier='aiida.calculations:quantumespresso.pw'):
        results, first = run_get_node(ValidateWorkChain.get_builder_from_run(evaluation, pw_code, {'samples': 1}))
        assert first.is_finished_ok, first.exit_message
        verdict = results['errors']['verdict']
        assert verdict['domain'] == 'outside', verdict
        assert max(verdict['ratios'].values()) > 5
        assert verdict['message'].startswith("outside the model's domain")

        refusing = ValidateWorkChain.get_builder_from_run(evaluation, pw_code, {'samples': 1}, fail_outside_domain=True)
        _, second = run_get_node(refusing)
    assert second.exit_status == ValidateWorkChain.exit_codes.ERROR_OUTSIDE_DOMAIN.status
    assert second.outputs.errors['verdict'] == verdict  # the numbers are there before it fails
    pw_runs = dft_calculations(second)
    assert pw_runs and all(n.base.caching.is_created_from_cache for n in pw_runs)


def test_a_run_that_cannot_be_checked_is_refused(engine_code, default_model, pw_code):
    silicon = StructureSetData.from_ase([bulk('Si', 'diamond', a=LATTICE_CONSTANT, cubic=True)])
    _, evaluation = run_get_node(
        EvaluateWorkChain, evaluate={'code': engine_code, 'model': default_model, 'structures': silicon}
    )
    result = CliRunner().invoke(cmd_root, ['validate', str(evaluation.pk), '--max-atoms', '4'])
    assert result.exit_code != 0
    assert 'every structure of the run has more than max_atoms 4 atoms' in result.output


def test_the_default_models_known_gamma_error_is_found(engine_code, default_model, pw_code):
    """The model card's Gamma optical mode is 0.36 THz above the DFPT and a frozen phonon's restoring forces 5.4 %
    too large (docs/default-model.rst): a check of the moderate phonon run, in cells of up to 8 atoms, finds both."""
    from aiida_unconmlip.models.recipes.default_model import reference_workchain
    from aiida_unconmlip.summaries import labelled_frequencies

    builder = PhononWorkChain.get_builder_from_protocol(
        engine_code, StructureData(ase=bulk('Si', 'diamond', a=LATTICE_CONSTANT)), default_model, protocol='moderate'
    )
    phonons, run = run_get_node(builder)
    assert run.is_finished_ok, run.exit_message
    dfpt = reference_workchain('silicon-dfpt-reference').outputs.frequencies['frequencies_thz']
    actual = max(labelled_frequencies(phonons['band_structure'])['GAMMA']) - max(dfpt['GAMMA'])

    results, node = run_get_node(ValidateWorkChain.get_builder_from_run(run, pw_code, {'max_atoms': 8}))
    assert node.is_finished_ok, node.exit_message
    gamma = results['errors']['gamma_highest']
    assert gamma['cells'] == ['unit_cell_1x1x1', 'primitive']
    assert abs(gamma['error_thz'] - actual) < 0.1, (gamma, actual)
    assert abs(gamma['mode_force_ratio'] - 1.054) < 0.01, gamma
