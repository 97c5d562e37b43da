"""The non-analytical correction through the work chains, as users run it: a BORN file on the command line, the
correction on record and in the graph, bands and kappa equal to plain phonopy / phono3py given the same force
constants and charges, the export loadable by phonopy, and charges of another crystal refused before any job."""

import io
import itertools
import json

import h5py
import numpy as np
import phono3py
import phonopy
import pytest
from aiida.engine import run_get_node
from aiida.orm import QueryBuilder, StructureData, WorkflowNode, load_node
from ase.build import bulk
from click.testing import CliRunner
from phonopy.file_IO import parse_BORN_from_strings
from phonopy.phonon.band_structure import get_band_qpoints_and_path_connections

from aiida_unconmlip.cli.root import cmd_root
from aiida_unconmlip.data import BornChargesData
from aiida_unconmlip.plotting import _segments as plotting_segments
from aiida_unconmlip.provenance import restoration_chain
from aiida_unconmlip.workflows.thermal_conductivity import ThermalConductivityWorkChain
from tests.engine.test_nac import BORN_ZINCBLENDE, plain_kappa_with_born_file

ZINCBLENDE = bulk('CuAu', 'zincblende', a=5.6)
PATH = {
    'path': [['GAMMA', 'X', 'K', 'GAMMA', 'L']],
    'points': {'GAMMA': [0, 0, 0], 'X': [0.5, 0, 0.5], 'K': [0.375, 0.375, 0.75], 'L': [0.5, 0.5, 0.5]},
}


def invoke(*args):
    return CliRunner().invoke(cmd_root, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def born_run(engine_code, shipped_models, tmp_path):
    """`aiida-unconmlip phonons cuau.cif --model emt --born BORN` on the fast protocol, without relaxation."""
    (tmp_path / 'BORN').write_text(BORN_ZINCBLENDE)
    ZINCBLENDE.write(tmp_path / 'cuau.cif')
    result = invoke(
        'phonons', tmp_path / 'cuau.cif', '--model', 'emt', '--protocol', 'fast', '--no-relax',
        '--born', tmp_path / 'BORN', '--json',
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return load_node(json.loads(result.stdout)['pk'])


def test_a_born_file_on_the_command_line_corrects_the_bands_as_plain_phonopy_does(born_run, tmp_path):
    node = born_run
    assert node.is_finished_ok
    with node.outputs.phonopy_yaml.as_path() as path:
        recorded = phonopy.load(path, is_nac=False)  # the run's force constants, without its own NAC
    plain = phonopy.Phonopy(recorded.unitcell, supercell_matrix=recorded.supercell_matrix, primitive_matrix='auto')
    plain.force_constants = recorded.force_constants
    plain.nac_params = parse_BORN_from_strings(BORN_ZINCBLENDE, plain.primitive)
    bands = node.outputs.band_structure
    # the run's own seekpath path, segment by segment: every point it reports is on one of phonopy's segments
    kpoints, frequencies = bands.get_kpoints(), bands.get_bands()
    labels = bands.labels
    starts = [index for index, _ in labels]
    for (start, _), (end, _) in itertools.pairwise(labels):
        if end - start <= 1:  # a jump between runs (U|K), or Gamma kept from both sides
            continue
        segment = kpoints[start : end + 1]
        qpoints, connections = get_band_qpoints_and_path_connections([[segment[0], segment[-1]]], len(segment))
        plain.run_band_structure(qpoints, path_connections=connections)
        np.testing.assert_allclose(frequencies[start : end + 1], plain.band_structure.frequencies[0], atol=1e-6)
    assert sum(1 for _, label in labels if label == 'GAMMA') >= 2 and starts == sorted(starts)
    plotted = invoke('plot', node.pk, '-o', tmp_path / 'bands.png')
    assert plotted.exit_code == 0 and (tmp_path / 'bands.png').stat().st_size > 0
    _, ticks = plotting_segments(bands)
    assert 'Γ|Γ' not in [name for _, name in ticks] and [name for _, name in ticks].count('Γ') >= 2

    chain = restoration_chain(node)
    nac = [step for step in chain.steps if step.name == 'non_analytical_correction']
    assert len(nac) == 1 and nac[0].parameters['method'] == 'gonze'
    assert nac[0].effect['born_sum_rule_residual'] == pytest.approx(0, abs=1e-12)
    job = load_node(nac[0].pk)
    charges = job.base.links.get_incoming(link_label_filter='born_charges').one().node
    assert isinstance(charges, BornChargesData) and charges.pk == node.inputs.born_charges.pk

    provenance = invoke('provenance', node.pk)
    assert f'Born charges: PK {charges.pk}, from a BORN file' in provenance.output
    shown = invoke('show', node.pk)
    assert f'non-analytical correction: gonze, Born charges PK {charges.pk} from a BORN file' in shown.output

    exported = invoke('export', node.pk, tmp_path / 'export')
    assert exported.exit_code == 0, exported.output
    loaded = phonopy.load(tmp_path / 'export' / 'phonopy_params.yaml', born_filename=tmp_path / 'export' / 'BORN')
    np.testing.assert_allclose(loaded.nac_params['born'], plain.nac_params['born'], atol=1e-9)
    gamma_to_x = get_band_qpoints_and_path_connections([[[0, 0, 0], [0.5, 0, 0.5]]], 11)[0]
    loaded.run_band_structure(gamma_to_x)
    plain.run_band_structure(gamma_to_x)
    np.testing.assert_allclose(loaded.band_structure.frequencies[0], plain.band_structure.frequencies[0], atol=1e-6)


def test_stored_born_charges_named_by_uuid_give_the_run_of_the_file(born_run, tmp_path):
    stored = BornChargesData.from_born_file(BORN_ZINCBLENDE, StructureData(ase=ZINCBLENDE), 1e-5).store()
    result = invoke(
        'phonons', tmp_path / 'cuau.cif', '--model', 'emt', '--protocol', 'fast', '--no-relax',
        '--born', stored.uuid, '--json',
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    node = load_node(json.loads(result.stdout)['pk'])
    assert node.inputs.born_charges.uuid == stored.uuid  # the run links to the charges, and so to their origin
    np.testing.assert_allclose(
        node.outputs.band_structure.get_bands(), born_run.outputs.band_structure.get_bands(), atol=1e-8
    )


def test_a_born_file_or_charges_that_do_not_fit_are_refused_before_anything_runs(engine_code, shipped_models, tmp_path):
    short = '\n'.join(BORN_ZINCBLENDE.splitlines()[:3]) + '\n'  # one of the two independent atoms
    (tmp_path / 'BORN').write_text(short)
    ZINCBLENDE.write(tmp_path / 'cuau.cif')
    before = QueryBuilder().append(WorkflowNode).count()
    result = invoke(
        'phonons', tmp_path / 'cuau.cif', '--model', 'emt', '--protocol', 'fast', '--born', tmp_path / 'BORN'
    )
    assert result.exit_code != 0
    assert 'not a BORN file for the primitive cell of AuCu' in result.output

    rocksalt = StructureData(ase=bulk('CuAu', 'rocksalt', a=5.2))
    builder = ThermalConductivityWorkChain.get_builder_from_protocol(
        engine_code, StructureData(ase=ZINCBLENDE), shipped_models['emt'], protocol='fast'
    )
    builder.born_charges = BornChargesData.from_born_file(BORN_ZINCBLENDE, rocksalt, 1e-5)
    with pytest.raises(ValueError, match='not the same crystal'):
        run_get_node(builder)
    # Stored charges named by UUID on the command line: checked against the run's crystal the same way.
    stored = BornChargesData.from_born_file(BORN_ZINCBLENDE, rocksalt, 1e-5).store()
    for source, message in ((stored.uuid, 'not the same crystal'), (str(rocksalt.store().pk), 'not Born charges')):
        result = invoke('phonons', tmp_path / 'cuau.cif', '--model', 'emt', '--protocol', 'fast', '--born', source)
        assert result.exit_code != 0 and message in result.output
    assert QueryBuilder().append(WorkflowNode).count() == before


def test_kappa_with_nac_equals_plain_phono3py_given_the_run_force_constants(engine_code, shipped_models):
    structure = StructureData(ase=ZINCBLENDE)
    builder = ThermalConductivityWorkChain.get_builder_from_protocol(
        engine_code,
        structure,
        shipped_models['emt'],
        protocol='fast',
        relax=False,
        overrides={
            'displacements': {'supercell_matrix': np.eye(3, dtype=int).tolist()},
            'conductivity': {'mesh': [5, 5, 5], 'temperatures': [300.0], 'smearing_thz': 0.2},
        },
    )
    builder.born_charges = BornChargesData.from_born_file(BORN_ZINCBLENDE, structure, 1e-5)
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message

    with results['phono3py_params'].as_path() as path:
        plain = phono3py.load(path, produce_fc=False, is_nac=False, log_level=0)
    for name, key, attribute in (('fc2', 'force_constants', 'fc2'), ('fc3', 'fc3', 'fc3')):
        with h5py.File(io.BytesIO(results[name].get_content(mode='rb')), 'r') as handle:
            setattr(plain, attribute, np.array(handle[key]))
    expected = plain_kappa_with_born_file(plain)
    np.testing.assert_allclose(results['kappa'].get_array('kappa')[0], expected, rtol=1e-6, atol=1e-9)
    steps = [step.name for step in restoration_chain(node).steps]
    assert steps[-1] == 'non_analytical_correction'


def test_qha_with_a_born_file_corrects_every_volume_as_plain_phonopy_does(engine_code, shipped_models, tmp_path):
    """`aiida-unconmlip qha cuau.cif --born BORN`: each volume's phonon run has the charges, carried to its own cell,
    and its thermal properties are phonopy's from the run's force constants with the BORN file's correction."""
    (tmp_path / 'BORN').write_text(BORN_ZINCBLENDE)
    ZINCBLENDE.write(tmp_path / 'cuau.cif')
    result = invoke(
        'qha', tmp_path / 'cuau.cif', '--model', 'emt', '--protocol', 'fast', '--born', tmp_path / 'BORN', '--json'
    )
    assert result.exit_code == 0, result.output
    node = load_node(json.loads(result.stdout)['pk'])
    assert node.is_finished_ok
    links = node.base.links.get_outgoing(link_label_filter='phonons_volume_%').all()
    assert len(links) == 5
    for run in (link.node for link in links):
        assert run.inputs.born_charges.uuid == node.inputs.phonons.born_charges.uuid
        recorded = phonopy.load(io.StringIO(run.outputs.phonopy_yaml.get_content()), is_nac=False)
        plain = phonopy.Phonopy(recorded.unitcell, supercell_matrix=recorded.supercell_matrix, primitive_matrix='auto')
        plain.force_constants = recorded.force_constants
        plain.nac_params = parse_BORN_from_strings(BORN_ZINCBLENDE, plain.primitive)
        plain.run_mesh(run.outputs.diagnostics['mesh'], is_gamma_center=True)
        plain.run_thermal_properties(t_min=0, t_max=1000, t_step=10, exclude_gamma_acoustic=True)
        columns = {name: values for name, values, _ in run.outputs.thermal_properties.get_y()}
        np.testing.assert_allclose(columns['free_energy'], plain.thermal_properties.free_energy, rtol=1e-8, atol=1e-8)
        chain = restoration_chain(run.outputs.band_structure)
        assert chain.steps[-1].name == 'non_analytical_correction'
