"""Import the shipped models as ``ModelData`` nodes (used by ``aiida-unconmlip setup``)."""

from __future__ import annotations

from ..data.model import ModelData, ModelImportError
from ..engine.hashing import sha256_of_file
from . import shipped_models


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
        nodes.append(
            ModelData.import_file(model.path, backend=model.backend, name=model.name, source='aiida-unconmlip')
        )
    return nodes
