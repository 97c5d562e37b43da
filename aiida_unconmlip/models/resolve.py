"""Turn what a user types after ``--model`` into a stored model node.

Accepted, in this order: ``ase:<dotted.import.path>`` (an ASE calculator, recorded as a spec file), a path to
a model file (imported, deduplicated by hash), a registered model name, a PK or UUID.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from aiida.common import exceptions
from aiida.orm import QueryBuilder, load_node

from ..data.model import ModelData, ModelImportError, RemoteModelData

ASE_PREFIX = 'ase:'


def _import_ase_calculator(dotted_path: str) -> ModelData:
    spec = {'calculator': dotted_path, 'name': dotted_path.rpartition('.')[2].lower()}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f'{spec["name"]}.json'
        path.write_text(json.dumps(spec, indent=2, sort_keys=True) + '\n')
        return ModelData.import_file(path, backend='ase', source=f'{ASE_PREFIX}{dotted_path}')


def model_by_name(name: str) -> ModelData | RemoteModelData | None:
    """The most recently stored model node with this name."""
    query = QueryBuilder().append(
        (ModelData, RemoteModelData), filters={'attributes.name': name}, project='*', tag='model'
    )
    query.order_by({'model': {'ctime': 'desc'}})
    return query.first(flat=True)


def resolve_model(identifier: str) -> ModelData | RemoteModelData:
    """The model node ``identifier`` names; :class:`ModelImportError` with a hint when none matches."""
    if identifier.startswith(ASE_PREFIX):
        return _import_ase_calculator(identifier[len(ASE_PREFIX) :])
    if Path(identifier).is_file():
        return ModelData.import_file(identifier)
    node = model_by_name(identifier)
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
