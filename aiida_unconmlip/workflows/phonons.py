"""``unconmlip.phonons``: relaxation -> standardised structure -> displacements -> batched forces -> restoration
-> symmetrised force constants -> band structure, DOS, thermal properties and symmetry diagnostics."""

from __future__ import annotations

from typing import Any

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain, if_

from ..calcjobs.evaluate import EvaluateCalculation
from ..phonons.parameters import parse_displacements, parse_force_constants, parse_properties, parse_restoration_steps
from ..ports import dict_validator
from ..symmetry import net_force_removal, space_group_projection
from .phonon_steps import (
    merge_force_sets,
    phonon_properties,
    phonopy_displacements,
    refine_structure,
    split_structure_set,
    symmetrized_force_constants,
)
from .protocols import check_override_keys, load_protocol, recursive_merge
from .relax import RelaxWorkChain


class PhononWorkChain(WorkChain):
    """Phonons of a crystal with an (unconstrained) machine-learned potential, every restoration step a node."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('structure', valid_type=orm.StructureData, help='The crystal.')
        spec.input(
            'symprec',
            valid_type=orm.Float,
            default=lambda: orm.Float(1e-5),
            help='spglib tolerance (Angstrom) for refinement, displacements and projection.',
        )
        spec.expose_inputs(
            RelaxWorkChain,
            namespace='relax',
            exclude=('relax.structures',),
            namespace_options={
                'required': False,
                'populate_defaults': False,
                'help': 'Relax first (FixSymmetry on) when these inputs are given.',
            },
        )
        spec.expose_inputs(
            EvaluateCalculation,
            namespace='evaluate',
            exclude=('structures',),
            namespace_options={'help': 'The evaluate job(s) of the displaced supercells.'},
        )
        spec.input(
            'displacements',
            valid_type=orm.Dict,
            default=lambda: orm.Dict({}),
            validator=dict_validator(parse_displacements),
            help='min_length (A) or supercell_matrix, amplitude (A), plus_minus, random_snapshots, random_seed.',
        )
        spec.input(
            'n_chunks',
            valid_type=orm.Int,
            default=lambda: orm.Int(1),
            help='Number of evaluate jobs the displaced supercells are split into (run in parallel).',
        )
        spec.input(
            'restoration',
            valid_type=orm.Dict,
            default=lambda: orm.Dict({}),
            validator=dict_validator(parse_restoration_steps),
            help='AiiDA-side steps: space_group_projection, net_force_removal, force_constant_symmetrization.',
        )
        spec.input(
            'force_constants',
            valid_type=orm.Dict,
            default=lambda: orm.Dict({}),
            validator=dict_validator(parse_force_constants),
            help='method: phonopy or symfc.',
        )
        spec.input(
            'properties',
            valid_type=orm.Dict,
            default=lambda: orm.Dict({}),
            validator=dict_validator(parse_properties),
            help='band_npoints, mesh_length (A), t_max and t_step (K), imaginary_tolerance_thz.',
        )

        spec.outline(
            cls.setup,
            if_(cls.should_relax)(cls.run_relax, cls.inspect_relax),
            cls.refine,
            cls.displace,
            cls.run_evaluate,
            cls.inspect_evaluate,
            cls.restore_forces,
            cls.compute_force_constants,
            cls.compute_properties,
        )

        spec.output('relaxed_structure', valid_type=orm.StructureData, required=False)
        spec.output('structure', valid_type=orm.StructureData, help='Standardised conventional cell used.')
        spec.output('symmetry', valid_type=orm.Dict, help='Space group found at symprec.')
        spec.output('force_constants', valid_type=orm.ArrayData)
        spec.output('phonopy_yaml', valid_type=orm.SinglefileData, help='Open with phonopy.load.')
        spec.output('band_structure', valid_type=orm.BandsData)
        spec.output('total_dos', valid_type=orm.XyData)
        spec.output('projected_dos', valid_type=orm.XyData)
        spec.output('thermal_properties', valid_type=orm.XyData)
        spec.output('diagnostics', valid_type=orm.Dict)

        spec.exit_code(401, 'ERROR_RELAXATION_FAILED', message='The relaxation failed: {message}')
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
        """A builder for ``fast``, ``moderate`` or ``precise``, updated by ``overrides`` (unknown keys refused)."""
        protocol, inputs = load_protocol('phonons', protocol)
        overrides = dict(overrides or {})
        relax_overrides = overrides.pop('relax', None)
        if overrides:
            check_override_keys(overrides, cls.spec().inputs)
            inputs = recursive_merge(inputs, overrides)
        if options:
            inputs['evaluate']['metadata']['options'].update(options)

        builder = cls.get_builder()
        builder.structure = structure
        builder.symprec = orm.Float(inputs['symprec'])
        builder.n_chunks = orm.Int(inputs['n_chunks'])
        for name in ('displacements', 'restoration', 'force_constants', 'properties'):
            builder[name] = orm.Dict(inputs[name])
        builder.evaluate.code = code
        builder.evaluate.model = model
        builder.evaluate.restoration = orm.Dict(inputs['evaluate']['restoration'])
        builder.evaluate.settings = orm.Dict(inputs['evaluate']['settings'])
        builder.evaluate.metadata = inputs['evaluate']['metadata']
        if relax:
            relax_inputs = RelaxWorkChain.get_protocol_inputs(
                code, structure, model, protocol, relax_overrides, options
            )
            relax_inputs['relax'].pop('structures')
            builder.relax = relax_inputs
        return builder

    def setup(self):
        self.ctx.structure = self.inputs.structure
        self.ctx.restoration = parse_restoration_steps(self.inputs.restoration.get_dict())

    def should_relax(self) -> bool:
        return 'relax' in self.inputs

    def run_relax(self):
        inputs = AttributeDict(self.exposed_inputs(RelaxWorkChain, 'relax'))
        inputs.relax.structures = self.ctx.structure
        inputs.metadata = {'call_link_label': 'relax'}
        node = self.submit(RelaxWorkChain, **inputs)
        self.report(f'launched RelaxWorkChain<{node.pk}>')
        return ToContext(relax=node)

    def inspect_relax(self):
        node = self.ctx.relax
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_RELAXATION_FAILED.format(
                message=f'{node.process_label}<{node.pk}> exit status {node.exit_status}'
            )
        self.ctx.structure = node.outputs.relaxed_structure
        self.out('relaxed_structure', node.outputs.relaxed_structure)
        return None

    def refine(self):
        original = {'original': self.inputs.structure} if 'relax' in self.inputs else {}
        refined = refine_structure(self.ctx.structure, self.inputs.symprec, **original)
        self.ctx.unitcell, self.ctx.symmetry = refined['structure'], refined['symmetry']
        self.report(
            f'space group {self.ctx.symmetry["international"]} ({self.ctx.symmetry["number"]}) '
            f'at symprec {self.inputs.symprec.value}'
        )

    def displace(self):
        outputs = phonopy_displacements(self.ctx.unitcell, self.inputs.displacements, self.inputs.symprec)
        self.ctx.supercells, self.ctx.phonopy_setup = outputs['supercells'], outputs['phonopy_setup']
        self.report(f'{len(self.ctx.supercells)} displaced supercells of {self.ctx.supercells.formulas[0]}')

    def run_evaluate(self):
        chunks = (
            split_structure_set(self.ctx.supercells, self.inputs.n_chunks)
            if self.inputs.n_chunks.value > 1
            else {'chunk_00': self.ctx.supercells}
        )
        calculations = {}
        for name, structures in sorted(chunks.items()):
            inputs = AttributeDict(self.exposed_inputs(EvaluateCalculation, 'evaluate'))
            inputs.structures = structures
            inputs.metadata.call_link_label = f'evaluate_{name}'
            node = self.submit(EvaluateCalculation, **inputs)
            self.report(f'launched EvaluateCalculation<{node.pk}> for {len(structures)} supercells ({name})')
            calculations[name] = node
        return ToContext(**{f'evaluate_{name}': node for name, node in calculations.items()})

    def inspect_evaluate(self):
        nodes = {key[len('evaluate_') :]: node for key, node in self.ctx.items() if key.startswith('evaluate_')}
        failed = [node for node in nodes.values() if not node.is_finished_ok]
        if failed:
            node = failed[0]
            return self.exit_codes.ERROR_EVALUATION_FAILED.format(
                message=f'{node.process_label}<{node.pk}> [{node.exit_status}] {node.exit_message}'
            )
        forces = {name: node.outputs.forces for name, node in nodes.items()}
        self.ctx.forces = merge_force_sets(**forces) if len(forces) > 1 else next(iter(forces.values()))
        return None

    def restore_forces(self):
        if self.ctx.restoration['space_group_projection']:
            projected = space_group_projection(self.ctx.supercells, self.ctx.forces, self.inputs.symprec)
            self.ctx.forces = projected['forces']
            removed = max(projected['effect']['forces_removed_max'])
            self.report(f'space_group_projection removed up to {removed:.2e} eV/A')
        if self.ctx.restoration['net_force_removal']:
            cleaned = net_force_removal(self.ctx.forces)
            self.ctx.forces = cleaned['forces']
            self.report(f'net_force_removal removed up to {max(cleaned["effect"]["net_force_norm"]):.2e} eV/A')

    def compute_force_constants(self):
        outputs = symmetrized_force_constants(
            self.ctx.phonopy_setup,
            self.ctx.forces,
            self.inputs.force_constants,
            orm.Bool(self.ctx.restoration['force_constant_symmetrization']),
            self.inputs.symprec,
        )
        self.ctx.phonopy_yaml = outputs['phonopy_yaml']
        self.out('force_constants', outputs['force_constants'])
        self.out('phonopy_yaml', outputs['phonopy_yaml'])
        self.report(f'force constants symmetrisation changed them by {outputs["effect"]["relative_change"]:.2e}')

    def compute_properties(self):
        outputs = phonon_properties(self.ctx.phonopy_yaml, self.inputs.properties, self.ctx.symmetry)
        self.out('structure', self.ctx.unitcell)
        self.out('symmetry', self.ctx.symmetry)
        for name in ('band_structure', 'total_dos', 'projected_dos', 'thermal_properties', 'diagnostics'):
            self.out(name, outputs[name])
