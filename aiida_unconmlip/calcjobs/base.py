"""What the CalcJobs that evaluate a model share: model, structures, restoration and settings inputs, the GPU
request, the predictions and the restoration records."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiida.orm import ArrayData, Dict, StructureData

from ..data import ForceSetData, ModelData, RemoteModelData, StructureSetData
from ..engine import io as engine_io
from ..engine.restoration import INFERENCE_STEPS, parse_restoration
from ..engine.settings import parse_settings
from ..ports import dict_validator
from ..symmetry.records import RECORDS_NAMESPACE
from ..validation import check_model_input
from .engine_job import EngineJob
from .gpus import gpu_directive

validate_settings = dict_validator(parse_settings)


def input_structures(structures: StructureSetData | StructureData) -> list:
    """The structures of a ``structures`` input as ASE ``Atoms``."""
    return structures.get_ase_list() if isinstance(structures, StructureSetData) else [structures.get_ase()]


def validate_inputs(inputs, _) -> str | None:
    """Refused before launch: a remote model on another computer than the code, non-finite coordinates, elements
    the model does not know."""
    model, code, structures = inputs.get('model'), inputs.get('code'), inputs.get('structures')
    if isinstance(model, RemoteModelData) and code is not None and model.computer.pk != code.computer.pk:
        return f'the remote model is on computer {model.computer.label}, but the code runs on {code.computer.label}'
    if model is not None and structures is not None:
        try:
            check_model_input(input_structures(structures), model.elements, model.model_name or f'PK {model.pk}')
        except ValueError as exc:
            return str(exc)
    return None


class EngineCalculation(EngineJob):
    """Base of the CalcJobs that evaluate a model with ``unconmlip-engine``; subclasses say which task."""

    _restoration_steps: Sequence[str] = INFERENCE_STEPS

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('model', valid_type=(ModelData, RemoteModelData), help='The model to evaluate.')
        spec.input(
            'structures',
            valid_type=(StructureSetData, StructureData),
            help='The structures, as one set (e.g. all displaced supercells) or a single structure.',
        )
        spec.input(
            'restoration',
            valid_type=Dict,
            required=False,
            validator=dict_validator(lambda data: parse_restoration(data, cls._restoration_steps)),
            help=f'Restoration steps applied with the model ({", ".join(cls._restoration_steps)}): '
            '{"forces_mode": "conservative"|"direct", "rotational_average": false|{"l_max": int, "inversion": bool}}.',
        )
        spec.input(
            'settings',
            valid_type=Dict,
            required=False,
            validator=validate_settings,
            help='{"device": "auto"|"cpu"|"cuda", "dtype": "float32"|"float64", "max_atoms_per_batch": int '
            "(default: the device's budget)}.",
        )
        spec.input(
            'metadata.options.gpus',
            valid_type=int,
            default=0,
            help='GPUs per node; becomes the scheduler directive for SLURM and PBS Pro (nothing for core.direct).',
        )
        spec.inputs.validator = validate_inputs

        spec.output('energies', valid_type=ArrayData, help='Energies (eV), array `energies` (N,).')
        spec.output('forces', valid_type=ForceSetData, help='Forces (eV/A) of every structure.')
        spec.output('stresses', valid_type=ArrayData, help='Stresses (eV/A^3, ASE sign), array `stresses` (N, 3, 3).')
        spec.output_namespace(
            RECORDS_NAMESPACE,
            valid_type=Dict,
            dynamic=True,
            help="One record {name, parameters, effect} per restoration step applied, under the step's name.",
        )
        spec.default_output_node = 'timing'

    def _setup_inputs(self) -> None:
        """Add the GPU request to the scheduler header once the computer (and so its scheduler) is known.

        aiida-core's private hook, kept because no public one runs after the computer is known and before the options
        are validated and stored; tests/engine/test_speedups.py checks that it is still there."""
        super()._setup_inputs()
        directive = gpu_directive(self.node.computer.scheduler_type, self.node.get_option('gpus'))
        if directive:
            existing = self.node.get_option('custom_scheduler_commands')
            self.node.set_option('custom_scheduler_commands', '\n'.join(filter(None, [existing, directive])))

    def task_parameters(self) -> dict[str, Any] | None:
        """The ``relax`` section of job.json for task relax; None means task evaluate."""
        return None

    def write_inputs(self, folder) -> list[tuple[str, str, str]]:
        model = self.inputs.model
        restoration = self.inputs.restoration.get_dict() if 'restoration' in self.inputs else None
        settings = self.inputs.settings.get_dict() if 'settings' in self.inputs else None
        engine_io.write_job(
            Path(folder.abspath),
            input_structures(self.inputs.structures),
            model=model.engine_reference(),
            restoration=parse_restoration(restoration, self._restoration_steps),
            settings=parse_settings(settings).as_dict(),
            relax=self.task_parameters(),
        )
        return [(model.uuid, model.filename, model.filename)] if isinstance(model, ModelData) else []
