"""Getting onto a cluster: the computer/code templates verdi accepts as written, and a model registered where it
lies (on localhost here, through the same transport calls as over SSH)."""

from __future__ import annotations

import pytest
from aiida.cmdline.commands.cmd_verdi import verdi
from aiida.orm import load_code, load_computer
from click.testing import CliRunner

from aiida_unconmlip.cli.root import cmd_root
from aiida_unconmlip.data import RemoteModelData
from aiida_unconmlip.engine.hashing import sha256_of_file
from aiida_unconmlip.models.resolve import resolve_model


def invoke(command, *args):
    result = CliRunner().invoke(command, [str(a) for a in args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize(('scheduler', 'plugin'), [('slurm', 'core.slurm'), ('pbspro', 'core.pbspro')])
def test_computer_template_files_are_what_verdi_takes(aiida_profile_clean, tmp_path, scheduler, plugin):
    label = f'gpu-{scheduler}'
    printed = invoke(
        cmd_root,
        'computer-template',
        scheduler,
        tmp_path,
        '--label',
        label,
        '--engine',
        '/opt/env/bin/unconmlip-engine',
    )
    commands = printed.strip().splitlines()
    assert [line.split()[1:3] for line in commands] == [
        ['computer', 'setup'],
        ['computer', 'configure'],
        ['code', 'create'],
    ]
    for line in commands:  # exactly as printed, run from the folder the files are in
        words = line.split()[1:]
        words[-1] = str(tmp_path / words[-1])
        invoke(verdi, *words, '--non-interactive')

    computer = load_computer(label)
    assert (computer.scheduler_type, computer.transport_type) == (plugin, 'core.ssh')
    assert computer.get_workdir() == '/scratch/{username}/aiida'
    assert computer.get_configuration()['key_policy'] == 'RejectPolicy'
    code = load_code(f'unconmlip-engine@{label}')
    assert str(code.filepath_executable) == '/opt/env/bin/unconmlip-engine'
    assert code.default_calc_job_plugin == 'unconmlip.evaluate'
    assert 'conda activate' in code.prepend_text


def test_a_model_on_the_computer_is_registered_by_its_hash_without_copying(
    aiida_profile_clean, engine_code, pet_model_file
):
    output = invoke(
        cmd_root, 'models', 'register-remote', pet_model_file, '--code', engine_code.full_label, '--name', 'site-pet'
    )
    node = resolve_model('site-pet')
    assert isinstance(node, RemoteModelData) and f'PK {node.pk}' in output
    assert node.sha256 == sha256_of_file(pet_model_file)
    assert (node.remote_path, node.computer.uuid) == (str(pet_model_file), engine_code.computer.uuid)
    assert node.elements == ['Si'] and node.capabilities['direct_forces'] is True
    assert not list(node.base.repository.list_object_names())  # the file stayed where it was


def test_registering_a_file_that_is_not_there_says_so(aiida_profile_clean, engine_code, tmp_path):
    result = CliRunner().invoke(
        cmd_root,
        ['models', 'register-remote', str(tmp_path / 'absent.pt'), '--code', engine_code.full_label, '--name', 'x'],
    )
    assert result.exit_code != 0
    assert f'cannot describe {tmp_path / "absent.pt"} on localhost' in result.output
    assert RemoteModelData.collection.count() == 0
