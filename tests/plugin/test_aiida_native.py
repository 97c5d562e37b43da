"""What an AiiDA user tries first works: verdi's process, calcjob and data commands on the plugin's runs, one
source for every default and exit code, and restart handlers that only retry what can succeed."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from aiida.engine import run_get_node
from aiida.orm import Dict, Log, StructureData, load_node
from ase.build import bulk

from aiida_unconmlip.calcjobs.evaluate import EvaluateCalculation
from aiida_unconmlip.calcjobs.relax import RelaxCalculation
from aiida_unconmlip.data import ModelData
from aiida_unconmlip.engine.errors import engine_errors
from aiida_unconmlip.engine.relax_parameters import parse_relax_parameters
from aiida_unconmlip.phonons import parameters
from aiida_unconmlip.workflows.phonons import PhononWorkChain
from aiida_unconmlip.workflows.protocols import PROTOCOL_FOLDER, load_protocol
from aiida_unconmlip.workflows.qha import QhaWorkChain
from aiida_unconmlip.workflows.relax import RelaxWorkChain
from tests.memory_hungry_model import write_memory_hungry_model

BIN = Path(sys.executable).parent


def verdi(env, *args) -> str:
    result = subprocess.run([BIN / 'verdi', *map(str, args)], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_foreground_cli_run_keeps_its_reports_for_verdi_process_report(shipped_models, profile_env, tmp_path):
    bulk('Cu', 'fcc', a=3.7, cubic=True).write(tmp_path / 'cu.cif')
    result = subprocess.run(
        [BIN / 'aiida-unconmlip', 'relax', tmp_path / 'cu.cif', '--model', 'emt', '--protocol', 'fast', '--json'],
        env=profile_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    pk = json.loads(result.stdout)['pk']
    assert f'RelaxWorkChain<{pk}>' in result.stderr  # progress still on stderr
    messages = [log.message for log in Log.collection.get_logs_for(load_node(pk))]
    assert any('launching RelaxCalculation' in message for message in messages)
    assert 'launching RelaxCalculation' in verdi(profile_env, 'process', 'report', pk)


def test_band_structure_exports_without_repeated_points(engine_code, shipped_models, profile_env):
    builder = PhononWorkChain.get_builder_from_protocol(
        engine_code, StructureData(ase=bulk('Cu', 'fcc', a=3.61)), shipped_models['emt'], protocol='fast', relax=False
    )
    results, _ = run_get_node(builder)
    bands = results['band_structure']
    exported = json.loads(verdi(profile_env, 'data', 'core.bands', 'export', '--format', 'json', bands.pk))
    assert all(piece['from'] != piece['to'] for piece in exported['paths']), 'a segment from a point to itself'
    assert exported['path'] == [['GAMMA', 'X'], ['X', 'U'], ['K', 'GAMMA'], ['GAMMA', 'L'], ['L', 'W'], ['W', 'X']]
    labels = [label for _, label in bands.labels]
    assert labels == ['GAMMA', 'X', 'U', 'K', 'GAMMA', 'L', 'W', 'X']


def test_calcjob_res_shows_the_results_of_evaluate_and_relax(engine_code, shipped_models, profile_env):
    structure = StructureData(ase=bulk('Cu', 'fcc', a=3.7, cubic=True))
    _, evaluate = run_get_node(EvaluateCalculation, code=engine_code, model=shipped_models['emt'], structures=structure)
    _, relax = run_get_node(RelaxCalculation, code=engine_code, model=shipped_models['emt'], structures=structure)
    assert evaluate.is_finished_ok and relax.is_finished_ok
    timing = json.loads(verdi(profile_env, 'calcjob', 'res', evaluate.pk))
    assert timing['structures'] == 1 and timing['atoms_evaluated'] == 4
    report = json.loads(verdi(profile_env, 'calcjob', 'res', relax.pk))
    assert report['structures'][0]['converged'] is True
    assert report['structures'][0]['energy_ev'] == pytest.approx(relax.outputs.energies.get_array('energies')[0])


def test_out_of_memory_relaxation_stops_with_what_to_do(engine_code, tmp_path):
    model = ModelData.import_file(write_memory_hungry_model(tmp_path / 'hungry.pt'))
    builder = RelaxWorkChain.get_builder_from_protocol(
        engine_code, StructureData(ase=bulk('Si', 'diamond', a=5.43)), model, protocol='fast'
    )
    _, node = run_get_node(builder)
    assert node.exit_status == RelaxWorkChain.exit_codes.ERROR_OUT_OF_MEMORY_SINGLE_STRUCTURE.status
    assert [calculation.exit_status for calculation in node.called] == [340], 'a retry cannot fit either'
    assert 'fewer atoms' in node.exit_message and 'float32' in node.exit_message


def test_every_default_has_one_source_and_protocols_state_only_changes():
    moderate = load_protocol('relax', 'moderate')[1]['relax']
    assert parse_relax_parameters(moderate.get('parameters')) == parse_relax_parameters(None)
    parsers = {
        'displacements': (parameters.parse_displacements, parameters.DISPLACEMENTS),
        'force_constants': (parameters.parse_force_constants, parameters.FORCE_CONSTANTS),
        'properties': (parameters.parse_properties, parameters.PROPERTIES),
    }
    for name in ('relax', 'phonons'):
        data = yaml.safe_load((PROTOCOL_FOLDER / f'{name}.yaml').read_text())
        for protocol, values in data['protocols'].items():
            for section, (parse, _) in parsers.items():
                for key, value in values.get(section, {}).items():
                    assert parse(None)[key] != value, f'{name}.yaml {protocol} restates the default {section}.{key}'
            for key, value in values.get('relax', {}).get('parameters', {}).items():
                assert getattr(parse_relax_parameters(None), key) != value, f'{protocol} restates relax {key}'
        assert not set(parsers) & set(data['default_inputs']), f'{name}.yaml restates parameter defaults'


def test_phonon_symprec_reaches_fix_symmetry_of_its_relaxation(engine_code, shipped_models):
    builder = PhononWorkChain.get_builder_from_protocol(
        engine_code, StructureData(ase=bulk('Cu', 'fcc', a=3.65)), shipped_models['emt'], protocol='fast'
    )
    builder.symprec = 1e-3
    _, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    relax_work_chain = node.base.links.get_outgoing(link_label_filter='relax').one().node
    (relaxation,) = relax_work_chain.called
    assert relaxation.inputs.parameters['symprec'] == 1e-3
    assert relaxation.outputs.restoration_steps.fix_symmetry['parameters'] == {'symprec': 1e-3}


def test_a_second_different_symprec_for_the_relaxation_is_refused(engine_code, shipped_models):
    builder = PhononWorkChain.get_builder_from_protocol(
        engine_code,
        StructureData(ase=bulk('Cu', 'fcc', a=3.65)),
        shipped_models['emt'],
        protocol='fast',
        overrides={'relax': {'relax': {'parameters': {'symprec': 1e-2}}}},
    )
    with pytest.raises(ValueError, match='give symprec once'):
        run_get_node(builder)


def test_a_second_symprec_for_the_qha_relaxation_is_refused(engine_code, shipped_models):
    """The first, full relaxation of a QHA takes the phonons' symprec: a different one there is refused, not
    overwritten."""
    builder = QhaWorkChain.get_builder_from_protocol(
        engine_code, StructureData(ase=bulk('Cu', 'fcc', a=3.65)), shipped_models['emt'], protocol='fast'
    )
    parameters = builder.relax.relax.parameters.get_dict() if 'parameters' in builder.relax.relax else {}
    builder.relax.relax.parameters = Dict({**parameters, 'symprec': 1e-2})
    with pytest.raises(ValueError, match=r'relax\.relax\.parameters\.symprec \(0\.01\) differs .* give symprec once'):
        run_get_node(builder)


@pytest.mark.parametrize('process', [EvaluateCalculation, RelaxCalculation], ids=lambda process: process.__name__)
def test_every_engine_error_has_its_exit_code(process):
    for error in engine_errors():
        exit_code = process.exit_codes[f'ERROR_{error.code}']
        assert exit_code.status == error.exit_status, error.code
        assert exit_code.message.startswith(error.summary)
    assert len({error.exit_status for error in engine_errors()}) == len(engine_errors())
