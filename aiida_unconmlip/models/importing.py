"""Import the shipped models as ``ModelData`` nodes (used by ``aiida-unconmlip setup``).

A model shipped with a provenance archive is imported from that archive, so the node keeps its links back to the
training job and the DFT calculations (without the computer and codes of the machine that made it, see
:mod:`.provenance_archive`); the others are imported from their file.
"""

from __future__ import annotations

from aiida.orm import CalcJobNode, QueryBuilder

from ..data.model import ModelData, ModelImportError
from ..engine.hashing import sha256_of_file
from . import shipped_models
from .provenance_archive import import_provenance


def trained_model(sha256: str) -> ModelData | None:
    """The model node with this hash that a calculation created (the one whose provenance is on record)."""
    query = QueryBuilder().append(CalcJobNode, tag='training')
    query.append(ModelData, with_incoming='training', filters={'attributes.sha256': sha256})
    return query.first(flat=True)


def import_shipped_models() -> list[ModelData]:
    """Return one stored node per shipped model, creating only those not yet in the profile."""
    nodes = []
    for model in shipped_models():
        actual = sha256_of_file(model.path)
        if actual != model.sha256:
            raise ModelImportError(
                f'shipped model {model.name} ({model.path}) has sha256 {actual}, the registry says {model.sha256}: '
                'the installation is damaged; reinstall aiida-unconmlip'
            )
        if model.provenance is None:
            nodes.append(
                ModelData.import_file(model.path, backend=model.backend, name=model.name, source='aiida-unconmlip')
            )
            continue
        if trained_model(model.sha256) is None:
            import_provenance(model.provenance)
        nodes.append(trained_model(model.sha256))
    return nodes
