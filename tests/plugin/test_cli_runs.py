"""The run commands as users type them: JSON contracts, show/provenance/plot on the result, one-line errors."""

import json
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest
from aiida.orm import CalcJobNode, InstalledCode, load_node
from click.testing import CliRunner

from aiida_unconmlip.cli.root import cmd_root
from aiida_unconmlip.cli.warm_engine import warm_engine_prepend_text
from aiida_unconmlip.models import default_model_name

EXAMPLES = Path(__file__).resolve().parents[2] / 'docs' / 'examples'
BIN = Path(sys.executable).parent


def invoke(*args):
    return CliRunner().invoke(cmd_root, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture
def phonons_json(engine_code, shipped_models):
    """`aiida-unconmlip phonons si.cif --json` with the embedded default model, fast protocol."""
    result = invoke('phonons', EXAMPLES / 'si.cif', '--protocol', 'fast', '--json')
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_phonons_json_contract_and_the_commands_that_read_it(phonons_json, tmp_path):
    summary = phonons_json
    assert summary['exit_status'] == 0
    assert summary['space_group'] == {'number': 227, 'symbol': 'Fd-3m'}
    assert summary['model']['name'] == default_model_name() and len(summary['model']['sha256']) == 64
    frequencies = summary['bands']['frequencies_thz']
    assert {'GAMMA', 'X', 'L'} <= set(frequencies)
    assert max(abs(f) for f in frequencies['GAMMA'][:3]) < 1e-3
    assert frequencies['X'][0] == pytest.approx(frequencies['X'][1], abs=1e-6)  # TA degenerate at X
    assert summary['diagnostics']['space_group_kept'] is True
    assert summary['supercell'] == {'matrix': [[2, 0, 0], [0, 2, 0], [0, 0, 2]], 'atoms': 64}  # 10 A, diagonal
    thermal = summary['thermal_properties']
    assert thermal['temperature_k'] == 300.0 and thermal['per'] == 'mole of primitive cells (2 atoms each)'
    assert thermal['units'] == {'free_energy': 'kJ/mol', 'entropy': 'J/K/mol', 'heat_capacity': 'J/K/mol'}
    assert 0.7 * 6 * 8.314462618 < thermal['heat_capacity'] < 6 * 8.314462618  # Si2 at 300 K: below Dulong-Petit
    timings = summary['timings']
    jobs = [node for node in load_node(summary['pk']).called_descendants if isinstance(node, CalcJobNode)]
    labels = sorted(job.process_label for job in jobs)
    assert labels == ['EvaluateCalculation', 'PhonopyCalculation', 'RelaxCalculation']
    assert timings['engine_seconds'] == pytest.approx(sum(job.outputs.timing['wall_seconds'] for job in jobs))
    assert sorted((job['pk'], job['process']) for job in timings['jobs']) == sorted(
        (job.pk, job.process_label) for job in jobs
    )
    assert timings['engine_seconds'] == pytest.approx(sum(job['wall_seconds'] for job in timings['jobs']))
    assert 0 < timings['engine_seconds'] < timings['wall_seconds']
    assert timings['overhead_seconds'] == pytest.approx(timings['wall_seconds'] - timings['engine_seconds'])
    phonopy_job = next(job for job in jobs if job.process_label == 'PhonopyCalculation')
    assert phonopy_job.outputs.timing['versions']['phonopy'] == metadata.version('phonopy')

    shown = json.loads(invoke('show', summary['pk'], '--json').stdout)
    assert shown['bands'] == summary['bands']
    chain = json.loads(invoke('provenance', summary['pk'], '--json').stdout)
    assert chain['model']['sha256'] == summary['model']['sha256']
    assert chain['structure']['formula'] == 'Si2'
    assert chain['model']['origin']['dft_calculations'] > 0  # through the default model back to pw.x
    assert [step['name'] for step in chain['steps']] == [
        'fix_symmetry',
        'forces_mode',
        'forces_mode',
        'space_group_projection',
        'net_force_removal',
        'force_constant_symmetrization',
    ]
    assert all({'name', 'pk', 'parameters', 'effect'} == set(step) for step in chain['steps'])
    plot = tmp_path / 'bands.png'
    result = invoke('plot', summary['pk'], '-o', plot)
    assert result.exit_code == 0 and plot.stat().st_size > 10_000


def test_evaluate_and_relax_json(engine_code, shipped_models, tmp_path):
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from ase.io import read, write

    structures = [bulk('Cu', cubic=True), bulk('Cu', cubic=True).repeat(2)]
    structures[1].rattle(0.02, seed=1)
    write(tmp_path / 'cu.extxyz', structures)
    result = invoke('evaluate', tmp_path / 'cu.extxyz', '--model', 'ase:ase.calculators.emt.EMT', '--json')
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    written = read(tmp_path / 'cu.extxyz', index=1)
    written.calc = EMT()
    assert payload['energies'][1] == pytest.approx(written.get_potential_energy(), rel=1e-10)
    assert len(payload['forces'][1]) == 32 and len(payload['stress']) == 2
    assert payload['restoration_steps'][0]['name'] == 'forces_mode'
    assert payload['restoration_steps'][0]['parameters'] == {'mode': 'conservative'}
    chain = json.loads(invoke('provenance', payload['pk'], '--json').stdout)  # of an evaluate job itself
    assert chain['model']['name'] == 'emt' and chain['structure'] is None  # its input is a set of structures
    assert [step['name'] for step in chain['steps']] == [step['name'] for step in payload['restoration_steps']]

    result = invoke('relax', f'{tmp_path / "cu.extxyz"}@0', '--model', 'emt', '--protocol', 'fast', '--json')
    assert result.exit_code == 0, result.output
    relaxed = json.loads(result.stdout)
    assert relaxed['converged'] and relaxed['space_group_output']['1e-05'] == 'Fm-3m (225)'


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (['phonons', 'missing.cif'], 'structure file missing.cif does not exist'),
        (['phonons', '{unreadable}'], 'cannot read a structure from'),
        (['phonons', EXAMPLES / 'si.cif', '--model', 'no-such-model'], 'no model called `no-such-model`'),
        (['phonons', EXAMPLES / 'si.cif', '--protocol', 'sloppy'], 'unknown protocol `sloppy`'),
        (['phonons', '{model_pk}'], 'not a StructureData'),
        (['show', '{model_pk}'], 'show works on PhononWorkChain'),
    ],
)
def test_bad_input_is_one_line_and_non_zero(profile_env, shipped_models, tmp_path, args, message):
    unreadable = tmp_path / 'broken.xyz'
    unreadable.write_text('3\nnot a structure\nSi 0.0 zero\n')
    values = {'unreadable': unreadable, 'model_pk': shipped_models['emt'].pk}
    args = [str(a).format(**values) for a in args]
    result = subprocess.run(
        [BIN / 'aiida-unconmlip', *args], env=profile_env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert 'Traceback' not in result.stderr


def test_foreground_run_shows_the_engine_progress_of_long_evaluate_jobs(
    engine_code, shipped_models, tmp_path, monkeypatch
):
    """A rotational average of the default PET on the CPU: an evaluate job of several batches, whose progress the
    foreground run prints as the engine counts it (here without the quiet first seconds a real run has)."""
    from ase.build import bulk
    from ase.io import write

    from aiida_unconmlip.cli import job_progress

    monkeypatch.setattr(job_progress, 'QUIET_SECONDS', 0.0)
    monkeypatch.setattr(job_progress, 'CHECK_SECONDS', 0.05)
    structures = [bulk('Si', cubic=True) for _ in range(12)]
    for seed, atoms in enumerate(structures):
        atoms.rattle(0.02, seed=seed)
    write(tmp_path / 'si.extxyz', structures)
    result = invoke('evaluate', tmp_path / 'si.extxyz', '--rotational-average', '4', '--json')
    assert result.exit_code == 0, result.output
    evaluate_pk = json.loads(result.stdout)['pk']  # the command runs the evaluate job itself
    progress = re.compile(
        rf'EvaluateCalculation<{evaluate_pk}>: (\d+)/12 structures done in \d+ s \(([\d.]+) structures/s'
        r'(, about (\d+) s left)?\)$'
    )
    lines = [match for line in result.stderr.splitlines() if (match := progress.search(line))]
    assert lines, result.stderr
    done = [int(match[1]) for match in lines]
    assert done == sorted(set(done)) and done[0] > 0
    assert all(float(match[2]) > 0 for match in lines)
    assert all((match[3] is not None) == (int(match[1]) < 12) for match in lines)


def test_isotropic_supercell_and_symprec_from_the_command_line(engine_code, shipped_models):
    """Diamond Si at 15 A: 4 x 4 x 4 primitive cells (128 atoms, images 15.4 A apart) instead of 3 x 3 x 3
    conventional ones (216 atoms); the tolerance given is the run's."""
    result = invoke(
        'phonons', EXAMPLES / 'si.cif', '--model', 'tersoff-si-1988', '--protocol', 'fast', '--no-relax',
        '--min-length', '15', '--supercell-shape', 'isotropic', '--symprec', '1e-3', '--json',
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary['supercell']['atoms'] == 128
    node = load_node(summary['pk'])
    assert node.inputs.symprec.value == 1e-3 and node.outputs.symmetry['symprec'] == 1e-3
    assert node.inputs.displacements['supercell_shape'] == 'isotropic'
    frequencies = summary['bands']['frequencies_thz']
    assert frequencies['X'][0] == pytest.approx(frequencies['X'][1], abs=1e-6)  # TA degenerate at X
    assert max(abs(f) for f in frequencies['GAMMA'][:3]) < 1e-3


def test_a_costly_rotational_average_runs_when_confirmed(engine_code, shipped_models, tmp_path):
    """EMT is exactly rotation invariant: its average over 1292 rotated copies is its plain energy."""
    from ase.build import bulk
    from ase.calculators.emt import EMT

    atoms = bulk('Cu', 'fcc', a=3.6)
    atoms.write(tmp_path / 'cu.extxyz')
    result = invoke(
        'evaluate', tmp_path / 'cu.extxyz', '--model', 'emt', '--rotational-average', '8', '--accept-cost', '--json'
    )
    assert result.exit_code == 0, result.output
    assert '--rotational-average 8 evaluates each structure 1292 times' in result.stderr
    atoms.calc = EMT()
    assert json.loads(result.stdout)['energies'][0] == pytest.approx(atoms.get_potential_energy(), abs=1e-10)


def test_every_speedup_off_gives_the_same_phonons(
    shipped_models, engine_code, engine_executable, profile_env, private_warm_engines
):
    """``UNCONMLIP_SPEEDUPS=none`` is upstream's own behaviour throughout (jobs polled, each in a process of its own
    though the code asks for a warm engine, phonopy's own projection): the same force constants as with every
    speed-up on."""
    warm_code = InstalledCode(
        computer=engine_code.computer,
        filepath_executable=str(engine_executable),
        label=f'unconmlip-engine-warm-{time.monotonic_ns()}',
        default_calc_job_plugin='unconmlip.evaluate',
        prepend_text=warm_engine_prepend_text(60),
    ).store()
    force_constants = {}
    for switch in ('none', 'all'):
        result = subprocess.run(
            [BIN / 'aiida-unconmlip', 'phonons', EXAMPLES / 'si.cif', '--model', 'tersoff-si-1988', '--no-relax',
             '--protocol', 'fast', '--code', warm_code.full_label, '--json'],
            env={**profile_env, 'TMPDIR': str(private_warm_engines), 'UNCONMLIP_SPEEDUPS': switch},
            capture_output=True, text=True,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        node = load_node(json.loads(result.stdout)['pk'])
        force_constants[switch] = node.outputs.force_constants.get_array('force_constants')
        warm_engine_logs = list(private_warm_engines.glob('unconmlip-engine-*/*.log'))
        assert bool(warm_engine_logs) == (switch == 'all')  # none: every job ran in a process of its own
    np.testing.assert_allclose(force_constants['none'], force_constants['all'], rtol=0, atol=1e-10)
