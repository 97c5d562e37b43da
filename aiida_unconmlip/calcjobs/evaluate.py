"""``unconmlip.evaluate``: energies, forces and stresses of many structures in one job on a compute node."""

from __future__ import annotations

from aiida.orm import ArrayData

from ..engine import io as engine_io
from .base import EngineCalculation


class EvaluateCalculation(EngineCalculation):
    """Evaluate a set of structures with a model, applying the in-engine restoration steps.

    ``forces_mode`` and ``rotational_average`` are applied here because they need the model; each leaves its record
    ``{name, parameters, effect}`` under the ``restoration_steps`` output namespace. The engine splits the set into
    batches that fit the device.
    """

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.inputs['metadata']['options']['parser_name'].default = 'unconmlip.evaluate'
        spec.output(
            'partial_results',
            valid_type=ArrayData,
            required=False,
            help='Of a job stopped before the end: the structures it finished (indices, energies, forces, '
            'atom_offsets, stresses), for a restart to complete.',
        )

    def retrieve_list(self) -> list[str]:
        return [*super().retrieve_list(), engine_io.PARTIAL_FOLDER]
