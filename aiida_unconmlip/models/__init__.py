"""Models shipped inside the package, listed in ``registry.json`` with the sha256 of each file.

This module only reads the registry (no AiiDA); importing the models as nodes is
:func:`aiida_unconmlip.models.importing.import_shipped_models`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

REGISTRY = Path(__file__).parent / 'registry.json'


@dataclass(frozen=True)
class ShippedModel:
    name: str
    path: Path
    backend: str
    sha256: str
    description: str
    provenance: Path | None  # an AiiDA archive of how the model was made, imported with it


def default_model_name() -> str:
    """The model used when none is named (``--model`` omitted)."""
    return json.loads(REGISTRY.read_text())['default']


def shipped_models() -> list[ShippedModel]:
    """The models in the registry, in order."""
    entries = json.loads(REGISTRY.read_text())['models']
    return [
        ShippedModel(
            name=entry['name'],
            path=REGISTRY.parent / entry['file'],
            backend=entry['backend'],
            sha256=entry['sha256'],
            description=entry['description'],
            provenance=REGISTRY.parent / entry['provenance'] if 'provenance' in entry else None,
        )
        for entry in entries
    ]


def shipped_model(name: str) -> ShippedModel:
    """The registry's model called ``name``; ``KeyError`` lists the names there are."""
    models = {model.name: model for model in shipped_models()}
    if name not in models:
        raise KeyError(f'no shipped model {name!r}; the registry has {", ".join(models)}')
    return models[name]
