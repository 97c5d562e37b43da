"""What the engine's parsers share: engine errors to exit codes, and the energies/forces/stresses outputs."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from aiida.engine import ExitCode
from aiida.orm import ArrayData, Dict
from aiida.parsers import Parser

from ..data import ForceSetData
from ..data.ragged import unpack
from ..engine import io as engine_io


def array_node(name: str, values: np.ndarray) -> ArrayData:
    node = ArrayData()
    node.set_array(name, values)
    return node


class EngineParser(Parser):
    """Read the engine's output folder; ``error.json`` becomes the exit code ``ERROR_<code>``."""

    def read_npz(self, name: str) -> dict[str, np.ndarray]:
        with self.retrieved.base.repository.open(name, 'rb') as handle, np.load(handle, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}

    def read_outputs(self) -> tuple[dict[str, np.ndarray], dict[str, Any]] | ExitCode:
        """The results arrays and the report, or the exit code that explains why there are none."""
        names = self.retrieved.base.repository.list_object_names()
        if engine_io.ERROR_FILE in names:
            error = json.loads(self.retrieved.base.repository.get_object_content(engine_io.ERROR_FILE))
            return self.exit_code_from_error(error)
        if engine_io.RESULTS_FILE not in names or engine_io.REPORT_FILE not in names:
            return self.exit_codes.ERROR_MISSING_OUTPUT
        report = json.loads(self.retrieved.base.repository.get_object_content(engine_io.REPORT_FILE))
        return self.read_npz(engine_io.RESULTS_FILE), report

    def exit_code_from_error(self, error: dict) -> ExitCode:
        """Engine error codes map to exit codes named ``ERROR_<code>``; anything else is a crash."""
        code, message = error.get('code', 'ENGINE_CRASH'), error.get('message', '')
        exit_code = self.exit_codes.get(f'ERROR_{code}') or self.exit_codes.ERROR_ENGINE_CRASH
        self.logger.error(f'{code}: {message}')
        return exit_code.format(message=message.splitlines()[0] if message else code)

    def output_predictions(self, arrays: dict[str, np.ndarray], report: dict[str, Any]) -> None:
        self.out('energies', array_node('energies', arrays['energies']))
        self.out('forces', ForceSetData.from_list(unpack(arrays['forces'], arrays['atom_offsets'])))
        self.out('stresses', array_node('stresses', arrays['stresses']))
        self.out('restoration_report', Dict(report['restoration_report']))
        self.out('timing', Dict({**report['timing'], 'versions': report['versions']}))
