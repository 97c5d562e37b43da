"""Register a model file that stays on a remote computer: described and hashed there by the engine itself."""

from __future__ import annotations

import json
import shlex

from aiida.orm import AbstractCode

from ..data.model import ModelImportError, RemoteModelData
from .names import claim


def describe_on_computer(code: AbstractCode, path: str, backend: str | None = None) -> dict:
    """What ``unconmlip-engine --describe PATH`` prints on the code's computer, in the code's environment."""
    command = [str(code.get_executable()), '--describe', path, *(['--backend', backend] if backend else [])]
    script = '\n'.join(
        filter(None, [code.computer.get_prepend_text(), code.prepend_text, ' '.join(map(shlex.quote, command))])
    )
    with code.computer.get_transport() as transport:
        status, stdout, stderr = transport.exec_command_wait(script)
    if status != 0:
        last = (stderr.strip().splitlines() or [f'exit status {status}'])[-1]
        raise ModelImportError(f'cannot describe {path} on {code.computer.label}: {last}')
    return json.loads(stdout.strip().splitlines()[-1])


def register_remote_model(code: AbstractCode, path: str, name: str, backend: str | None = None) -> RemoteModelData:
    """A stored ``RemoteModelData`` for the model at ``path`` on the code's computer, named ``name``."""
    description = describe_on_computer(code, path, backend)
    node = RemoteModelData(
        computer=code.computer,
        remote_path=path,
        sha256=description['sha256'],
        backend=description['backend'],
        name=name,
        elements=description['elements'],
        capabilities=description['capabilities'],
        cutoff=description['cutoff'],
        source=f'registered on {code.computer.label}',
    )
    claim(node, name)
    return node.store()
