"""``unconmlip.reference_set``: DFT energies, forces and stresses of many structures, as a training set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiida import orm
from aiida.engine import ToContext, WorkChain, while_

from ..data import StructureSetData
from ..engine.errors import InvalidStructure
from ..engine.structures import check_structures
from ..ports import dict_validator
from ..validation import check_distances
from .protocols import load_protocol, recursive_merge
from .reference_steps import collect_training_set, generate_reference_structures, parse_generator


def validate_inputs(inputs, _) -> str | None:
    """Refuse, before anything is stored, what would fail later: no structures, or what :func:`check_dft_inputs`
    refuses."""
    if ('structures' in inputs) == bool(inputs.get('generator')):
        return 'give either `structures` or a `generator`, not both or neither'
    atoms = inputs['structures'].get_ase_list() if 'structures' in inputs else [inputs['generator']['base'].get_ase()]
    return check_dft_inputs(atoms, inputs['pseudo_family'].value, inputs['code'])


def check_dft_inputs(atoms: list, family_label: str, code: orm.AbstractCode) -> str | None:
    """What pw.x would fail on, as a message: overlapping atoms, elements without a pseudopotential in the family, a
    local pw.x that is not there."""
    from aiida_pseudo.groups.family import PseudoPotentialFamily

    try:
        check_structures(atoms, elements=None)
        for index, structure in enumerate(atoms):
            check_distances(structure, index)
    except (InvalidStructure, ValueError) as exc:
        return str(exc)
    family = orm.QueryBuilder().append(PseudoPotentialFamily, filters={'label': family_label}).first(flat=True)
    if family is None:
        return f'pseudopotential family `{family_label}` is not installed: run `aiida-unconmlip setup --with-dft`'
    elements = sorted({symbol for structure in atoms for symbol in structure.get_chemical_symbols()})
    missing = [element for element in elements if element not in family.elements]
    if missing:
        return f'pseudopotential family `{family_label}` has no pseudopotential for {", ".join(missing)}'
    if code.computer.transport_type == 'core.local' and not Path(str(code.filepath_executable)).is_file():
        return f'{code.filepath_executable} does not exist: run `make system-packages` or fix code {code.full_label}'
    return None


class ReferenceSetWorkChain(WorkChain):
    """One ``PwBaseWorkChain`` per structure (energy, forces, stress), a few at a time; failed runs are counted,
    reported and left out, and too many failures fail the work chain."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('structures', valid_type=StructureSetData, required=False, help='The structures to compute.')
        spec.input_namespace('generator', required=False, help='Or generate them reproducibly.')
        spec.input('generator.base', valid_type=orm.StructureData, help='Structure the samples derive from.')
        spec.input(
            'generator.parameters',
            valid_type=orm.Dict,
            validator=dict_validator(parse_generator),
            help=(
                'supercells, samples, strain_max, shear_max, rattle_min, rattle_max (A; each one number or a list '
                'with one value per supercell), seed.'
            ),
        )
        spec.input('code', valid_type=orm.AbstractCode, help='pw.x')
        spec.input('pseudo_family', valid_type=orm.Str, help='Label of an aiida-pseudo family with cutoffs.')
        spec.input(
            'dft',
            valid_type=orm.Dict,
            default=lambda: orm.Dict({}),
            help="Overrides for aiida-quantumespresso's PwBaseWorkChain protocol.",
        )
        spec.input('options', valid_type=orm.Dict, default=lambda: orm.Dict({}), help='Options of each pw.x job.')
        spec.input(
            'max_concurrent',
            valid_type=orm.Int,
            default=lambda: orm.Int(1),
            help='DFT runs at the same time (each uses the resources in options).',
        )
        spec.input('max_failed_fraction', valid_type=orm.Float, default=lambda: orm.Float(0.1))
        spec.input('split', valid_type=orm.Dict, default=lambda: orm.Dict({'validation': 0.1, 'test': 0.1, 'seed': 0}))
        spec.inputs.validator = validate_inputs
        spec.outline(
            cls.setup,
            while_(cls.has_pending)(cls.run_batch, cls.inspect_batch),
            cls.collect,
        )
        spec.output('structures', valid_type=StructureSetData, help='All structures that were computed.')
        spec.output('training_set', valid_type=orm.SinglefileData)
        spec.output('summary', valid_type=orm.Dict)
        spec.exit_code(410, 'ERROR_INVALID_GENERATED_STRUCTURE', message='A generated structure is invalid: {message}')
        spec.exit_code(420, 'ERROR_TOO_MANY_FAILURES', message='{failed} of {total} DFT runs failed (limit {limit}).')
        spec.exit_code(421, 'ERROR_NOTHING_SUCCEEDED', message='No DFT run succeeded.')

    @classmethod
    def get_builder_from_protocol(
        cls,
        code: orm.AbstractCode,
        structures: StructureSetData | None = None,
        generator: dict[str, Any] | None = None,
        pseudo_family: str | None = None,
        protocol: str | None = None,
        overrides: dict[str, Any] | None = None,
    ):
        """A builder for ``fast`` (tests) or ``moderate`` (production), with ``overrides`` merged in."""
        from ..dft.codes import family_label

        _, inputs = load_protocol('reference_set', protocol)
        inputs = recursive_merge(inputs, overrides or {})
        builder = cls.get_builder()
        builder.code = code
        if structures is not None:
            builder.structures = structures
        if generator is not None:
            builder.generator = {'base': generator['base'], 'parameters': orm.Dict(generator['parameters'])}
        builder.pseudo_family = orm.Str(pseudo_family or family_label())
        builder.dft = orm.Dict(inputs['dft'])
        builder.options = orm.Dict(inputs['options'])
        builder.max_concurrent = orm.Int(inputs['max_concurrent'])
        builder.max_failed_fraction = orm.Float(inputs['max_failed_fraction'])
        builder.split = orm.Dict(inputs['split'])
        return builder

    def setup(self):
        if 'structures' in self.inputs:
            structures = self.inputs.structures
        else:
            structures = generate_reference_structures(self.inputs.generator.base, self.inputs.generator.parameters)
            try:
                check_structures(structures.get_ase_list(), elements=None)
                for index, structure in enumerate(structures.get_ase_list()):
                    check_distances(structure, index)
            except (InvalidStructure, ValueError) as exc:
                return self.exit_codes.ERROR_INVALID_GENERATED_STRUCTURE.format(message=str(exc))
        self.ctx.structures = structures
        self.ctx.pending = list(range(len(structures)))
        self.ctx.succeeded, self.ctx.failed = {}, []
        self.out('structures', structures)
        self.report(f'{len(structures)} structures to compute with pw.x, {self.inputs.max_concurrent.value} at a time')
        return None

    def has_pending(self) -> bool:
        return bool(self.ctx.pending)

    def _builder(self, atoms):
        from aiida_quantumespresso.workflows.pw.base import PwBaseWorkChain

        overrides = recursive_merge(self.inputs.dft.get_dict(), {'pseudo_family': self.inputs.pseudo_family.value})
        return PwBaseWorkChain.get_builder_from_protocol(
            self.inputs.code, orm.StructureData(ase=atoms), overrides=overrides, options=self.inputs.options.get_dict()
        )

    def run_batch(self):
        atoms = self.ctx.structures.get_ase_list()
        batch, self.ctx.pending = (
            self.ctx.pending[: self.inputs.max_concurrent.value],
            self.ctx.pending[self.inputs.max_concurrent.value :],
        )
        launched = {}
        for index in batch:
            builder = self._builder(atoms[index])
            builder.metadata.call_link_label = f'dft_{index:04d}'
            launched[f'dft_{index:04d}'] = self.submit(builder)
        return ToContext(**launched)

    def inspect_batch(self):
        for key in [key for key in self.ctx if key.startswith('dft_')]:
            node = self.ctx[key]
            index = int(key.rpartition('_')[2])
            if node.is_finished_ok:
                self.ctx.succeeded[index] = node
            else:
                self.ctx.failed.append({'index': index, 'pk': node.pk, 'exit_status': node.exit_status})
                self.report(
                    f'DFT of structure {index} failed: {node.process_label}<{node.pk}> '
                    f'[{node.exit_status}] {node.exit_message}; it is left out'
                )
            del self.ctx[key]
        done = len(self.ctx.succeeded) + len(self.ctx.failed)
        self.report(f'{done} of {len(self.ctx.structures)} DFT runs done, {len(self.ctx.failed)} failed')

    def collect(self):
        total, failed = len(self.ctx.structures), len(self.ctx.failed)
        limit = self.inputs.max_failed_fraction.value
        if not self.ctx.succeeded:
            return self.exit_codes.ERROR_NOTHING_SUCCEEDED
        if failed > limit * total:
            return self.exit_codes.ERROR_TOO_MANY_FAILURES.format(failed=failed, total=total, limit=limit)
        dft_outputs = {}
        for index, node in sorted(self.ctx.succeeded.items()):
            dft_outputs[f'structure_{index:04d}'] = node.inputs.pw.structure
            dft_outputs[f'parameters_{index:04d}'] = node.outputs.output_parameters
            dft_outputs[f'trajectory_{index:04d}'] = node.outputs.output_trajectory
        outputs = collect_training_set(self.inputs.split, orm.Dict({'failed': self.ctx.failed}), **dft_outputs)
        self.out('training_set', outputs['training_set'])
        self.out('summary', outputs['summary'])
        self.report(f'training set of {len(dft_outputs) // 3} structures ({failed} failed and left out)')
        return None
