"""Model backends: each turns a model file into a :class:`~.base.Potential` the engine can batch over."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelUnreadable
from ..hashing import verify_sha256
from .base import BatchTooLarge, ModelDescription, Potential, Prediction

BACKENDS = ('metatomic', 'ase')

__all__ = (
    'BACKENDS',
    'BatchTooLarge',
    'ModelDescription',
    'Potential',
    'Prediction',
    'guess_backend',
    'load_potential',
)


def guess_backend(path: str | Path) -> str:
    """Backend implied by a model file: ASE calculator specs are JSON, everything else is TorchScript."""
    return 'ase' if Path(path).suffix.lower() == '.json' else 'metatomic'


def load_potential(
    path: str | Path,
    backend: str,
    sha256: str | None = None,
    device: str = 'auto',
    dtype: str | None = None,
) -> Potential:
    """Load a model file with its backend, after checking its content against ``sha256`` when given."""
    path = Path(path)
    if not path.is_file():
        raise ModelUnreadable(f'model file {path} does not exist on this machine')
    if sha256 is not None:
        verify_sha256(path, sha256)
    if backend == 'ase':
        from .ase_backend import AsePotential

        return AsePotential(path)
    if backend == 'metatomic':
        from .metatomic_backend import MetatomicPotential

        return MetatomicPotential(path, device=device, dtype=dtype)
    raise ModelUnreadable(f'unknown model backend `{backend}`; choose one of {", ".join(BACKENDS)}')
