"""Hostile and careless input: no code runs from a model file, and nothing wrong is launched or stored."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from aiida.engine import run_get_node
from aiida.orm import InstalledCode, Node, QueryBuilder, StructureData
from ase import Atoms
from ase.build import bulk, fcc111, molecule
from ase.io import write

from aiida_unconmlip.calcjobs.evaluate import EvaluateCalculation
from aiida_unconmlip.data import ModelData, ModelImportError, StructureSetData
from aiida_unconmlip.engine.errors import ModelUnreadable
from aiida_unconmlip.engine.hashing import sha256_of_file
from aiida_unconmlip.engine.io import ERROR_FILE, write_job
from aiida_unconmlip.engine.potentials.ase_backend import ALLOW_VARIABLE, calculator_class
from aiida_unconmlip.models.importing import import_model
from aiida_unconmlip.models.resolve import resolve_model
from aiida_unconmlip.workflows.phonons import PhononWorkChain

BIN = Path(sys.executable).parent


def node_count() -> int:
    return QueryBuilder().append(Node).count()


def cli(env, *args, timeout=300):
    return subprocess.run(
        [BIN / 'aiida-unconmlip', *map(str, args)], env=env, capture_output=True, text=True, timeout=timeout
    )


def one_line_error(result) -> str:
    assert result.returncode != 0, result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and 'Traceback' not in result.stderr, result.stderr
    return lines[0]


@pytest.fixture
def malicious_spec(tmp_path) -> tuple[Path, Path]:
    """A "model" that would create a file if anything called what it names."""
    target = tmp_path / 'pwned'
    spec = tmp_path / 'model.json'
    spec.write_text(json.dumps({'calculator': 'subprocess.run', 'kwargs': {'args': ['touch', str(target)]}}))
    return spec, target


def test_a_model_spec_naming_any_callable_never_runs(malicious_spec, profile_env, shipped_models):
    spec, target = malicious_spec
    before = node_count()
    message = one_line_error(cli(profile_env, 'models', 'import', spec))
    assert 'not an allowed ASE calculator' in message and ALLOW_VARIABLE in message
    assert not target.exists()
    assert node_count() == before


def test_the_engine_refuses_the_spec_too(malicious_spec, tmp_path):
    spec, target = malicious_spec
    folder = tmp_path / 'job'
    folder.mkdir()
    (folder / 'model.json').write_text(spec.read_text())
    write_job(folder, [bulk('Cu')], {'backend': 'ase', 'path': 'model.json'}, {}, {})
    result = subprocess.run([BIN / 'unconmlip-engine', folder], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert json.loads((folder / ERROR_FILE).read_text())['code'] == 'MODEL_UNREADABLE'
    assert not target.exists()


@pytest.mark.parametrize('name', ['os.getcwd', 'this.s', 'subprocess.Popen', 'ase.calculators.vasp.Vasp'])
def test_ase_names_outside_the_allowed_calculators_are_refused_before_import(name, profile_env, shipped_models):
    before = node_count()
    result = cli(profile_env, 'evaluate', '{}', '--model', f'ase:{name}')
    assert 'not an allowed ASE calculator' in one_line_error(result)
    assert 'The Zen of Python' not in result.stdout + result.stderr  # `import this` prints it
    assert node_count() == before


def test_other_calculators_are_allowed_by_an_explicit_opt_in(monkeypatch):
    with pytest.raises(ModelUnreadable, match='not an allowed ASE calculator'):
        calculator_class('ase.calculators.test.FreeElectrons')
    monkeypatch.setenv(ALLOW_VARIABLE, 'ase.calculators.test')
    assert calculator_class('ase.calculators.test.FreeElectrons').__name__ == 'FreeElectrons'
    monkeypatch.setenv(ALLOW_VARIABLE, 'os')
    with pytest.raises(ModelUnreadable, match='not an ASE calculator class'):
        calculator_class('os.getcwd')


class PickleBomb:
    """Unpickling this calls os.system: what a malicious .pt file would do."""

    def __init__(self, target: Path):
        self.target = target

    def __reduce__(self):
        return os.system, (f'touch {self.target}',)


def test_a_pickled_model_file_is_refused_without_unpickling(aiida_profile, tmp_path):
    target = tmp_path / 'pwned'
    bomb = tmp_path / 'model.pt'
    torch.save({'model': PickleBomb(target)}, bomb)
    with pytest.raises(ModelImportError, match='not a loadable metatomic model'):
        import_model(bomb)
    assert not target.exists()
    assert not QueryBuilder().append(ModelData, filters={'attributes.source': bomb.name}).count()


def test_non_finite_coordinates_are_refused_before_launch(profile_env, engine_code, shipped_models, tmp_path):
    atoms = bulk('Cu', cubic=True)
    frames = tmp_path / 'cu.extxyz'
    atoms.write(frames)
    text = frames.read_text().splitlines()
    text[3] = text[3].replace(text[3].split()[1], 'nan', 1)  # atom 1, x
    frames.write_text('\n'.join(text) + '\n')
    before = node_count()
    message = one_line_error(cli(profile_env, 'evaluate', frames, '--model', 'emt'))
    assert 'structure 0 (Cu4): atom 1 (Cu) has a non-finite position' in message
    assert node_count() == before

    broken = atoms.copy()
    broken.positions[2, 1] = np.inf
    with pytest.raises(ValueError, match=r'atom 2 \(Cu\) has a non-finite position'):
        run_get_node(
            EvaluateCalculation,
            code=engine_code,
            model=shipped_models['emt'],
            structures=StructureSetData.from_ase([broken]),
        )
    assert node_count() == before


def test_names_are_unique_and_shipped_names_cannot_be_taken(profile_env, shipped_models, tmp_path):
    other = tmp_path / 'other.json'
    other.write_text(json.dumps({'calculator': 'ase.calculators.lj.LennardJones', 'name': 'lj'}))
    second = tmp_path / 'second.json'
    second.write_text(json.dumps({'calculator': 'ase.calculators.morse.MorsePotential', 'name': 'morse'}))
    before = node_count()
    assert 'shipped with aiida-unconmlip' in one_line_error(
        cli(profile_env, 'models', 'import', other, '--name', 'pet-si-pbe')
    )
    assert node_count() == before

    assert cli(profile_env, 'models', 'import', other, '--name', 'my-potential').returncode == 0
    assert 'is taken by model PK' in one_line_error(
        cli(profile_env, 'models', 'import', second, '--name', 'my-potential')
    )
    again = cli(profile_env, 'models', 'import', other, '--name', 'my-potential')
    assert again.returncode == 0 and 'already imported' in again.stdout + again.stderr
    moved = cli(profile_env, 'models', 'import', second, '--name', 'my-potential', '--replace')
    assert moved.returncode == 0, moved.stderr
    assert resolve_model('my-potential').architecture == 'ase.calculators.morse.MorsePotential'
    assert cli(profile_env, 'models', 'rename', 'my-potential', 'my-morse').returncode == 0
    assert 'cannot change' in one_line_error(cli(profile_env, 'models', 'rename', 'emt', 'my-emt'))

    listed = json.loads(cli(profile_env, 'models', 'list', '--json').stdout)
    assert [model['name'] for model in listed if model['default']] == ['pet-si-pbe']
    assert resolve_model('pet-si-pbe').pk == shipped_models['pet-si-pbe'].pk


def test_an_ad_hoc_ase_model_resolves_to_the_registered_one(shipped_models, profile_env, tmp_path):
    assert resolve_model('ase:ase.calculators.emt.EMT').pk == shipped_models['emt'].pk
    bulk('Fe', 'bcc', a=2.87, cubic=True).write(tmp_path / 'fe.cif')
    before = node_count()
    message = one_line_error(
        cli(profile_env, 'evaluate', tmp_path / 'fe.cif', '--model', 'ase:ase.calculators.emt.EMT')
    )
    assert 'contains Fe, which model `emt` does not know' in message
    assert node_count() == before


def slab() -> Atoms:
    atoms = fcc111('Cu', size=(1, 1, 3), vacuum=50.0)
    return atoms


@pytest.mark.parametrize(
    ('structure', 'options', 'message'),
    [
        (bulk('Cu', 'fcc', a=3.61), ['--supercell', '0', '2', '2'], 'has determinant 0'),
        (bulk('Cu', 'fcc', a=3.61), ['--supercell', '-2', '2', '2'], 'has determinant -8'),
        (bulk('Cu', 'fcc', a=3.61), ['--supercell', '30', '30', '30'], 'the supercell would have 108000 atoms'),
        (molecule('H2O'), [], 'is not a 3D-periodic crystal'),
        (slab(), [], 'of vacuum along lattice vector c'),
        (bulk('Fe', 'bcc', a=2.87), [], 'contains Fe, which model `emt` does not know'),
    ],
    ids=['singular', 'left-handed', 'huge', 'molecule', 'slab', 'element'],
)
def test_phonons_that_cannot_work_are_refused_before_any_job(
    structure, options, message, profile_env, shipped_models, tmp_path
):
    structure.write(tmp_path / 'input.xyz' if not structure.pbc.any() else tmp_path / 'input.cif')
    path = next(tmp_path.glob('input.*'))
    before = node_count()
    result = cli(profile_env, 'phonons', path, '--model', 'emt', '--protocol', 'fast', *options)
    assert message in one_line_error(result)
    assert node_count() == before


def test_overlapping_atoms_are_refused_with_the_pair_named(engine_code, shipped_models):
    atoms = bulk('Cu', 'fcc', a=3.61, cubic=True)
    atoms.positions[3] = atoms.positions[1] + [0.1, 0.0, 0.0]
    before = node_count()
    builder = PhononWorkChain.get_builder_from_protocol(
        engine_code, StructureData(ase=atoms), shipped_models['emt'], protocol='fast'
    )
    with pytest.raises(ValueError, match=r'atoms 1 \(Cu\) and 3 \(Cu\) are 0.100 A apart'):
        run_get_node(builder)
    assert node_count() == before


def test_a_truncated_cif_is_refused_and_a_garbled_one_says_why(profile_env, shipped_models, tmp_path):
    complete = tmp_path / 'si.cif'
    bulk('Si', 'diamond', a=5.43, cubic=True).write(complete)
    lines = complete.read_text().splitlines()
    atom_rows = [index for index, line in enumerate(lines) if line.strip().startswith('Si ')]
    truncated = tmp_path / 'truncated.cif'
    truncated.write_text('\n'.join(lines[: atom_rows[2]]) + '\n')  # the file ends after 2 of its 8 atoms
    message = one_line_error(cli(profile_env, 'phonons', truncated, '--protocol', 'fast'))
    assert 'declares' in message and 'Si8' in message and 'Si2' in message

    garbled = tmp_path / 'garbled.cif'
    garbled.write_bytes(os.urandom(2000))
    message = one_line_error(cli(profile_env, 'phonons', garbled))
    assert message.rstrip().endswith(':') is False
    assert 'cannot read a structure from' in message and len(message.split('garbled.cif:')[1].strip()) > 10


def test_json_on_failure_is_one_object_on_stdout(profile_env, shipped_models, tmp_path):
    result = cli(profile_env, 'phonons', tmp_path / 'missing.cif', '--json')
    assert result.returncode != 0
    payload = json.loads(result.stdout)
    assert payload['exit_status'] != 0 and 'does not exist' in payload['exit_message']
    assert 'does not exist' in result.stderr


def test_a_failure_deep_down_is_named_in_the_final_message(profile_env, nan_model_file, engine_code, tmp_path):
    bulk('Si', 'diamond', a=5.43).write(tmp_path / 'si.cif')
    result = cli(profile_env, 'phonons', tmp_path / 'si.cif', '--model', nan_model_file, '--protocol', 'fast', '--json')
    payload = json.loads(result.stdout)
    assert payload['exit_status'] == PhononWorkChain.exit_codes.ERROR_RELAXATION_FAILED.status
    assert 'NaN or infinite model output' in payload['exit_message']
    assert 'NaN or infinite model output' in result.stderr.splitlines()[-1]


def test_an_engine_killed_by_a_signal_says_so(aiida_localhost, shipped_models, tmp_path):
    script = tmp_path / 'killed-engine'
    script.write_text('#!/bin/bash\nkill -KILL $$\n')
    script.chmod(0o755)
    code = InstalledCode(computer=aiida_localhost, filepath_executable=str(script), label='killed-engine').store()
    _, node = run_get_node(
        EvaluateCalculation, code=code, model=shipped_models['emt'], structures=StructureData(ase=bulk('Cu'))
    )
    assert node.exit_status == EvaluateCalculation.exit_codes.ERROR_ENGINE_KILLED.status
    assert 'SIGKILL (9)' in node.exit_message


def disordered_cif(path: Path) -> Path:
    """fcc CuAu with one site shared half and half: ASE reads it as pure Au (the majority species of the site)."""
    rows = ['Cu1 Cu 0 0 0 0.5', 'Au1 Au 0 0 0 0.5']
    cell = [f'_cell_length_{axis} 3.75' for axis in 'abc'] + [
        f'_cell_angle_{angle} 90' for angle in ('alpha', 'beta', 'gamma')
    ]
    lines = ['data_CuAu', "_chemical_formula_sum 'Au0.5 Cu0.5'", *cell, "_symmetry_space_group_name_H-M 'F m -3 m'"]
    lines += [
        'loop_',
        *(f'_atom_site_{name}' for name in ('label', 'type_symbol', 'fract_x', 'fract_y', 'fract_z', 'occupancy')),
    ]
    path.write_text('\n'.join([*lines, *rows]) + '\n')
    return path


def test_a_disordered_cif_is_refused_not_computed_as_another_crystal(profile_env, shipped_models, tmp_path):
    before = node_count()
    message = one_line_error(cli(profile_env, 'phonons', disordered_cif(tmp_path / 'cuau.cif'), '--model', 'emt'))
    assert 'partly occupied sites (Cu1 0.5, Au1 0.5)' in message and 'ordered structure' in message
    assert node_count() == before


def test_a_file_of_several_structures_needs_the_one_named(profile_env, shipped_models, tmp_path):
    from aiida_unconmlip.cli.params import load_structure

    frames = [bulk('Cu', 'fcc', a=a, cubic=True) for a in (3.55, 3.61, 3.67)]
    before = node_count()
    for suffix in ('extxyz', 'cif'):  # several frames, several data blocks
        path = tmp_path / f'cu.{suffix}'
        write(path, frames)
        message = one_line_error(cli(profile_env, 'phonons', path, '--model', 'emt'))
        assert f'cu.{suffix} holds 3 structures; name the one to compute as' in message and '@INDEX (0 to 2' in message
        message = one_line_error(cli(profile_env, 'relax', f'{path}@3', '--model', 'emt'))
        assert 'no such structure' in message and 'holds 3, numbered 0 to 2' in message
        assert load_structure(f'{path}@1').get_ase().cell.cellpar()[0] == pytest.approx(3.61)
        assert load_structure(f'{path}@-1').get_ase().cell.cellpar()[0] == pytest.approx(3.67)
    assert node_count() == before


@pytest.mark.parametrize(
    ('args', 'message'),
    [
        (['kappa', '{si}', '--temperatures', 'nan 300'], 'conductivity.temperatures must hold finite numbers'),
        (['kappa', '{si}', '--temperatures', 'inf 300'], 'conductivity.temperatures must hold finite numbers'),
        (['kappa', '{si}', '--smearing', 'nan'], 'conductivity.smearing_thz must hold finite numbers'),
        (['phonons', '{si}', '--min-length', 'inf'], 'displacements.min_length must hold finite numbers'),
        (['phonons', '{si}', '--min-length', 'nan'], 'displacements.min_length must hold finite numbers'),
        (['phonons', '{si}', '--symprec', 'nan'], 'must be a positive, finite length in Angstrom, not nan'),
        (['qha', '{si}', '--max-strain', 'nan'], 'volumes.max_linear_strain must hold finite numbers'),
        (['relax', '{si}', '--rotational-average', '20'], 'evaluates each structure 13940 times (rotated copies)'),
        (['phonons', '{si}', '--rotational-average', '8'], 'give --accept-cost to run it'),
        (['relax', '{si}', '--model', 'ase:x./proc/self/cwd/pwn'], 'is not a calculator class'),
        (['relax', '{si}', '--model', 'ase:ase.calculators.emt.EMT;touch x'], 'is not a calculator class'),
    ],
)
def test_non_finite_parameters_and_malformed_specs_are_refused_before_anything_is_stored(
    args, message, profile_env, shipped_models, tmp_path
):
    si = tmp_path / 'si.cif'
    bulk('Si', 'diamond', a=5.43).write(si)
    before = node_count()
    result = subprocess.run(
        [BIN / 'aiida-unconmlip', *(str(si) if arg == '{si}' else arg for arg in args)],
        env=profile_env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert message in one_line_error(result)
    assert node_count() == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ['si.cif']  # nothing written where the command ran


def impostor(claimed_sha256: str, label: str, tmp_path: Path) -> ModelData:
    """What a crafted archive can put in a profile: a model node recording another file's hash (and name)."""
    spec = tmp_path / f'impostor-{label}.json'
    spec.write_text(json.dumps({'calculator': 'ase.calculators.lj.LennardJones', 'name': label}))
    node = ModelData(file=spec, filename=spec.name)
    real = ModelData.import_file(spec, store=False)
    for key, value in real.base.attributes.all.items():
        node.base.attributes.set(key, value)
    node.base.attributes.set('sha256', claimed_sha256)
    node.label = label
    return node.store()


def test_a_node_claiming_another_files_hash_is_never_taken_for_it(shipped_models, tmp_path):
    from aiida.tools import delete_nodes

    from aiida_unconmlip.models.importing import import_shipped_models

    genuine = shipped_models['emt']
    morse = tmp_path / 'morse.json'
    morse.write_text(json.dumps({'calculator': 'ase.calculators.morse.MorsePotential', 'name': 'morse-here'}))
    fakes = [impostor(genuine.sha256, 'emt', tmp_path), impostor(sha256_of_file(morse), 'morse-here', tmp_path)]
    try:
        assert not fakes[0].holds_its_file() and genuine.holds_its_file()
        assert resolve_model('emt').pk == genuine.pk
        assert {node.model_name: node.pk for node in import_shipped_models()}['emt'] == genuine.pk
        imported = import_model(morse)
        assert imported.pk not in {fake.pk for fake in fakes} and imported.holds_its_file()
        assert imported.architecture == 'ase.calculators.morse.MorsePotential'
    finally:
        delete_nodes([fake.pk for fake in fakes], dry_run=False)
