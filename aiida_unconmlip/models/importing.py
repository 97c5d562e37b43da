"""Import model files as ``ModelData`` nodes under a name (``models import``, ``--model FILE``), and the shipped
models (``aiida-unconmlip setup``).

A model shipped with a provenance archive is imported from that archive, so the node keeps its links back to the
training job and the DFT calculations (without the computer and codes of the machine that made it, see
:mod:`.provenance_archive`); the others are imported from their file. Names follow :mod:`.names`.
"""

from __future__ import annotations

from pathlib import Path

from aiida.orm import CalcJobNode, QueryBuilder

from ..data.model import ModelData, ModelImportError
from ..engine.hashing import sha256_of_file
from . import default_model_name, shipped_models
from .names import claim, free_name
from .provenance_archive import import_provenance


def import_model(
    path: str | Path, name: str | None = None, replace: bool = False, backend: str | None = None
) -> ModelData:
    """The stored node of the model file at ``path``: the existing one if the file was imported before (its name
    kept), else a new node called ``name`` (refused if taken, unless ``replace``) or, without a name, what the file
    calls itself when that name is free."""
    node = ModelData.import_file(path, backend=backend, source=Path(path).name, store=False)
    if node.is_stored:
        if name is not None and not node.label:
            claim(node, name, replace)
        return node
    if name is not None:
        claim(node, name, replace)
    else:
        node.label = free_name(node.base.attributes.get('name'), node)
    return node.store()


def trained_model(sha256: str) -> ModelData | None:
    """The model node with this hash that a calculation created (the one whose provenance is on record), its file
    hashed: a node of an archive can record any hash."""
    query = QueryBuilder().append(CalcJobNode, tag='training')
    query.append(ModelData, with_incoming='training', filters={'attributes.sha256': sha256})
    return next((node for node in query.all(flat=True) if node.holds_its_file()), None)


def import_shipped_models() -> list[ModelData]:
    """Return one stored node per shipped model, named as the registry says, creating only those not yet here."""
    nodes = []
    for model in shipped_models():
        actual = sha256_of_file(model.path)
        if actual != model.sha256:
            raise ModelImportError(
                f'shipped model {model.name} ({model.path}) has sha256 {actual}, the registry says {model.sha256}: '
                'the installation is damaged; reinstall aiida-unconmlip'
            )
        if model.provenance is None:
            node = ModelData.import_file(model.path, backend=model.backend, source='aiida-unconmlip')
        else:
            if trained_model(model.sha256) is None:
                import_provenance(model.provenance)
            node = trained_model(model.sha256)
            if node is None:  # the archive's nodes are here already (same UUIDs), but not with this file
                raise ModelImportError(
                    f'the profile has the nodes of shipped model {model.name} with another file in place of its '
                    f'own (sha256 {model.sha256[:12]}...), imported from an archive that claims them: delete those '
                    'nodes (verdi node delete) and run setup again'
                )
        if node.label != model.name:
            claim(node, model.name)
        nodes.append(node)
    return nodes


def shipped_model_node(name: str | None = None) -> ModelData:
    """The stored node of the shipped model called ``name`` (the registry's default without one)."""
    nodes = {node.model_name: node for node in import_shipped_models()}
    name = name or default_model_name()
    if name not in nodes:
        raise ModelImportError(f'no shipped model is called {name!r}; shipped: {", ".join(sorted(nodes))}')
    return nodes[name]
