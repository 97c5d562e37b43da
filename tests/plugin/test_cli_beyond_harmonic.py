"""``aiida-unconmlip kappa`` and ``qha`` as users type them: the JSON contracts and the commands that read a run."""

import json

import numpy as np
import pytest
from ase.build import bulk
from ase.io import write
from click.testing import CliRunner

from aiida_unconmlip.cli.root import cmd_root


def invoke(*args):
    return CliRunner().invoke(cmd_root, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def copper_cif(tmp_path):
    path = tmp_path / 'cu.cif'
    write(path, bulk('Cu', 'fcc', a=3.61))
    return path


def test_kappa_json_contract_show_and_plot(engine_code, shipped_models, copper_cif, tmp_path):
    result = invoke(
        'kappa', copper_cif, '--model', 'emt', '--protocol', 'fast', '--supercell', '2', '2', '2',
        '--mesh', '5', '5', '5', '--temperatures', '300 600', '--smearing', '0.1', '--json',
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    kappa = summary['kappa']
    assert kappa['temperatures'] == [300.0, 600.0]
    tensor = np.array(kappa['tensor'])
    assert tensor.shape == (2, 6) and kappa['voigt_order'] == ['xx', 'yy', 'zz', 'yz', 'xz', 'xy']
    np.testing.assert_allclose(tensor[:, :3], tensor[:, :1].repeat(3, axis=1), rtol=1e-8)
    assert tensor[0, 0] > tensor[1, 0] > 0  # three-phonon scattering grows with temperature
    assert kappa['mesh'] == [5, 5, 5] and summary['space_group']['number'] == 225

    shown = invoke('show', summary['pk'])
    assert 'kappa (W/m-K, rta, mesh [5, 5, 5])' in shown.output and '300.0' in shown.output
    assert json.loads(invoke('show', summary['pk'], '--json').stdout)['kappa'] == kappa
    plot = tmp_path / 'kappa.png'
    assert invoke('plot', summary['pk'], '-o', plot).exit_code == 0 and plot.stat().st_size > 10_000


def test_kappa_refuses_bad_temperatures_in_one_line(engine_code, shipped_models, copper_cif):
    result = invoke('kappa', copper_cif, '--model', 'emt', '--temperatures', '300 hot')
    assert result.exit_code == 2 and 'is not a list of temperatures in K' in result.output


def test_qha_json_contract_show_and_plot(engine_code, shipped_models, copper_cif, tmp_path):
    result = invoke(
        'qha', copper_cif, '--model', 'emt', '--protocol', 'fast', '--volumes', '5', '--max-strain', '0.01',
        '--min-length', '5', '--json',
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    qha = summary['qha']
    beta = dict(zip(qha['temperatures'], qha['volumetric_thermal_expansion'], strict=True))
    assert 1e-6 < beta[300.0] < 1e-4 and qha['units']['volumetric_thermal_expansion'] == '1/K'
    assert summary['equation_of_state']['b0_gpa'] > 50
    shown = invoke('show', summary['pk'])
    assert 'beta (1/K)' in shown.output and 'B0' in shown.output
    plot = tmp_path / 'qha.png'
    assert invoke('plot', summary['pk'], '-o', plot).exit_code == 0 and plot.stat().st_size > 10_000
