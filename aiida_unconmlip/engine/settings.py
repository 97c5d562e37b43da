"""Runtime settings of an engine job (device, dtype, batch size), validated in one place for both sides."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

DEVICES = ('auto', 'cpu', 'cuda')
DTYPES = ('float32', 'float64')


@dataclass(frozen=True)
class EngineSettings:
    """``dtype`` None keeps the model's own precision; ``max_atoms_per_batch`` counts rotated copies too, and None
    means the device's budget (:data:`aiida_unconmlip.engine.batching.ATOMS_PER_BATCH`; on the CPU, measured in the
    job for each structure size)."""

    device: str = 'auto'
    dtype: str | None = None
    max_atoms_per_batch: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_settings(data: dict[str, Any] | None) -> EngineSettings:
    """Build :class:`EngineSettings`, raising ``ValueError`` that says what to fix."""
    data = dict(data or {})
    unknown = set(data) - {'device', 'dtype', 'max_atoms_per_batch'}
    if unknown:
        raise ValueError(f'unknown settings keys {sorted(unknown)}; allowed: device, dtype, max_atoms_per_batch')
    device = data.get('device', 'auto')
    if device not in DEVICES:
        raise ValueError(f'device must be one of {list(DEVICES)}, not {device!r}')
    dtype = data.get('dtype')
    if dtype is not None and dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {list(DTYPES)} (or absent for the model's own), not {dtype!r}")
    max_atoms = data.get('max_atoms_per_batch')
    if max_atoms is not None and (isinstance(max_atoms, bool) or not isinstance(max_atoms, int) or max_atoms < 1):
        raise ValueError(f'max_atoms_per_batch must be a positive integer (or absent), not {max_atoms!r}')
    return EngineSettings(device=device, dtype=dtype, max_atoms_per_batch=max_atoms)
