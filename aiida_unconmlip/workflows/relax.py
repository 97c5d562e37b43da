"""``unconmlip.relax``: the relax CalcJob inside a restart loop that mends the usual failures."""

from __future__ import annotations

from typing import Any

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ProcessHandlerReport, process_handler, while_

from ..calcjobs.relax import RelaxCalculation
from ..validation import check_distances, check_model_input
from .engine_restart import EngineRestartWorkChain
from .protocols import check_override_keys, load_protocol, recursive_merge


def validate_inputs(inputs, _) -> str | None:
    """Refused before launch: non-finite coordinates, overlapping atoms, elements the model does not know."""
    relax = inputs.get('relax', {})
    structure, model = relax.get('structures'), relax.get('model')
    if structure is None or model is None:
        return None
    atoms = structure.get_ase()
    try:
        check_model_input([atoms], model.elements, model.model_name or f'PK {model.pk}')
        check_distances(atoms)
    except ValueError as exc:
        return str(exc)
    return None


class RelaxWorkChain(EngineRestartWorkChain):
    """Relax a structure with ``unconmlip.relax``, restarting when it does not converge, produces NaN or was stopped
    from outside; each handler says in the report what it changed. Out of memory is final: the engine has already
    split its batches."""

    _process_class = RelaxCalculation
    _out_of_memory_advice = (
        'Relax a structure with fewer atoms, run on a device with more memory, or evaluate in float32 (settings.dtype)'
    )

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(RelaxCalculation, namespace='relax')
        spec.inputs['relax']['structures'].valid_type = orm.StructureData
        spec.inputs.validator = validate_inputs
        spec.outline(
            cls.setup,
            while_(cls.should_run_process)(
                cls.run_process,
                cls.inspect_process,
            ),
            cls.results,
        )
        spec.expose_outputs(RelaxCalculation)

    @classmethod
    def get_protocol_inputs(
        cls,
        code: orm.AbstractCode,
        structure: orm.StructureData,
        model: orm.Data,
        protocol: str | None = None,
        overrides: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The inputs of a protocol (``fast``, ``moderate``, ``precise``) updated by ``overrides``, as a nested
        dictionary of nodes that a builder (or an enclosing work chain's namespace) accepts."""
        _, inputs = load_protocol('relax', protocol)
        if overrides:
            check_override_keys(overrides, cls.spec().inputs)
            inputs = recursive_merge(inputs, overrides)
        relax = inputs['relax']
        if options:
            relax['metadata']['options'] = recursive_merge(relax['metadata']['options'], options)
        return {
            'max_iterations': orm.Int(inputs['max_iterations']),
            'clean_workdir': orm.Bool(inputs['clean_workdir']),
            'relax': {
                'code': code,
                'model': model,
                'structures': structure,
                **{name: orm.Dict(relax[name]) for name in ('parameters', 'restoration', 'settings') if name in relax},
                'metadata': relax['metadata'],
            },
        }

    @classmethod
    def get_builder_from_protocol(
        cls,
        code: orm.AbstractCode,
        structure: orm.StructureData,
        model: orm.Data,
        protocol: str | None = None,
        overrides: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
    ):
        """A builder with the protocol's inputs (``fast``, ``moderate``, ``precise``), updated by ``overrides``."""
        builder = cls.get_builder()
        builder._update(cls.get_protocol_inputs(code, structure, model, protocol, overrides, options))
        return builder

    def setup(self):
        super().setup()
        self.ctx.inputs = AttributeDict(self.exposed_inputs(RelaxCalculation, 'relax'))

    @process_handler(priority=600, exit_codes=RelaxCalculation.stopped_exit_codes())
    def handle_stopped(self, node):
        """Run again what was stopped from outside (walltime, ``scancel``, node failure, a killed engine): a relaxation
        keeps no geometry before it ends, so the new job starts from the same structure."""
        self.report(
            f'{node.process_label}<{node.pk}> stopped ([{node.exit_status}] {node.exit_message}): relaxing again'
        )
        return ProcessHandlerReport(do_break=True)

    @process_handler(priority=500, exit_codes=RelaxCalculation.exit_codes.ERROR_NOT_CONVERGED)
    def handle_not_converged(self, node):
        """Continue from the last geometry of the unconverged run."""
        self.ctx.inputs.structures = node.outputs.relaxed_structure
        steps = node.outputs.relaxation_report['structures'][0]['steps']
        self.report(
            f'{node.process_label}<{node.pk}> not converged after {steps} steps: restarting from its last geometry'
        )
        return ProcessHandlerReport(do_break=True)
