"""What every CalcJob running ``unconmlip-engine`` shares: the command line, the files retrieved, the engine's exit
status recorded by the job script, and the exit codes of the engine errors the task can raise (from the engine's
own list, named ``ERROR_<engine error code>``)."""

from __future__ import annotations

from aiida.common import CalcInfo, CodeInfo
from aiida.engine import CalcJob
from aiida.orm import Dict

from ..engine import io as engine_io
from ..engine.errors import EngineError, engine_errors
from ..output_links import OutputLinksWhenPresent

EXIT_STATUS_FILE = '.engine_exit_status'


class EngineJob(OutputLinksWhenPresent, CalcJob):
    """Base of the CalcJobs of the engine; a subclass writes its task's input folder in :meth:`write_inputs`."""

    _engine_errors: tuple[type[EngineError], ...] = tuple(engine_errors())

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.inputs['metadata']['options']['resources'].default = {'num_machines': 1, 'num_mpiprocs_per_machine': 1}
        spec.exit_code(
            300, 'ERROR_MISSING_OUTPUT', message='The engine wrote neither results nor an error record: {message}'
        )
        spec.exit_code(
            303, 'ERROR_ENGINE_KILLED', message='The engine was killed by signal {signal} before it finished: {message}'
        )
        spec.exit_code(
            304,
            'ERROR_ENGINE_NOT_RUNNABLE',
            message='The engine could not be started (exit status {status}, {cause}): check the filepath_executable of '
            "the code and the job's environment (the computer's and code's prepend_text)",
        )
        for error in cls._engine_errors:
            spec.exit_code(error.exit_status, f'ERROR_{error.code}', message=f'{error.summary}: {{message}}')
        spec.output('timing', valid_type=Dict, help="The engine's wall time (model time, device), library versions.")

    @classmethod
    def stopped_exit_codes(cls) -> list:
        """Exit codes of a job stopped from outside before it finished (walltime, node failure, memory of the host,
        a signal or a crash): running it again can succeed."""
        names = (
            'ERROR_MISSING_OUTPUT',
            'ERROR_ENGINE_KILLED',
            'ERROR_ENGINE_CRASH',
            'ERROR_SCHEDULER_OUT_OF_WALLTIME',
            'ERROR_SCHEDULER_NODE_FAILURE',
            'ERROR_SCHEDULER_OUT_OF_MEMORY',
        )
        return [cls.exit_codes[name] for name in names]

    def write_inputs(self, folder) -> list[tuple[str, str, str]]:
        """Write the task's input folder; return the local copy list (files of nodes copied into the folder)."""
        raise NotImplementedError

    def dict_input(self, name: str) -> dict | None:
        """The content of the Dict input ``name``, or ``None`` when it was not given (its parser fills defaults)."""
        return self.inputs[name].get_dict() if name in self.inputs else None

    def retrieve_list(self) -> list[str]:
        return [engine_io.RESULTS_FILE, engine_io.REPORT_FILE, engine_io.ERROR_FILE, EXIT_STATUS_FILE]

    def prepare_for_submission(self, folder) -> CalcInfo:
        codeinfo = CodeInfo()
        codeinfo.code_uuid = self.inputs.code.uuid
        codeinfo.cmdline_params = ['.']

        calcinfo = CalcInfo()
        calcinfo.codes_info = [codeinfo]
        calcinfo.local_copy_list = self.write_inputs(folder)
        calcinfo.retrieve_list = self.retrieve_list()
        if not self.node.get_option('append_text'):  # else $? would be the status of the user's own append_text
            calcinfo.append_text = f'echo $? > {EXIT_STATUS_FILE}'
        return calcinfo
