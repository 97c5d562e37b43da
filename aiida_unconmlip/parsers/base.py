"""What the engine's parsers share: engine errors to exit codes, and the energies/forces/stresses outputs."""

from __future__ import annotations

import json
import signal
from typing import Any

import numpy as np
from aiida.engine import ExitCode
from aiida.orm import ArrayData, Dict
from aiida.parsers import Parser

from ..calcjobs.engine_job import EXIT_STATUS_FILE
from ..data import ForceSetData
from ..data.ragged import unpack
from ..engine import io as engine_io
from ..engine.errors import EngineCrash
from ..symmetry.records import RECORDS_NAMESPACE, record_nodes


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
            return self.exit_code_without_output(names)
        report = json.loads(self.retrieved.base.repository.get_object_content(engine_io.REPORT_FILE))
        return self.read_npz(engine_io.RESULTS_FILE), report

    def exit_code_without_output(self, names: list[str]) -> ExitCode:
        """The engine stopped without writing results or error.json: say how, from its exit status if recorded."""
        if EXIT_STATUS_FILE not in names:
            return self.exit_codes.ERROR_MISSING_OUTPUT.format(message='its exit status was not recorded')
        status = int(self.retrieved.base.repository.get_object_content(EXIT_STATUS_FILE).strip() or -1)
        if status > 128:
            number = status - 128
            try:
                name = signal.Signals(number).name
            except ValueError:
                name = f'signal {number}'
            hint = 'the scheduler (walltime, scancel), the out-of-memory killer or a user stopped it; run it again'
            return self.exit_codes.ERROR_ENGINE_KILLED.format(signal=f'{name} ({number})', message=hint)
        causes = {126: 'the executable is not executable', 127: 'the executable was not found'}
        if status in causes:
            return self.exit_codes.ERROR_ENGINE_NOT_RUNNABLE.format(status=status, cause=causes[status])
        return self.exit_codes.ERROR_MISSING_OUTPUT.format(
            message=f'it exited with status {status}: see _scheduler-stderr.txt'
        )

    def exit_code_from_error(self, error: dict) -> ExitCode:
        """Engine error codes map to exit codes named ``ERROR_<code>``; anything else is a crash."""
        code, message = error.get('code', EngineCrash.code), error.get('message', '')
        exit_code = self.exit_codes.get(f'ERROR_{code}') or self.exit_codes.ERROR_ENGINE_CRASH
        self.logger.error(f'{code}: {message}')
        return exit_code.format(message=message.splitlines()[0] if message else code)

    def output_predictions(self, arrays: dict[str, np.ndarray], report: dict[str, Any]) -> None:
        self.out('energies', array_node('energies', arrays['energies']))
        self.out('forces', ForceSetData.from_list(unpack(arrays['forces'], arrays['atom_offsets'])))
        self.out('stresses', array_node('stresses', arrays['stresses']))
        self.output_records_and_timing(report)

    def output_records_and_timing(self, report: dict[str, Any]) -> None:
        """The restoration steps the job applied, and its timing: the engine's own wall time (what the work
        chains' summaries subtract from theirs to give AiiDA's share) and the library versions it ran with."""
        for name, node in record_nodes(report['restoration_steps']).items():
            self.out(f'{RECORDS_NAMESPACE}.{name}', node)
        self.out('timing', Dict({**report['timing'], 'versions': report['versions']}))
