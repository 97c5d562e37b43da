"""What every backend gives the engine: predictions for a batch of ASE structures."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from ase import Atoms


class BatchTooLarge(Exception):
    """Raised by a backend when a batch does not fit in device memory; the batcher then splits it."""


class OverlappingAtoms(Exception):
    """Raised by a backend that finds two atoms closer than the minimum distance, on its own neighbour list."""

    def __init__(self, position: int, first: int, second: int, distance: float):
        super().__init__(f'structure {position} of the batch: atoms {first} and {second} at {distance:.3f} A')
        self.position, self.first, self.second, self.distance = position, first, second, distance


@dataclass
class Prediction:
    """Model outputs for one structure in eV, eV/A and eV/A^3 (ASE's stress sign); stress is None if not 3D-periodic."""

    energy: float
    forces: np.ndarray
    stress: np.ndarray | None


@dataclass
class ModelDescription:
    """What a model file declares about itself; recorded on the AiiDA side as ``ModelData`` attributes."""

    backend: str
    architecture: str
    name: str
    elements: list[str] | None
    cutoff: float | None
    dtype: str
    capabilities: dict[str, bool] = field(default_factory=dict)


class Potential(Protocol):
    """A loaded model on a device, able to predict a batch of structures in one call."""

    description: ModelDescription
    device: str
    phase_seconds: dict[str, float]  # seconds spent in each phase of predict (transfer, forward...), cumulative
    max_concurrent_calls: int  # predict calls that may run at once, in threads (1: one after another)

    def predict(self, structures: list[Atoms], forces_mode: str) -> list[Prediction]:
        """Return one prediction per structure, in order."""
        ...

    def concurrent(self, calls: int) -> AbstractContextManager[None]:
        """Ready for ``calls`` (at most ``max_concurrent_calls``) predict calls at once while the context lasts."""
        ...
