"""``unconmlip.validate``: would DFT agree? pw.x spot checks of a finished run's structures, in the same graph.

The cells come from the run (its own structures within the budget, or for phonons and conductivities its
displacement pattern in cells small enough for DFT); the model evaluates them with the run's restoration steps and
pw.x computes them with the DFT settings of the model's own training data, read from the model's provenance. The
numbers and the verdict against the model card's test errors are one ``Dict`` linked to the run, the model's and
pw.x's results (:mod:`aiida_unconmlip.dft_checks`).
"""

from __future__ import annotations

from typing import Any

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain

from ..calcjobs.evaluate import EvaluateCalculation
from ..data import StructureSetData
from ..dft_checks.cells import primitive_cell
from ..engine.restoration import INFERENCE_STEPS
from ..ports import dict_validator
from ..symmetry.net_force import net_force_removal
from ..symmetry.projection import space_group_projection
from .evaluate import EvaluateWorkChain
from .failures import root_cause
from .lattice_dynamics import parse_all_restoration_steps
from .reference_set import ReferenceSetWorkChain
from .validate_steps import (
    CHECKABLE,
    checked_output,
    compare_with_dft,
    model_card,
    model_job,
    parse_parameters,
    restoration_of,
    run_sources,
    structures_of,
    training_dft_settings,
    validation_cells,
)


def validate_inputs(inputs, _) -> str | None:
    """Refused before anything runs: no structures, or none within the budget."""
    sources = inputs.get('sources', {})
    if not sources:
        return 'give `sources`: a `unitcell` to repeat a displacement pattern, or the structures to check'
    try:
        budget = parse_parameters(inputs['parameters'].get_dict())
    except ValueError as exc:
        return str(exc)
    if 'unitcell' in sources:
        smallest = len(primitive_cell(sources['unitcell'].get_ase(), budget['symprec']))
    else:
        smallest = min(len(atoms) for node in sources.values() for atoms in structures_of(node))
    if smallest > budget['max_atoms']:
        return f'every structure of the run has more than max_atoms {budget["max_atoms"]} atoms (smallest {smallest})'
    return None


class ValidateWorkChain(WorkChain):
    """Cells of a run -> the model (same restoration) and pw.x (the model's DFT settings) -> errors and verdict."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input_namespace(
            'sources',
            valid_type=(orm.StructureData, StructureSetData),
            dynamic=True,
            help='`unitcell`: repeat the displacement pattern of a phonon run in small cells; any other key: '
            "structures to check as they are (a run's own).",
        )
        spec.input('checked', valid_type=orm.Data, help='An output of the checked run: the link to it.')
        spec.input(
            'parameters',
            valid_type=orm.Dict,
            default=lambda: orm.Dict({}),
            validator=dict_validator(parse_parameters),
            help='samples, max_atoms (the budget), amplitude, plus_minus, symprec, domain_factor.',
        )
        spec.expose_inputs(
            EvaluateCalculation,
            namespace='evaluate',
            exclude=('structures', 'restoration'),
            namespace_options={'help': "The model job: the checked run's model, code and settings."},
        )
        spec.input(
            'restoration',
            valid_type=orm.Dict,
            default=lambda: orm.Dict({}),
            validator=dict_validator(parse_all_restoration_steps),
            help="The checked run's restoration steps, applied to the model's forces here too.",
        )
        spec.expose_inputs(
            ReferenceSetWorkChain,
            namespace='dft',
            exclude=('structures', 'generator', 'max_failed_fraction', 'split'),
            namespace_options={'help': "pw.x and the DFT settings (by default, those of the model's training data)."},
        )
        spec.inputs['dft'].validator = None
        spec.input(
            'fail_outside_domain',
            valid_type=orm.Bool,
            default=lambda: orm.Bool(False),
            help="Exit with 410 when the errors are outside the model card's domain (the numbers are output first).",
        )
        spec.inputs.validator = validate_inputs
        spec.outline(cls.pick_cells, cls.run_model_and_dft, cls.inspect, cls.compare)
        spec.output('structures', valid_type=StructureSetData, help='The cells computed by both.')
        spec.output('errors', valid_type=orm.Dict, help='Model against pw.x, and the verdict.')
        spec.exit_code(401, 'ERROR_NO_CELLS', message='No cell of the run fits the budget: {message}')
        spec.exit_code(402, 'ERROR_MODEL_FAILED', message='The model job failed: {message}')
        spec.exit_code(403, 'ERROR_DFT_FAILED', message='pw.x failed: {message}')
        spec.exit_code(410, 'ERROR_OUTSIDE_DOMAIN', message='{message}')

    @classmethod
    def get_builder_from_run(
        cls,
        run: orm.ProcessNode,
        pw_code: orm.AbstractCode,
        parameters: dict[str, Any] | None = None,
        pseudo_family: str | None = None,
        dft: dict[str, Any] | None = None,
        fail_outside_domain: bool = False,
    ):
        """A builder that checks ``run`` (a finished run of :data:`CHECKABLE`) with its own model and restoration;
        the DFT settings are the model's training data's unless ``pseudo_family`` and ``dft`` say otherwise."""
        if run.process_label not in CHECKABLE or not run.is_finished_ok:
            raise ValueError(
                f'{run.process_label}<{run.pk}> cannot be validated: give a finished run of {", ".join(CHECKABLE)}'
            )
        sources, displacements = run_sources(run)
        job = model_job(run)
        builder = cls.get_builder()
        builder.sources = sources
        builder.checked = checked_output(run)
        builder.parameters = orm.Dict(parse_parameters({**displacements, **(parameters or {})}))
        builder.evaluate.code = job.inputs.code
        builder.evaluate.model = job.inputs.model
        if 'settings' in job.inputs:
            builder.evaluate.settings = job.inputs.settings
        builder.evaluate.metadata.options = {
            'resources': job.get_option('resources'),
            'max_wallclock_seconds': job.get_option('max_wallclock_seconds'),
        }
        builder.restoration = orm.Dict(restoration_of(run))
        builder.dft.code = pw_code
        recorded = training_dft_settings(job.inputs.model)
        if recorded is None and (pseudo_family is None or dft is None):
            raise ValueError(
                f'model {job.inputs.model.label} has no DFT training data on record: give the pseudopotential family '
                'and the pw.x settings its data was computed with'
            )
        recorded = recorded or {}
        builder.dft.pseudo_family = orm.Str(pseudo_family) if pseudo_family else recorded['pseudo_family']
        builder.dft.dft = orm.Dict(dft) if dft is not None else recorded['dft']
        if 'options' in recorded:
            builder.dft.options = recorded['options']
        builder.fail_outside_domain = orm.Bool(fail_outside_domain)
        return builder

    def pick_cells(self):
        try:
            picked = validation_cells(
                self.inputs.parameters, **self.inputs.sources, metadata={'call_link_label': 'validation_cells'}
            )
        except ValueError as exc:
            return self.exit_codes.ERROR_NO_CELLS.format(message=str(exc))
        self.ctx.cells, self.ctx.plan = picked['structures'], picked['plan']
        self.out('structures', self.ctx.cells)
        self.report(f'{len(self.ctx.cells)} cells to check with the model and pw.x')
        return None

    def run_model_and_dft(self):
        evaluate = AttributeDict(self.exposed_inputs(EvaluateCalculation, 'evaluate'))
        evaluate.structures = self.ctx.cells
        steps = parse_all_restoration_steps(self.inputs.restoration.get_dict())
        evaluate.restoration = orm.Dict({name: steps[name] for name in INFERENCE_STEPS})
        model = self.submit(EvaluateWorkChain, evaluate=evaluate, metadata={'call_link_label': 'model'})
        dft = AttributeDict(self.exposed_inputs(ReferenceSetWorkChain, 'dft'))
        dft.structures = self.ctx.cells
        dft.max_failed_fraction = orm.Float(0.0)
        dft.metadata = {'call_link_label': 'dft'}
        reference = self.submit(ReferenceSetWorkChain, **dft)
        self.report(f'launched EvaluateWorkChain<{model.pk}> and ReferenceSetWorkChain<{reference.pk}>')
        return ToContext(model=model, dft=reference)

    def inspect(self):
        if not self.ctx.model.is_finished_ok:
            return self.exit_codes.ERROR_MODEL_FAILED.format(message=root_cause(self.ctx.model))
        if not self.ctx.dft.is_finished_ok:
            return self.exit_codes.ERROR_DFT_FAILED.format(message=root_cause(self.ctx.dft))
        forces = self.ctx.model.outputs.forces
        steps = parse_all_restoration_steps(self.inputs.restoration.get_dict())
        symprec = orm.Float(parse_parameters(self.inputs.parameters.get_dict())['symprec'])
        if steps['space_group_projection']:
            forces = space_group_projection(
                self.ctx.cells, forces, symprec, metadata={'call_link_label': 'space_group_projection'}
            )['forces']
        if steps['net_force_removal']:
            forces = net_force_removal(forces, metadata={'call_link_label': 'net_force_removal'})['forces']
        self.ctx.forces = forces
        return None

    def compare(self):
        card = model_card(self.inputs.evaluate.model)
        errors = compare_with_dft(
            self.ctx.cells,
            self.ctx.plan,
            self.inputs.parameters,
            self.ctx.model.outputs.energies,
            self.ctx.forces,
            self.ctx.model.outputs.stresses,
            self.ctx.dft.outputs.training_set,
            **({'card': card} if card is not None else {}),
            metadata={'call_link_label': 'compare_with_dft'},
        )
        self.out('errors', errors)
        verdict = errors['verdict']
        self.report(verdict['message'])
        if verdict['domain'] == 'outside' and self.inputs.fail_outside_domain.value:
            return self.exit_codes.ERROR_OUTSIDE_DOMAIN.format(message=verdict['message'])
        return None
