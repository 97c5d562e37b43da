"""The warm engine process's model cache: the last few models kept, each used again only for a file of its sha256."""

from __future__ import annotations

import json
from collections import OrderedDict
from contextlib import suppress
from pathlib import Path

KEPT_MODELS = 4


class KeptModels:
    """``load_potential`` for the warm process: the last few models kept, each used again only for a file of its
    sha256 (the model files of jobs are copies in each job's folder).

    The model loaded last is noted in ``last_model``, and the next warm process of the same jobs loads it as it starts
    (:meth:`load_last`): a run's first job then finds the model it will most likely ask for loaded already."""

    def __init__(self, capacity: int = KEPT_MODELS, last_model: Path | None = None):
        self._capacity, self._kept, self._last_model = capacity, OrderedDict(), last_model

    def __call__(self, path, backend: str, sha256: str | None = None, device: str = 'auto', dtype: str | None = None):
        from .hashing import verify_sha256
        from .potentials import load_potential

        if sha256 is None or not Path(path).is_file():
            return load_potential(path, backend, sha256, device=device, dtype=dtype)
        verify_sha256(path, sha256)
        key = (backend, sha256, device, dtype)
        if key not in self._kept:
            self._kept[key] = load_potential(path, backend, device=device, dtype=dtype)  # its sha256 checked above
            self._note_last(path, key)
            while len(self._kept) > self._capacity:
                self._kept.popitem(last=False)
        self._kept.move_to_end(key)
        return self._kept[key]

    def _note_last(self, path, key: tuple) -> None:
        if self._last_model is not None:
            with suppress(OSError):
                self._last_model.write_text(json.dumps([str(Path(path).resolve()), *key]))

    def load_last(self) -> None:
        """Load the model that the previous warm process loaded last, if its file is still there with its sha256 (the
        default PET takes 0.25 s here)."""
        if self._last_model is None or not self._last_model.is_file():
            return
        try:
            path, *key = json.loads(self._last_model.read_text())
            self(path, *key)
        except Exception as exc:  # its file gone or changed, or anything else: the first job loads its model itself
            print(f'no model loaded ahead: {exc}', flush=True)
        else:
            print(f'loaded ahead: the model of sha256 {key[1]}', flush=True)

    def forget(self) -> None:
        self._kept.clear()
