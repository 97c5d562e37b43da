"""The DFT yardstick of kappa for real (pw.x at low cutoff, a 2-atom cell): its forces are pw.x's, its kappa is
phono3py's from them, and what cannot be fitted is refused before pw.x runs."""

import json

import numpy as np
import phono3py
import pytest
from aiida.engine import run_get_node
from aiida.orm import StructureData
from ase.build import bulk
from click.testing import CliRunner

from aiida_unconmlip.cli.root import cmd_root
from aiida_unconmlip.dft.codes import ensure_dft_codes, ensure_pseudo_family
from aiida_unconmlip.workflows.dft_conductivity import DftThermalConductivityWorkChain

DISPLACEMENTS = {'supercell_matrix': [[1, 0, 0], [0, 1, 0], [0, 0, 1]], 'random_snapshots': 2, 'random_seed': 3}
CONDUCTIVITY = {'force_constants': 'symfc', 'mesh': [4, 4, 4], 'temperatures': [300.0], 'smearing_thz': 0.2}


@pytest.fixture
def pw_code(aiida_localhost):
    ensure_pseudo_family()
    return ensure_dft_codes(aiida_localhost)['pw']


def builder(engine_code, pw_code, **conductivity):
    return DftThermalConductivityWorkChain.get_builder_from_protocol(
        engine_code,
        pw_code,
        StructureData(ase=bulk('Si', 'diamond', a=5.43)),
        DISPLACEMENTS,
        {**CONDUCTIVITY, **conductivity},
        protocol='fast',
    )


def test_kappa_is_phono3py_of_the_pw_forces(engine_code, pw_code, tmp_path):
    results, node = run_get_node(builder(engine_code, pw_code))
    assert node.is_finished_ok, node.exit_message

    reference = node.base.links.get_outgoing(link_label_filter='dft').one().node
    calculations = {
        link.link_label: link.node.called[-1] for link in reference.base.links.get_outgoing(link_label_filter='dft_%')
    }
    forces = results['forces'].get_list()
    assert len(calculations) == len(forces) == 4  # two random displacements and their opposites
    for index, supercell_forces in enumerate(forces):
        trajectory = calculations[f'dft_{index:04d}'].outputs.output_trajectory
        np.testing.assert_array_equal(supercell_forces, trajectory.get_array('forces')[-1])

    with node.outputs.phono3py_params.as_path() as path:
        ph3 = phono3py.load(path, produce_fc=False, log_level=0)
    ph3.forces = np.array(forces)
    ph3.produce_fc3(fc_calculator='symfc')
    ph3.symmetrize_fc3(use_symfc_projector=True)  # the job's force_constant_symmetrization, on by default
    ph3.symmetrize_fc2(use_symfc_projector=True)
    ph3.mesh_numbers = CONDUCTIVITY['mesh']
    ph3.sigmas = [CONDUCTIVITY['smearing_thz']]
    ph3.init_phph_interaction()
    ph3.run_thermal_conductivity(temperatures=CONDUCTIVITY['temperatures'])
    kappa = results['kappa'].get_array('kappa')
    assert kappa[0, 0] > 0
    np.testing.assert_allclose(kappa, ph3.thermal_conductivity.kappa[0], rtol=1e-8, atol=1e-12 * kappa[0, 0])

    shown = CliRunner().invoke(cmd_root, ['show', str(node.pk), '--json'])
    assert shown.exit_code == 0, shown.output
    summary = json.loads(shown.output)
    assert summary['dft'] == {'code': pw_code.full_label, 'pseudo_family': node.inputs.dft.pseudo_family.value}
    assert summary['kappa']['tensor'] == kappa.tolist()
    assert summary['supercell']['atoms'] == 8  # the standardised conventional cell, as the model's work chain has it
    figure = tmp_path / 'kappa.png'
    plotted = CliRunner().invoke(cmd_root, ['plot', str(node.pk), '-o', str(figure)])
    assert plotted.exit_code == 0 and figure.stat().st_size > 0, plotted.output


def test_random_displacements_without_symfc_are_refused_before_pw(engine_code, pw_code):
    with pytest.raises(ValueError, match=r'need conductivity\.force_constants: symfc'):
        run_get_node(builder(engine_code, pw_code, force_constants='phonopy'))
