"""The record of one restoration step, the one shape every step reports in, wherever it runs: the engine, the
phonopy and phono3py tasks, the AiiDA calcfunctions. No imports of the project: every layer may use it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StepRecord:
    """What one restoration step did: the parameters it ran with and its measured effect."""

    name: str
    parameters: dict[str, Any]
    effect: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {'name': self.name, 'parameters': self.parameters, 'effect': self.effect}
