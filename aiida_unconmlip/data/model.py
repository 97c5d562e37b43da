"""Models as data with an identity: the file (or a path on a remote computer) and its sha256.

The model's description (elements, capabilities, cutoff...) is read by the engine's own loader, so the AiiDA
side never touches model internals and what is recorded is what the engine will see.
"""

from __future__ import annotations

import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from aiida.orm import Computer, Data, QueryBuilder, SinglefileData

from ..engine.errors import EngineError
from ..engine.hashing import sha256_of_file, sha256_of_stream
from ..engine.potentials import BACKENDS, guess_backend, load_potential

SHA256_PATTERN = re.compile(r'^[0-9a-f]{64}$')
CAPABILITIES = ('conservative', 'direct_forces', 'direct_stress')
# Whether each stored model's file, by node UUID, had the sha256 its node records, in this process.
_HASH_CHECKED: dict[str, bool] = {}


class ModelImportError(ValueError):
    """A model file could not be imported; the message says why."""


class ModelAttributesMixin:
    """Read access to the attributes both model node types record (``model_`` where a Node property exists)."""

    @property
    def sha256(self) -> str:
        return self.base.attributes.get('sha256')

    @property
    def model_backend(self) -> str:
        return self.base.attributes.get('backend')

    @property
    def model_name(self) -> str:
        """The name ``--model`` finds it by (the node's label, see :mod:`aiida_unconmlip.models.names`)."""
        return self.label

    @property
    def declared_name(self) -> str | None:
        """The name the file gave itself (or was given) when it was imported, kept as it was."""
        return self.base.attributes.get('name')

    @property
    def architecture(self) -> str | None:
        return self.base.attributes.get('architecture', None)

    @property
    def elements(self) -> list[str] | None:
        return self.base.attributes.get('elements', None)

    @property
    def capabilities(self) -> dict[str, bool]:
        return self.base.attributes.get('capabilities', {})

    @property
    def cutoff(self) -> float | None:
        return self.base.attributes.get('cutoff', None)

    @property
    def model_source(self) -> str | None:
        return self.base.attributes.get('source', None)


class ModelData(ModelAttributesMixin, SinglefileData):
    """A model file stored in the repository, identified by its sha256.

    Use :meth:`import_file`: importing the same file twice returns the node already stored. Names are labels, given
    by :func:`aiida_unconmlip.models.importing.import_model`.
    """

    @classmethod
    def find(cls, sha256: str) -> ModelData | None:
        """The stored model with this content hash, if any: one whose file has it, not only its record (a node
        imported from an archive could claim another file's hash)."""
        query = QueryBuilder().append(cls, filters={'attributes.sha256': sha256})
        return next((node for node in query.all(flat=True) if node.holds_its_file()), None)

    def holds_its_file(self) -> bool:
        """Whether the stored file has the recorded sha256 (hashed once per node and process: stored files never
        change)."""
        if self.uuid not in _HASH_CHECKED:
            with self.open(mode='rb') as handle:
                _HASH_CHECKED[self.uuid] = sha256_of_stream(handle) == self.sha256
        return _HASH_CHECKED[self.uuid]

    @classmethod
    def find_file(cls, path: str | Path) -> ModelData | None:
        """The stored model holding the same content as the file at ``path``, if any."""
        return cls.find(sha256_of_file(path)) if Path(path).is_file() else None

    @classmethod
    def import_file(
        cls,
        path: str | Path,
        *,
        backend: str | None = None,
        name: str | None = None,
        source: str | None = None,
        store: bool = True,
    ) -> ModelData:
        """Return the node for the model file at ``path``, creating it if no node has the same content.

        The file is loaded once with the engine's backend to record what it declares (elements, capabilities,
        cutoff); a file that does not load is refused with :class:`ModelImportError`.
        """
        path = Path(path)
        if not path.is_file():
            raise ModelImportError(f'model file {path} does not exist')
        sha256 = sha256_of_file(path)
        existing = cls.find(sha256)
        if existing is not None:
            return existing
        backend = backend or guess_backend(path)
        if backend not in BACKENDS:
            raise ModelImportError(f'unknown backend `{backend}`; choose one of {", ".join(BACKENDS)}')
        try:
            description = load_potential(path, backend, device='cpu').description
        except EngineError as exc:
            raise ModelImportError(f'cannot import {path}: {exc}') from exc
        node = cls(file=path.resolve(), filename=path.name)
        attributes = asdict(description)
        attributes.update(sha256=sha256, name=name or description.name, source=source or str(path.name))
        for key, value in attributes.items():
            node.base.attributes.set(key, value)
        return node.store() if store else node

    def engine_reference(self) -> dict[str, Any]:
        """The ``model`` entry of the engine's job.json: the file is copied next to it."""
        return {'backend': self.model_backend, 'path': self.filename, 'sha256': self.sha256}


class RemoteModelData(ModelAttributesMixin, Data):
    """A model file that stays on a remote computer (GB-sized foundation models), recorded by path and sha256.

    The engine hashes the file before use and refuses it if it changed.
    """

    def __init__(
        self,
        *,
        computer: Computer,
        remote_path: str,
        sha256: str,
        backend: str,
        name: str,
        elements: list[str] | None = None,
        capabilities: dict[str, bool] | None = None,
        cutoff: float | None = None,
        source: str | None = None,
        **kwargs,
    ):
        super().__init__(computer=computer, **kwargs)
        if not Path(remote_path).is_absolute():
            raise ValueError(f'remote_path must be absolute on {computer.label}, got {remote_path}')
        if not SHA256_PATTERN.match(sha256):
            raise ValueError('sha256 must be 64 lowercase hexadecimal characters')
        if backend not in BACKENDS:
            raise ValueError(f'unknown backend `{backend}`; choose one of {", ".join(BACKENDS)}')
        unknown = set(capabilities or {}) - set(CAPABILITIES)
        if unknown:
            raise ValueError(f'unknown capabilities {sorted(unknown)}; allowed: {", ".join(CAPABILITIES)}')
        attributes = {
            'remote_path': remote_path,
            'sha256': sha256,
            'backend': backend,
            'name': name,
            'elements': sorted(elements) if elements else None,
            'capabilities': {'conservative': True, **(capabilities or {})},
            'cutoff': cutoff,
            'source': source,
        }
        for key, value in attributes.items():
            self.base.attributes.set(key, value)
        self.label = name

    @property
    def remote_path(self) -> str:
        return self.base.attributes.get('remote_path')

    def engine_reference(self) -> dict[str, Any]:
        """The ``model`` entry of the engine's job.json: an absolute path on the compute node."""
        return {'backend': self.model_backend, 'path': self.remote_path, 'sha256': self.sha256}
