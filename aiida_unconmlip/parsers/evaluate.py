"""Parser of ``unconmlip.evaluate``."""

from __future__ import annotations

from aiida.engine import ExitCode

from .base import EngineParser


class EvaluateParser(EngineParser):
    """Energies, forces, stresses, restoration report and timing of every structure."""

    def parse(self, **kwargs) -> ExitCode | None:
        outputs = self.read_outputs()
        if isinstance(outputs, ExitCode):
            return outputs
        self.output_predictions(*outputs)
        return None
