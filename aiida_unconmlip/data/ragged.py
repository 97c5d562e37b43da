"""Store per-structure arrays of different lengths as one concatenated array plus offsets."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np


def pack(arrays: Sequence[np.ndarray], width: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate ``arrays`` along the first axis; return the result and the ``offsets`` (N + 1,)."""
    offsets = np.cumsum([0, *(len(array) for array in arrays)]).astype(np.int64)
    values = (
        np.concatenate([np.asarray(a, dtype=float).reshape(-1, width) for a in arrays])
        if arrays
        else np.zeros((0, width))
    )
    return values, offsets


def unpack(values: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    """Inverse of :func:`pack`."""
    return [values[start:stop] for start, stop in itertools.pairwise(offsets)]
