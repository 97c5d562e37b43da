"""Turn what a user types after ``--model`` into a stored model node.

Accepted, in this order: ``ase:<dotted.import.path>`` (an allowed ASE calculator class: the shipped model with that
calculator if there is one, else a spec recorded under the name ``ase:<path>``), a path to a model file (imported,
deduplicated by hash), a model name (:mod:`.names`), a PK or UUID.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from aiida.common import exceptions
from aiida.orm import load_node

from ..data.model import ModelData, ModelImportError, RemoteModelData
from ..engine.potentials.ase_backend import read_spec
from . import shipped_models
from .importing import import_model
from .names import named

ASE_PREFIX = 'ase:'
# A dotted import path of Python identifiers: what ``ase:`` takes, checked before the text is used anywhere.
DOTTED_PATH = re.compile(r'[A-Za-z_]\w*(\.[A-Za-z_]\w*)+', re.ASCII)


def _shipped_ase_model(dotted_path: str) -> str | None:
    """The name of the shipped model that is this ASE calculator with default settings, if any."""
    for model in shipped_models():
        if model.backend == 'ase':
            spec = read_spec(model.path)
            if spec['calculator'] == dotted_path and not spec.get('kwargs'):
                return model.name
    return None


def _ase_model(dotted_path: str) -> ModelData | RemoteModelData:
    if not DOTTED_PATH.fullmatch(dotted_path):
        raise ModelImportError(
            f'`{ASE_PREFIX}{dotted_path}` is not a calculator class: give {ASE_PREFIX}<module.path.ClassName>, '
            f'e.g. {ASE_PREFIX}ase.calculators.emt.EMT'
        )
    shipped = _shipped_ase_model(dotted_path)
    if shipped is not None:
        return _by_name(shipped)
    name = f'{ASE_PREFIX}{dotted_path}'
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f'{dotted_path.rpartition(".")[2].lower()}.json'  # an identifier: no separators
        path.write_text(json.dumps({'calculator': dotted_path, 'name': name}, indent=2, sort_keys=True) + '\n')
        return import_model(path, name=name, backend='ase')


def _by_name(name: str) -> ModelData | RemoteModelData:
    node = named(name)
    if node is None:
        raise ModelImportError(f'the model `{name}` is not in this profile: run `aiida-unconmlip setup`')
    return node


def resolve_model(identifier: str) -> ModelData | RemoteModelData:
    """The model node ``identifier`` names; :class:`ModelImportError` with a hint when none matches."""
    if identifier.startswith(ASE_PREFIX):
        return _ase_model(identifier[len(ASE_PREFIX) :])
    if Path(identifier).is_file():
        return import_model(identifier)
    node = named(identifier)
    if node is not None:
        return node
    try:
        node = load_node(identifier)
    except (exceptions.NotExistent, exceptions.MultipleObjectsError, ValueError):
        node = None
    if node is None:
        raise ModelImportError(
            f'no model called `{identifier}`: give a name from `aiida-unconmlip models list`, a model PK/UUID, '
            'a model file path, or ase:<import.path.Calculator>'
        )
    if not isinstance(node, (ModelData, RemoteModelData)):
        raise ModelImportError(f'node {identifier} is a {type(node).__name__}, not a model')
    return node
