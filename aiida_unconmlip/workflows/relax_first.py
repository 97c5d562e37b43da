"""The steps of a work chain that relaxes its input first (FixSymmetry on) when its ``relax`` namespace is given."""

from __future__ import annotations

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext

from ..engine.restoration import RELAXATION_STEPS
from .failures import root_cause
from .relax import RelaxWorkChain


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

    def relaxation_symprec(self) -> float:
        raise NotImplementedError

    def should_relax(self) -> bool:
        return 'relax' in self.inputs

    def run_relax(self):
        inputs = AttributeDict(self.exposed_inputs(RelaxWorkChain, 'relax'))
        inputs.relax.structures = self.ctx.structure
        inputs.relax.restoration = orm.Dict({name: self.ctx.restoration[name] for name in RELAXATION_STEPS})
        parameters = inputs.relax.parameters.get_dict() if 'parameters' in inputs.relax else {}
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
