"""Parser of ``unconmlip.evaluate``: reads the engine's output folder into nodes."""

from __future__ import annotations

import json

import numpy as np
from aiida.engine import ExitCode
from aiida.orm import ArrayData, Dict
from aiida.parsers import Parser

from ..data import ForceSetData
from ..data.ragged import unpack
from ..engine import io as engine_io


class EvaluateParser(Parser):
    """Turn ``results.npz`` and ``report.json`` into outputs, or ``error.json`` into the matching exit code."""

    def parse(self, **kwargs) -> ExitCode | None:
        retrieved = self.retrieved
        names = retrieved.base.repository.list_object_names()
        if engine_io.ERROR_FILE in names:
            return self._exit_code_from_error(
                json.loads(retrieved.base.repository.get_object_content(engine_io.ERROR_FILE))
            )
        if engine_io.RESULTS_FILE not in names or engine_io.REPORT_FILE not in names:
            return self.exit_codes.ERROR_MISSING_OUTPUT

        with (
            retrieved.base.repository.open(engine_io.RESULTS_FILE, 'rb') as handle,
            np.load(handle, allow_pickle=False) as results,
        ):
            arrays = {key: results[key] for key in results.files}
        report = json.loads(retrieved.base.repository.get_object_content(engine_io.REPORT_FILE))

        energies = ArrayData()
        energies.set_array('energies', arrays['energies'])
        stresses = ArrayData()
        stresses.set_array('stresses', arrays['stresses'])
        self.out('energies', energies)
        self.out('forces', ForceSetData.from_list(unpack(arrays['forces'], arrays['atom_offsets'])))
        self.out('stresses', stresses)
        self.out('restoration_report', Dict(report['restoration_report']))
        self.out('timing', Dict({**report['timing'], 'versions': report['versions']}))
        return None

    def _exit_code_from_error(self, error: dict) -> ExitCode:
        """Engine error codes map to exit codes named ``ERROR_<code>``; anything else is a crash."""
        code, message = error.get('code', 'ENGINE_CRASH'), error.get('message', '')
        exit_code = self.exit_codes.get(f'ERROR_{code}')
        if exit_code is None:
            exit_code = self.exit_codes.ERROR_ENGINE_CRASH
        self.logger.error(f'{code}: {message}')
        return exit_code.format(message=message.splitlines()[0] if message else code)
