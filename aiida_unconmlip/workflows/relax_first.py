"""The steps of a work chain that relaxes its input first (FixSymmetry on) when its ``relax`` namespace is given."""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext

from ..engine.restoration import RELAXATION_STEPS
from .failures import root_cause
from .relax import RelaxWorkChain


def check_relax_symprec(inputs, namespace: str, symprec: float) -> str | None:
    """A second symprec in the relax namespace refused: the relaxation takes the work chain's for FixSymmetry."""
    parameters = inputs.get(namespace, {}).get('relax', {}).get('parameters')
    if parameters is not None and parameters.get('symprec', symprec) != symprec:
        return (
            f"{namespace}.relax.parameters.symprec ({parameters['symprec']}) differs from the work chain's symprec "
            f'({symprec}): give symprec once, on the work chain; its relaxation uses it for FixSymmetry'
        )
    return None


class RelaxFirst:
    """Mixin of a ``WorkChain``: :meth:`expose_relax` in ``define``, then ``if_(cls.should_relax)(cls.run_relax,
    cls.inspect_relax)`` in the outline. The relaxation starts from ``ctx.structure``, which it replaces; it takes the
    work chain's symmetry tolerance (:meth:`relaxation_symprec`) and the relaxation-stage values of
    ``ctx.restoration``."""

    @classmethod
    def expose_relax(cls, spec, help_text: str) -> None:
        spec.expose_inputs(
            RelaxWorkChain,
            namespace='relax',
            exclude=('relax.structures', 'relax.restoration'),
            namespace_options={'required': False, 'populate_defaults': False, 'help': help_text},
        )
        spec.output('relaxed_structure', valid_type=orm.StructureData, required=False)
        spec.exit_code(401, 'ERROR_RELAXATION_FAILED', message='The relaxation failed: {message}')

    @staticmethod
    def relax_protocol_inputs(code, structure, model, protocol, overrides, options) -> dict:
        """The ``relax`` namespace from the relax protocol: its structure and restoration steps are the work
        chain's own, so they are left out."""
        inputs = RelaxWorkChain.get_protocol_inputs(code, structure, model, protocol, overrides, options)
        for name in ('structures', 'restoration'):
            inputs['relax'].pop(name, None)
        return inputs

    def relaxation_symprec(self) -> float:
        raise NotImplementedError

    def should_relax(self) -> bool:
        return 'relax' in self.inputs

    def run_relax(self):
        inputs = AttributeDict(self.exposed_inputs(RelaxWorkChain, 'relax'))
        inputs.relax.structures = self.ctx.structure
        inputs.relax.restoration = orm.Dict({name: self.ctx.restoration[name] for name in RELAXATION_STEPS})
        parameters = inputs.relax.parameters.get_dict() if 'parameters' in inputs.relax else {}
        # FixSymmetry's tolerance is part of the relax job's parameters (a RelaxCalculation launched alone needs it
        # there): the work chain writes its own symprec in, after its validator refused a different one.
        inputs.relax.parameters = orm.Dict({**parameters, 'symprec': self.relaxation_symprec()})
        inputs.metadata = {'call_link_label': 'relax'}
        node = self.submit(RelaxWorkChain, **inputs)
        self.report(f'launched RelaxWorkChain<{node.pk}>')
        return ToContext(relax=node)

    def inspect_relax(self):
        node = self.ctx.relax
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_RELAXATION_FAILED.format(message=root_cause(node))
        self.ctx.structure = node.outputs.relaxed_structure
        self.out('relaxed_structure', node.outputs.relaxed_structure)
        return None
