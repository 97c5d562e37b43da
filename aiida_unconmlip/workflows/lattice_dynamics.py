"""What the phonon and thermal-conductivity work chains share: relaxation (FixSymmetry) -> standardised structure ->
displaced supercells -> batched evaluate jobs -> space-group projection and net-force removal of the forces.

A subclass makes the displaced supercells (``ctx.supercells``) in its ``displace`` step and turns the restored forces
(``ctx.forces``) into its results in a job of its own on the compute node.
"""

from __future__ import annotations

from typing import Any

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain, if_, while_

from ..calcjobs.evaluate import EvaluateCalculation
from ..engine.restoration import INFERENCE_STEPS, STEP_NAMES, parse_restoration
from ..output_links import OutputLinksWhenPresent
from ..phonons.setup import standardize
from ..ports import dict_validator, validate_positive_length
from ..symmetry import net_force_removal, space_group_projection
from ..symmetry.records import RECORDS_NAMESPACE
from ..validation import check_bulk_crystal, check_distances, check_model_input
from .evaluate import EvaluateWorkChain
from .failures import root_cause
from .phonon_steps import merge_force_sets, refine_structure, split_structure_set
from .protocols import check_override_keys, load_protocol, recursive_merge
from .relax import RelaxWorkChain
from .relax_first import RelaxFirst


def parse_all_restoration_steps(data: dict[str, Any] | None) -> dict[str, Any]:
    return parse_restoration(data, STEP_NAMES)


DEFAULT_SYMPREC = 1e-5


def check_common_inputs(inputs) -> tuple | str | None:
    """Refused before any job: a second symprec for the relaxation, a structure that is not a bulk crystal the model
    can evaluate. Returns the standardised cell and symprec for the subclass's supercell checks, or the message;
    ``None`` where the structure is not among the inputs (a namespace exposed by a parent that sets it itself)."""
    if 'structure' not in inputs:
        return None
    parameters = inputs.get('relax', {}).get('relax', {}).get('parameters')
    symprec = inputs['symprec'].value if 'symprec' in inputs else DEFAULT_SYMPREC
    if parameters is not None and parameters.get('symprec', symprec) != symprec:
        return (
            f'relax.relax.parameters.symprec ({parameters["symprec"]}) differs from symprec ({symprec}): '
            'give symprec once, on the work chain; its relaxation uses it for FixSymmetry'
        )
    atoms, model = inputs['structure'].get_ase(), inputs['evaluate']['model']
    try:
        check_model_input([atoms], model.elements, model.model_name or f'PK {model.pk}')
        check_bulk_crystal(atoms)
        check_distances(atoms)
        standard, _ = standardize(atoms, symprec)
    except ValueError as exc:
        return str(exc)
    return standard, symprec


class LatticeDynamicsWorkChain(OutputLinksWhenPresent, RelaxFirst, WorkChain):
    """Base of the work chains that evaluate displaced supercells of a (relaxed) crystal, every restoration step a
    node. Not launched itself: a subclass adds its outline, ``displace`` and the job that uses the forces."""

    _protocol: str

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('structure', valid_type=orm.StructureData, help='The crystal.')
        spec.input(
            'symprec',
            valid_type=orm.Float,
            default=lambda: orm.Float(DEFAULT_SYMPREC),
            validator=validate_positive_length,
            help='spglib tolerance (Angstrom) for FixSymmetry, refinement, displacements and projection.',
        )
        cls.expose_relax(spec, 'Relax first (FixSymmetry on) when these inputs are given.')
        spec.expose_inputs(
            EvaluateCalculation,
            namespace='evaluate',
            exclude=('structures', 'restoration'),
            namespace_options={'help': 'The evaluate job(s) of the displaced supercells.'},
        )
        spec.input(
            'n_chunks',
            valid_type=orm.Int,
            default=lambda: orm.Int(1),
            help='Number of evaluate jobs the displaced supercells are split into.',
        )
        spec.input(
            'max_concurrent_evaluations',
            valid_type=orm.Int,
            required=False,
            help='Evaluate jobs running at once (default: one on a computer without a queue, core.direct, where jobs '
            'started together share the same cores or device; all of them where a scheduler queue decides).',
        )
        spec.input(
            'restoration',
            valid_type=orm.Dict,
            default=lambda: orm.Dict({}),
            validator=dict_validator(parse_all_restoration_steps),
            help=f'Restoration steps, each on or off (forces_mode: conservative|direct; rotational_average: '
            f'false|{{l_max, inversion}}): {", ".join(STEP_NAMES)}.',
        )
        spec.output('structure', valid_type=orm.StructureData, help='Standardised conventional cell used.')
        spec.output('symmetry', valid_type=orm.Dict, help='Space group found at symprec.')

        spec.exit_code(402, 'ERROR_EVALUATION_FAILED', message='Evaluating the displaced supercells failed: {message}')
        spec.exit_code(404, 'ERROR_COMPUTER_UNREACHABLE', message='Cannot reach the computer of the jobs: {message}')

    @classmethod
    def get_builder_from_protocol(
        cls,
        code: orm.AbstractCode,
        structure: orm.StructureData,
        model: orm.Data,
        protocol: str | None = None,
        overrides: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
        relax: bool = True,
    ):
        """A builder for ``fast``, ``moderate`` or ``precise``, updated by ``overrides`` (unknown keys refused).

        ``overrides['relax']`` holds overrides of the relax protocol (its restoration steps and symmetry tolerance
        are the work chain's ``restoration`` and ``symprec``).
        """
        protocol, inputs = load_protocol(cls._protocol, protocol)
        overrides = dict(overrides or {})
        relax_overrides = overrides.pop('relax', None)
        if relax_overrides and 'restoration' in relax_overrides.get('relax', {}):
            raise ValueError("set the relaxation's restoration steps with the work chain's `restoration`")
        if overrides:
            check_override_keys(overrides, cls.spec().inputs)
            inputs = recursive_merge(inputs, overrides)
        evaluate = inputs.pop('evaluate', {})
        if options:
            evaluate = recursive_merge(evaluate, {'metadata': {'options': options}})

        builder = cls.get_builder()
        builder.structure = structure
        for name, value in inputs.items():
            builder[name] = orm.Dict(value) if isinstance(value, dict) else orm.to_aiida_type(value)
        builder.evaluate.code = code
        builder.evaluate.model = model
        builder.evaluate.metadata = evaluate.get('metadata', {})
        if 'settings' in evaluate:
            builder.evaluate.settings = orm.Dict(evaluate['settings'])
        if relax:
            relax_inputs = RelaxWorkChain.get_protocol_inputs(
                code, structure, model, protocol, relax_overrides, options
            )
            for name in ('structures', 'restoration'):
                relax_inputs['relax'].pop(name, None)
            builder.relax = relax_inputs
        return builder

    @classmethod
    def forces_outline(cls) -> tuple:
        """The outline up to the restored forces; a subclass appends the job that uses them."""
        return (
            cls.setup,
            cls.check_computer,
            if_(cls.should_relax)(cls.run_relax, cls.inspect_relax),
            cls.refine,
            cls.displace,
            cls.split_supercells,
            while_(cls.chunks_pending)(cls.run_evaluate),
            cls.inspect_evaluate,
            cls.restore_forces,
        )

    def setup(self):
        self.ctx.structure = self.inputs.structure
        self.ctx.restoration = parse_all_restoration_steps(self.inputs.restoration.get_dict())

    def _restoration_of(self, steps: tuple[str, ...]) -> orm.Dict:
        """The ``restoration`` input of a sub-process: the values of the steps it applies."""
        return orm.Dict({name: self.ctx.restoration[name] for name in steps})

    def _job_options(self) -> dict[str, Any]:
        """The evaluate job's scheduler settings, without its GPUs and parser: for the jobs that need no model."""
        evaluate = self.exposed_inputs(EvaluateCalculation, 'evaluate')
        return {
            key: value
            for key, value in evaluate['metadata'].get('options', {}).items()
            if key not in ('gpus', 'parser_name')
        }

    def check_computer(self):
        """Open the transport of the jobs' computer once, so a refused key or an unknown host fails now, with what to
        do, instead of leaving the first job paused after AiiDA's transport retries."""
        computer = self.inputs.evaluate.code.computer
        if computer.transport_type == 'core.local':
            return None
        try:
            with computer.get_transport():
                pass
        except Exception as exc:
            return self.exit_codes.ERROR_COMPUTER_UNREACHABLE.format(
                message=f'{computer.label} ({computer.transport_type}): {type(exc).__name__}: {exc}; '
                f'check the connection with `verdi computer test {computer.label}`'
            )
        return None

    def relaxation_symprec(self) -> float:
        return self.inputs.symprec.value

    def refine(self):
        original = {'original': self.inputs.structure} if 'relax' in self.inputs else {}
        refined = refine_structure(
            self.ctx.structure, self.inputs.symprec, **original, metadata={'call_link_label': 'refine_structure'}
        )
        self.ctx.unitcell, self.ctx.symmetry = refined['structure'], refined['symmetry']
        self.report(
            f'space group {self.ctx.symmetry["international"]} ({self.ctx.symmetry["number"]}) '
            f'at symprec {self.inputs.symprec.value}'
        )

    def split_supercells(self):
        """The evaluate jobs to run: one, or ``n_chunks``, in waves that the machine can take at once."""
        chunks = (
            split_structure_set(
                self.ctx.supercells, self.inputs.n_chunks, metadata={'call_link_label': 'split_structure_set'}
            )
            if self.inputs.n_chunks.value > 1
            else {'chunk_00': self.ctx.supercells}
        )
        self.ctx.pending_chunks = sorted(chunks.items())
        if 'max_concurrent_evaluations' in self.inputs:
            self.ctx.wave = self.inputs.max_concurrent_evaluations.value
        else:  # without a queue, jobs started together share the same cores or device and only slow each other
            direct = self.inputs.evaluate.code.computer.scheduler_type == 'core.direct'
            self.ctx.wave = 1 if direct else len(self.ctx.pending_chunks)

    def chunks_pending(self) -> bool:
        return bool(self.ctx.pending_chunks)

    def run_evaluate(self):
        wave, self.ctx.pending_chunks = (
            self.ctx.pending_chunks[: self.ctx.wave],
            self.ctx.pending_chunks[self.ctx.wave :],
        )
        calculations = {}
        for name, structures in wave:
            inputs = AttributeDict(self.exposed_inputs(EvaluateCalculation, 'evaluate'))
            inputs.structures = structures
            inputs.restoration = self._restoration_of(INFERENCE_STEPS)
            node = self.submit(EvaluateWorkChain, evaluate=inputs, metadata={'call_link_label': f'evaluate_{name}'})
            self.report(f'launched EvaluateWorkChain<{node.pk}> for {len(structures)} supercells ({name})')
            calculations[name] = node
        return ToContext(**{f'evaluate_{name}': node for name, node in calculations.items()})

    def inspect_evaluate(self):
        nodes = {key[len('evaluate_') :]: node for key, node in self.ctx.items() if key.startswith('evaluate_')}
        failed = [node for node in nodes.values() if not node.is_finished_ok]
        if failed:
            return self.exit_codes.ERROR_EVALUATION_FAILED.format(message=root_cause(failed[0]))
        forces = {name: node.outputs.forces for name, node in nodes.items()}
        self.ctx.forces = (
            merge_force_sets(**forces, metadata={'call_link_label': 'merge_force_sets'})
            if len(forces) > 1
            else next(iter(forces.values()))
        )
        return None

    def restore_forces(self):
        if self.ctx.restoration['space_group_projection']:
            projected = space_group_projection(
                self.ctx.supercells,
                self.ctx.forces,
                self.inputs.symprec,
                metadata={'call_link_label': 'space_group_projection'},
            )
            self.ctx.forces = projected['forces']
            effect = projected[RECORDS_NAMESPACE]['space_group_projection']['effect']
            self.report(f'space_group_projection removed up to {max(effect["forces_removed_max"]):.2e} eV/A')
        if self.ctx.restoration['net_force_removal']:
            cleaned = net_force_removal(self.ctx.forces, metadata={'call_link_label': 'net_force_removal'})
            self.ctx.forces = cleaned['forces']
            effect = cleaned[RECORDS_NAMESPACE]['net_force_removal']['effect']
            self.report(f'net_force_removal removed up to {max(effect["net_force_norm"]):.2e} eV/A')

    def finish(self, node: orm.CalcJobNode, outputs: tuple[str, ...]) -> None:
        """Attach the refined structure, its symmetry and the job's ``outputs``."""
        self.out('structure', self.ctx.unitcell)
        self.out('symmetry', self.ctx.symmetry)
        for name in outputs:
            if name in node.outputs:
                self.out(name, node.outputs[name])


def symmetrization_summary(node: orm.CalcJobNode) -> str | None:
    """What ``force_constant_symmetrization`` changed in the job's force constants, for the process report."""
    if RECORDS_NAMESPACE not in node.outputs:
        return None
    effect = node.outputs[RECORDS_NAMESPACE]['force_constant_symmetrization']['effect']
    if effect.get('symmetric_by_fit'):
        return 'force_constant_symmetrization: done by the symfc fit, whose force constants are already symmetric'
    changes = ', '.join(
        f'{key.removesuffix("relative_change").rstrip("_")} {value:.2e}'.strip()
        for key, value in effect.items()
        if key.endswith('relative_change')
    )
    return f'force_constant_symmetrization changed them by {changes}'
