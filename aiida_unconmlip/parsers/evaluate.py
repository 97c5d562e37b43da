"""Parser of ``unconmlip.evaluate``: the predictions, or what the engine finished before it was stopped."""

from __future__ import annotations

import json

import numpy as np
from aiida.engine import ExitCode
from aiida.orm import ArrayData

from ..engine import io as engine_io
from ..engine.restoration import combine_records
from ..step_record import StepRecord
from ..symmetry.records import RECORDS_NAMESPACE, record_nodes
from .base import EngineParser


class EvaluateParser(EngineParser):
    """Energies, forces, stresses, restoration records and timing of every structure.

    A job stopped before the end (walltime, ``scancel``, a lost node, a crash) still outputs ``partial_results``:
    the structures it finished (their ``indices`` into the job's set, ``energies``, ``forces`` with
    ``atom_offsets``, ``stresses``) and their restoration records, so a restart evaluates only the others.
    """

    def parse(self, **kwargs) -> ExitCode | None:
        outputs = self.read_outputs()
        if not isinstance(outputs, ExitCode):
            self.output_predictions(*outputs)
            return None
        self.output_partial_results()
        scheduler_status = self.node.exit_status  # set by the scheduler's own parser (walltime, node failure...)
        if scheduler_status:
            return next(code for code in self.exit_codes.values() if code.status == scheduler_status)
        return outputs

    def output_partial_results(self) -> None:
        names = (
            self.retrieved.base.repository.list_object_names(engine_io.PARTIAL_FOLDER)
            if engine_io.PARTIAL_FOLDER in self.retrieved.base.repository.list_object_names()
            else []
        )
        parts = sorted(name[: -len('.npz')] for name in names if name.endswith('.npz') and '.tmp' not in name)
        if not parts:
            return
        arrays = [self.read_npz(f'{engine_io.PARTIAL_FOLDER}/{part}.npz') for part in parts]
        records = [
            [
                StepRecord(**record)
                for record in json.loads(
                    self.retrieved.base.repository.get_object_content(f'{engine_io.PARTIAL_FOLDER}/{part}.json')
                )
            ]
            for part in parts
        ]
        forces = [np.split(part['forces'], part['atom_offsets'][1:-1]) for part in arrays]
        partial = ArrayData()
        partial.set_array('indices', np.concatenate([part['indices'] for part in arrays]))
        partial.set_array('energies', np.concatenate([part['energies'] for part in arrays]))
        partial.set_array('forces', np.concatenate([part['forces'] for part in arrays]))
        partial.set_array('atom_offsets', np.cumsum([0] + [len(f) for group in forces for f in group]))
        partial.set_array('stresses', np.concatenate([part['stresses'] for part in arrays]))
        self.out('partial_results', partial)
        for name, node in record_nodes(combine_records(records)).items():
            self.out(f'{RECORDS_NAMESPACE}.{name}', node)
