"""What every restart loop around an engine job shares: the failures of the engine itself, mended or ended the same
way whatever the task (evaluate or relax)."""

from __future__ import annotations

from aiida import orm
from aiida.engine import BaseRestartWorkChain, ProcessHandlerReport, process_handler

from ..calcjobs.engine_job import EngineJob
from ..output_links import OutputLinksWhenPresent

ENGINE_EXIT_CODES = EngineJob.exit_codes


class EngineRestartWorkChain(OutputLinksWhenPresent, BaseRestartWorkChain):
    """Base of the restart work chains of engine jobs: NaN outputs are retried in float64, a single structure too large
    for the device is final (exit 411). A subclass exposes its job's inputs and sets ``ctx.inputs`` in ``setup``."""

    #: What to change when one structure does not fit, in the words of the task.
    _out_of_memory_advice = 'Use structures with fewer atoms, a device with more memory, or float32 (settings.dtype)'

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.exit_code(
            410, 'ERROR_NON_FINITE_IN_FLOAT64', message='The model gives NaN or infinite values even in float64.'
        )
        spec.exit_code(
            411,
            'ERROR_OUT_OF_MEMORY_SINGLE_STRUCTURE',
            message='A single structure does not fit in device memory: {message}',
        )

    def _settings(self) -> dict:
        return self.ctx.inputs.settings.get_dict() if 'settings' in self.ctx.inputs else {}

    def _update_settings(self, **changes) -> None:
        self.ctx.inputs.settings = orm.Dict({**self._settings(), **changes})

    @process_handler(priority=500, exit_codes=ENGINE_EXIT_CODES.ERROR_OUT_OF_MEMORY)
    def handle_out_of_memory(self, node):
        """Stop: the engine already halved its batches down to one structure, so a retry cannot fit either."""
        advice = f'{node.process_label}<{node.pk}>: {node.exit_message}. {self._out_of_memory_advice}'
        self.report(advice)
        return ProcessHandlerReport(
            do_break=True, exit_code=self.exit_codes.ERROR_OUT_OF_MEMORY_SINGLE_STRUCTURE.format(message=advice)
        )

    @process_handler(priority=400, exit_codes=ENGINE_EXIT_CODES.ERROR_NON_FINITE_OUTPUT)
    def handle_non_finite(self, node):
        """Retry in float64; if that was already the precision, give up with a clear exit code."""
        if self._settings().get('dtype') == 'float64':
            return ProcessHandlerReport(do_break=True, exit_code=self.exit_codes.ERROR_NON_FINITE_IN_FLOAT64)
        self._update_settings(dtype='float64')
        self.report(f'{node.process_label}<{node.pk}> produced NaN or inf: retrying in float64')
        return ProcessHandlerReport(do_break=True)
