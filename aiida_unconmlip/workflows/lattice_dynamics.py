"""What the phonon and thermal-conductivity work chains share: relaxation (FixSymmetry) -> standardised structure ->
displaced supercells -> batched evaluate jobs -> space-group projection and net-force removal of the forces.

A subclass makes the displaced supercells (``ctx.supercells``) in its ``displace`` step and names the job that turns
the restored forces (``ctx.forces``) into its results on the compute node (``_force_job``, with its inputs from
``force_job_inputs``); this class runs and inspects that job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import CalcJob, ToContext, WorkChain, append_, if_, while_

from ..calcjobs.evaluate import EvaluateCalculation
from ..calcjobs.nac_inputs import define_nac_inputs
from ..calcjobs.phonopy import FORCE_CONSTANT_STEPS
from ..engine.restoration import DEFAULT_SYMPREC, INFERENCE_STEPS, STEP_NAMES, parse_restoration
from ..output_links import OutputLinksWhenPresent
from ..phonons.nac import charges_for_cell
from ..phonons.phonopy_setup import standardize
from ..ports import dict_validator, validate_positive_length
from ..symmetry.net_force import net_force_removal
from ..symmetry.projection import space_group_projection
from ..symmetry.records import RECORDS_NAMESPACE
from ..validation import check_bulk_crystal, check_distances, check_model_input
from .computers import check_reachable
from .evaluate import EvaluateWorkChain
from .failures import root_cause
from .phonon_steps import merge_force_sets, refine_structure, split_structure_set
from .protocols import check_override_keys, load_protocol, recursive_merge
from .relax_first import RelaxFirst, check_relax_symprec
from .waves import next_wave, wave_size


def parse_all_restoration_steps(data: dict[str, Any] | None) -> dict[str, Any]:
    return parse_restoration(data, STEP_NAMES)


def check_common_inputs(inputs) -> tuple | str | None:
    """Refused before any job: a second symprec for the relaxation, a structure that is not a bulk crystal the model
    can evaluate, Born charges of another crystal. Returns the standardised cell and symprec for the subclass's
    supercell checks, or the message; ``None`` where the structure is not among the inputs (a namespace exposed by a
    parent that sets it itself)."""
    if 'structure' not in inputs:
        return None
    symprec = inputs['symprec'].value if 'symprec' in inputs else DEFAULT_SYMPREC
    refused = check_relax_symprec(inputs, 'relax', symprec)
    if refused:
        return refused
    atoms, model = inputs['structure'].get_ase(), inputs['evaluate']['model']
    try:
        check_model_input([atoms], model.elements, model.model_name or f'PK {model.pk}')
        check_bulk_crystal(atoms)
        check_distances(atoms)
        standard, _ = standardize(atoms, symprec)
        if 'born_charges' in inputs:
            charges_for_cell(inputs['born_charges'].get_charges(), standard, symprec)
    except ValueError as exc:
        return str(exc)
    return standard, symprec


@dataclass(frozen=True)
class ForceJob:
    """The job of a subclass that uses the restored forces: which CalcJob, what it is for, what it returns."""

    process_class: type[CalcJob]
    link_label: str
    description: str  # for the process report: "launched <class><pk> for <description>"
    outputs: tuple[str, ...]  # passed on as the work chain's outputs where the job has them
    exit_code: str  # the work chain's exit code when the job fails


class LatticeDynamicsWorkChain(OutputLinksWhenPresent, RelaxFirst, WorkChain):
    """Base of the work chains that evaluate displaced supercells of a (relaxed) crystal, every restoration step a
    node. Not launched itself: a subclass's outline is :meth:`lattice_dynamics_outline`; it adds ``displace`` and
    names its force job (``_force_job``, inputs from :meth:`force_job_inputs`)."""

    _protocol: str
    _force_job: ForceJob

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
        define_nac_inputs(spec)
        spec.output('structure', valid_type=orm.StructureData, help='Standardised conventional cell used.')
        spec.output('symmetry', valid_type=orm.Dict, help='Space group found at symprec.')

        spec.exit_code(402, 'ERROR_EVALUATION_FAILED', message='Evaluating the displaced supercells failed: {message}')

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

        check_reachable(code.computer)
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
            builder.relax = cls.relax_protocol_inputs(code, structure, model, protocol, relax_overrides, options)
        return builder

    @classmethod
    def lattice_dynamics_outline(cls) -> tuple:
        """The whole outline: relaxation, supercells, forces and their restoration, then the subclass's force job."""
        return (
            cls.setup,
            if_(cls.should_relax)(cls.run_relax, cls.inspect_relax),
            cls.refine,
            cls.displace,
            cls.split_supercells,
            while_(cls.chunks_pending)(cls.run_evaluate),
            cls.inspect_evaluate,
            cls.restore_forces,
            cls.run_force_job,
            cls.inspect_force_job,
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
        computer = self.inputs.evaluate.code.computer
        self.ctx.wave = wave_size(computer, self.inputs.get('max_concurrent_evaluations'), len(chunks))

    def chunks_pending(self) -> bool:
        return bool(self.ctx.pending_chunks)

    def run_evaluate(self):
        wave, self.ctx.pending_chunks = next_wave(self.ctx.pending_chunks, self.ctx.wave)
        for name, structures in wave:
            inputs = AttributeDict(self.exposed_inputs(EvaluateCalculation, 'evaluate'))
            inputs.structures = structures
            inputs.restoration = self._restoration_of(INFERENCE_STEPS)
            node = self.submit(EvaluateWorkChain, evaluate=inputs, metadata={'call_link_label': f'evaluate_{name}'})
            self.report(f'launched EvaluateWorkChain<{node.pk}> for {len(structures)} supercells ({name})')
            self.to_context(evaluations=append_(node))

    def inspect_evaluate(self):
        failed = [node for node in self.ctx.evaluations if not node.is_finished_ok]
        if failed:
            return self.exit_codes.ERROR_EVALUATION_FAILED.format(message=root_cause(failed[0]))
        # launched in chunk order: chunk_00, chunk_01...
        forces = {f'chunk_{index:02d}': node.outputs.forces for index, node in enumerate(self.ctx.evaluations)}
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

    def force_job_inputs(self) -> dict[str, Any]:
        """The subclass's inputs of its force job, besides the code, the forces, the restoration steps and metadata."""
        raise NotImplementedError

    def report_results(self, node: orm.CalcJobNode) -> None:
        """A line of the force job's headline result in the process report (nothing by default)."""

    def run_force_job(self):
        """The job that turns the restored forces into the subclass's results, on the compute node."""
        job = self._force_job
        inputs = {
            'code': self.inputs.evaluate.code,
            'forces': self.ctx.forces,
            'symprec': self.inputs.symprec,
            'restoration': self._restoration_of(FORCE_CONSTANT_STEPS),
            **self.force_job_inputs(),
            **{name: self.inputs[name] for name in ('born_charges', 'nac_method') if name in self.inputs},
            'metadata': {'call_link_label': job.link_label, 'options': self._job_options()},
        }
        node = self.submit(job.process_class, **inputs)
        self.report(f'launched {job.process_class.__name__}<{node.pk}> for {job.description}')
        return ToContext(force_job=node)

    def inspect_force_job(self):
        node, job = self.ctx.force_job, self._force_job
        if not node.is_finished_ok:
            return getattr(self.exit_codes, job.exit_code).format(message=root_cause(node))
        summary = symmetrization_summary(node)
        if summary:
            self.report(summary)
        self.out('structure', self.ctx.unitcell)
        self.out('symmetry', self.ctx.symmetry)
        for name in job.outputs:
            if name in node.outputs:
                self.out(name, node.outputs[name])
        self.report_results(node)
        return None


def symmetrization_summary(node: orm.CalcJobNode) -> str | None:
    """What ``force_constant_symmetrization`` changed in the job's force constants, for the process report."""
    if RECORDS_NAMESPACE not in node.outputs or 'force_constant_symmetrization' not in node.outputs[RECORDS_NAMESPACE]:
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
