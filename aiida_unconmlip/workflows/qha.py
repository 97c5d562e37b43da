"""``unconmlip.qha``: relaxation -> volume scan (shape and positions relaxed at each fixed volume, FixSymmetry on) ->
phonons at each volume -> phonopy's quasi-harmonic fit: thermal expansion, B(T), Cp(T), G(T), Grüneisen parameters."""

from __future__ import annotations

from typing import Any

from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ToContext, WorkChain, append_, if_, while_

from ..engine.restoration import DEFAULT_SYMPREC, INFERENCE_STEPS
from ..output_links import OutputLinksWhenPresent
from ..ports import dict_validator
from ..qha.parameters import parse_volumes
from .evaluate import EvaluateWorkChain
from .failures import root_cause
from .lattice_dynamics import parse_all_restoration_steps
from .phonons import PhononWorkChain
from .phonons import validate_inputs as validate_phonon_inputs
from .protocols import check_override_keys, load_protocol, recursive_merge
from .qha_steps import collect_structures, quasi_harmonic, scale_volumes
from .relax_first import RelaxFirst, check_relax_symprec
from .waves import next_wave, wave_size


def validate_inputs(inputs, _) -> str | None:
    """Refused before any job: what the phonon work chain refuses of the structure, and a relaxation at each volume
    that does not keep the volume (the energy of each volume comes from it)."""
    refused = validate_phonon_inputs({**inputs['phonons'], 'structure': inputs['structure']}, None)
    if refused:
        return refused
    symprec = inputs['phonons']['symprec'].value if 'symprec' in inputs['phonons'] else DEFAULT_SYMPREC
    refused = check_relax_symprec(inputs, 'relax', symprec)
    if refused:
        return refused
    relax = inputs.get('phonons', {}).get('relax')
    if not relax:
        return 'phonons.relax is needed: each volume is relaxed at fixed volume, which also gives its energy'
    parameters = relax['relax'].get('parameters')
    cell = parameters.get('cell') if parameters is not None else None
    if cell != 'fixed_volume':
        return f'phonons.relax.relax.parameters.cell must be "fixed_volume" (the volume scan), not {cell!r}'
    return None


class QhaWorkChain(OutputLinksWhenPresent, RelaxFirst, WorkChain):
    """Quasi-harmonic thermal expansion of a crystal with an (unconstrained) machine-learned potential.

    Every volume runs the phonon work chain, so every restoration step of every volume is on record; the
    ``phonons.restoration`` steps of the relaxation stage also apply to the first, full relaxation.
    """

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input('structure', valid_type=orm.StructureData, help='The crystal.')
        cls.expose_relax(spec, 'Relax positions and cell first (FixSymmetry on) when these inputs are given.')
        spec.expose_inputs(
            PhononWorkChain,
            namespace='phonons',
            exclude=('structure',),
            namespace_options={'help': 'The phonon work chain of each volume (its relax at fixed volume).'},
        )
        spec.input(
            'volumes',
            valid_type=orm.Dict,
            default=lambda: orm.Dict({}),
            validator=dict_validator(parse_volumes),
            help='n_volumes (odd, >= 5), max_linear_strain (fraction of the lattice parameter), eos '
            '(vinet|murnaghan|birch_murnaghan).',
        )
        spec.input(
            'max_concurrent_volumes',
            valid_type=orm.Int,
            required=False,
            help='Volumes computed at once (default: one on a computer without a queue, core.direct; all of them '
            'where a scheduler queue decides).',
        )
        spec.inputs.validator = validate_inputs
        spec.outline(
            cls.setup,
            if_(cls.should_relax)(cls.run_relax, cls.inspect_relax),
            cls.scale,
            while_(cls.volumes_pending)(cls.run_phonons),
            cls.inspect_phonons,
            cls.run_energies,
            cls.inspect_energies,
            cls.run_qha,
        )
        spec.output(
            'qha',
            valid_type=orm.ArrayData,
            help='temperatures (K), equilibrium_volumes (A^3), volumetric_thermal_expansion (1/K), bulk_modulus (GPa), '
            'heat_capacity_p (J/K/mol), gibbs_free_energy (eV), extrapolated; the scan: scan_volumes (A^3) and '
            'scan_energies (eV); per primitive cell.',
        )
        spec.output('equation_of_state', valid_type=orm.Dict, help='The static E(V) fit, per primitive cell.')
        spec.output(
            'gruneisen',
            valid_type=orm.ArrayData,
            help='qpoints, distances, frequencies (THz) and gamma along the band path of the relaxed volume.',
        )
        spec.exit_code(
            402, 'ERROR_PHONONS_FAILED', message='The phonons or energies of volume {volume} failed: {message}'
        )
        spec.exit_code(403, 'ERROR_QHA_FAILED', message='The quasi-harmonic fit failed: {message}')

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
        """A builder for ``fast``, ``moderate`` or ``precise``: the phonon protocol of that name at each volume (its
        relaxation at fixed volume) and the scan of the QHA protocol, updated by ``overrides``."""
        protocol, inputs = load_protocol('qha', protocol)
        overrides = dict(overrides or {})
        if overrides:
            check_override_keys(overrides, cls.spec().inputs)
            inputs = recursive_merge(inputs, overrides)
        phonon_overrides = inputs.pop('phonons', {})
        relax_overrides = phonon_overrides.pop('relax', {})
        volume_relax = recursive_merge({'relax': {'parameters': {'cell': 'fixed_volume'}}}, relax_overrides)
        phonons = PhononWorkChain.get_builder_from_protocol(
            code, structure, model, protocol, {**phonon_overrides, 'relax': volume_relax}, options, relax=True
        )._inputs(prune=True)
        phonons.pop('structure')

        builder = cls.get_builder()
        builder.structure = structure
        builder.phonons = phonons
        for name, value in inputs.items():
            builder[name] = orm.Dict(value) if isinstance(value, dict) else orm.to_aiida_type(value)
        if relax:
            builder.relax = cls.relax_protocol_inputs(code, structure, model, protocol, relax_overrides, options)
        return builder

    def setup(self):
        self.ctx.structure = self.inputs.structure
        self.ctx.restoration = parse_all_restoration_steps(self.inputs.phonons.restoration.get_dict())

    def relaxation_symprec(self) -> float:
        return self.inputs.phonons.symprec.value

    def scale(self):
        scaled = scale_volumes(self.ctx.structure, self.inputs.volumes, metadata={'call_link_label': 'scale_volumes'})
        self.ctx.pending = sorted(scaled.items())
        computer = self.inputs.phonons.evaluate.code.computer
        self.ctx.wave = wave_size(computer, self.inputs.get('max_concurrent_volumes'), len(self.ctx.pending))
        volumes = ', '.join(f'{node.get_cell_volume():.3f}' for _, node in self.ctx.pending)
        self.report(f'{len(self.ctx.pending)} volumes (A^3): {volumes}')

    def volumes_pending(self) -> bool:
        return bool(self.ctx.pending)

    def run_phonons(self):
        wave, self.ctx.pending = next_wave(self.ctx.pending, self.ctx.wave)
        for name, structure in wave:
            inputs = AttributeDict(self.exposed_inputs(PhononWorkChain, 'phonons'))
            inputs.structure = structure
            inputs.metadata = {'call_link_label': f'phonons_{name}'}
            node = self.submit(PhononWorkChain, **inputs)
            self.report(f'launched PhononWorkChain<{node.pk}> for {name}')
            self.to_context(volumes=append_(node))

    def inspect_phonons(self):
        self.ctx.per_volume = {}
        for number, node in enumerate(self.ctx.volumes):  # launched in the order of scale_volumes' volume_<index>
            index = f'{number:02d}'
            if not node.is_finished_ok:
                return self.exit_codes.ERROR_PHONONS_FAILED.format(volume=index, message=root_cause(node))
            self.ctx.per_volume.update(
                {
                    f'structure_{index}': node.outputs.relaxed_structure,
                    f'thermal_{index}': node.outputs.thermal_properties,
                    f'phonopy_{index}': node.outputs.phonopy_yaml,
                }
            )
        return None

    def run_energies(self):
        """The static energy of each relaxed volume, as stored: one batched evaluate job for all of them (the
        relaxation's last energy belongs to its coordinates before they were stored at 14 digits)."""
        structures = collect_structures(
            **{k: v for k, v in self.ctx.per_volume.items() if k.startswith('structure_')},
            metadata={'call_link_label': 'collect_structures'},
        )
        evaluate = AttributeDict(self.exposed_inputs(PhononWorkChain, 'phonons')['evaluate'])
        evaluate.structures = structures
        evaluate.restoration = orm.Dict({name: self.ctx.restoration[name] for name in INFERENCE_STEPS})
        node = self.submit(EvaluateWorkChain, evaluate=evaluate, metadata={'call_link_label': 'evaluate_energies'})
        self.report(f'launched EvaluateWorkChain<{node.pk}> for the energies of {len(structures)} volumes')
        return ToContext(energies=node)

    def inspect_energies(self):
        node = self.ctx.energies
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_PHONONS_FAILED.format(volume='energies', message=root_cause(node))
        self.ctx.per_volume['energies'] = node.outputs.energies
        return None

    def run_qha(self):
        try:
            outputs = quasi_harmonic(
                self.inputs.volumes, **self.ctx.per_volume, metadata={'call_link_label': 'quasi_harmonic'}
            )
        except Exception as exc:
            return self.exit_codes.ERROR_QHA_FAILED.format(message=f'{type(exc).__name__}: {exc}')
        for name, node in outputs.items():
            self.out(name, node)
        qha = outputs['qha']
        temperatures, beta = qha.get_array('temperatures'), qha.get_array('volumetric_thermal_expansion')
        index = int(abs(temperatures - 300.0).argmin())
        self.report(
            f'volumetric thermal expansion at {temperatures[index]:g} K: {beta[index]:.3e} 1/K; '
            f'B0 {outputs["equation_of_state"]["b0_gpa"]:.1f} GPa'
        )
        return None
