"""Each restoration step leaves one self-describing record; one query finds them all, and the CLI reads only that."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from aiida.engine import run_get_node
from aiida.orm import BandsData, CalculationNode, Dict, QueryBuilder, StructureData
from ase.build import bulk

from aiida_unconmlip.workflows.phonons import PhononWorkChain

BIN = Path(sys.executable).parent


def records_behind(bands: BandsData) -> list[dict]:
    """The one query: every record a calculation upstream of ``bands`` left under the namespace restoration_steps."""
    query = QueryBuilder()
    query.append(BandsData, filters={'id': bands.pk}, tag='bands')
    query.append(CalculationNode, with_descendants='bands', tag='calculation')
    query.append(
        Dict,
        with_incoming='calculation',
        edge_filters={'label': {'like': 'restoration_steps__%'}},
        project=['attributes', 'ctime'],
    )
    return [record for record, _ in sorted(query.distinct().all(), key=lambda row: row[1])]


def test_one_query_finds_every_restoration_step_of_a_phonon_run(engine_code, shipped_models, profile_env):
    restoration = {'rotational_average': {'l_max': 1, 'inversion': False}}
    builder = PhononWorkChain.get_builder_from_protocol(
        engine_code,
        StructureData(ase=bulk('Cu', 'fcc', a=3.65)),
        shipped_models['emt'],
        protocol='fast',
        overrides={'restoration': restoration},
    )
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message

    records = records_behind(results['band_structure'])
    assert [record['name'] for record in records] == [
        'fix_symmetry',  # the relaxation job
        'forces_mode',
        'rotational_average',
        'forces_mode',  # the evaluate job
        'rotational_average',
        'space_group_projection',
        'net_force_removal',
        'force_constant_symmetrization',
    ]
    assert all(set(record) == {'name', 'parameters', 'effect'} for record in records)
    by_name = {record['name']: record for record in records}  # the later record of a name: the evaluate job's
    assert by_name['fix_symmetry']['parameters'] == {'symprec': 1e-5}
    assert by_name['fix_symmetry']['effect']['space_group_output'] == ['Fm-3m (225)']
    assert by_name['forces_mode']['parameters'] == {'mode': 'conservative'}
    assert by_name['rotational_average']['parameters'] == {'l_max': 1, 'inversion': False}
    # EMT is equivariant: the average over 18 rotations changes nothing measurable
    assert by_name['rotational_average']['effect']['n_rotations'] == 18
    assert max(by_name['rotational_average']['effect']['forces_max_std_ev_per_angstrom']) < 1e-10
    assert set(by_name['space_group_projection']['effect']['space_group_number']) < {225, 123, 166, 99, 38, 160}
    assert max(by_name['net_force_removal']['effect']['net_force_norm']) < 1e-10
    assert by_name['force_constant_symmetrization']['parameters'] == {'projector': 'symfc', 'symprec': 1e-5}
    assert 0 <= by_name['force_constant_symmetrization']['effect']['relative_change'] < 1e-6

    shown = subprocess.run(
        [BIN / 'aiida-unconmlip', 'provenance', str(node.pk), '--json'],
        env=profile_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    steps = json.loads(shown.stdout)['steps']
    assert [{key: step[key] for key in ('name', 'parameters', 'effect')} for step in steps] == records


@pytest.mark.parametrize('step', ['space_group_projection', 'net_force_removal', 'force_constant_symmetrization'])
def test_a_step_switched_off_leaves_no_record(engine_code, shipped_models, step):
    builder = PhononWorkChain.get_builder_from_protocol(
        engine_code,
        StructureData(ase=bulk('Cu', 'fcc', a=3.61)),
        shipped_models['emt'],
        protocol='fast',
        relax=False,
        overrides={'restoration': {step: False}},
    )
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    names = [record['name'] for record in records_behind(results['band_structure'])]
    assert step not in names and 'forces_mode' in names
