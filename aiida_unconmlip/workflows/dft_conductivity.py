"""``unconmlip.dft_thermal_conductivity``: fc2, fc3 and kappa(T) from pw.x forces, the yardstick a model's
conductivity is judged by.

The displaced supercells come from the same calcfunction as the model's thermal-conductivity work chain and the
force constants and kappa from the same phono3py job, so a model run with the same ``displacements`` and
``conductivity`` differs from this one only in where the forces came from. The structure is standardised as
there and not relaxed: give the DFT setup's own equilibrium cell.
"""

from __future__ import annotations

from typing import Any

from aiida import orm
from aiida.engine import ToContext, WorkChain

from ..calcjobs.phono3py import Phono3pyCalculation
from ..conductivity.parameters import parse_conductivity, parse_kappa_displacements
from ..data import ForceSetData
from ..engine.restoration import DEFAULT_SYMPREC
from .conductivity_steps import dft_force_set
from .failures import root_cause
from .phonon_steps import refine_structure
from .reference_set import ReferenceSetWorkChain, check_dft_inputs
from .thermal_conductivity import (
    CONDUCTIVITY_OUTPUTS,
    define_conductivity_inputs,
    displace_for_phono3py,
    kappa_near_room_temperature,
)

DFT_SETTINGS = ('code', 'pseudo_family', 'dft', 'options', 'max_concurrent', 'split')


def validate_inputs(inputs, _) -> str | None:
    """Refused before any pw.x runs: what ``unconmlip.reference_set`` refuses for the structure, and random
    displacements without symfc (phonopy's finite differences cannot fit them)."""
    if 'structure' not in inputs or 'dft' not in inputs:
        return None
    dft = inputs['dft']
    refused = check_dft_inputs([inputs['structure'].get_ase()], dft['pseudo_family'].value, dft['code'])
    if refused:
        return refused
    displacements = parse_kappa_displacements(inputs['displacements'].get_dict())
    conductivity = parse_conductivity(inputs['conductivity'].get_dict())
    if displacements['random_snapshots'] and conductivity['force_constants'] != 'symfc':
        return 'random displacements (displacements.random_snapshots) need conductivity.force_constants: symfc'
    return None


class DftThermalConductivityWorkChain(WorkChain):
    """phono3py's displacements -> pw.x forces of every supercell (``unconmlip.reference_set``, none may fail) ->
    fc2, fc3 and kappa in the engine's phono3py job."""

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(
            ReferenceSetWorkChain, namespace='dft', exclude=('structures', 'generator', 'max_failed_fraction')
        )
        spec.inputs['dft'].validator = None  # it asks for the structures this work chain makes; see validate_inputs
        spec.input('structure', valid_type=orm.StructureData, help='The crystal at the DFT equilibrium (not relaxed).')
        define_conductivity_inputs(spec)
        spec.input('symprec', valid_type=orm.Float, default=lambda: orm.Float(DEFAULT_SYMPREC))
        spec.input('code', valid_type=orm.AbstractCode, help='The engine code that runs the phono3py job.')
        spec.inputs.validator = validate_inputs
        spec.outline(cls.displace, cls.run_dft, cls.collect_forces, cls.run_phono3py, cls.results)
        for name, port in Phono3pyCalculation.spec().outputs.items():
            if name in CONDUCTIVITY_OUTPUTS:
                spec.output(name, valid_type=port.valid_type, required=port.required, help=port.help)
        spec.output('forces', valid_type=ForceSetData, help='pw.x forces of the supercells (eV/A).')
        spec.output(
            'structure', valid_type=orm.StructureData, help="spglib's standardised cell: the supercells' basis."
        )
        spec.exit_code(401, 'ERROR_DFT_FAILED', message='The pw.x forces of the supercells failed: {message}')
        spec.exit_code(402, 'ERROR_PHONO3PY_FAILED', message='The force constants and kappa failed: {message}')

    @classmethod
    def get_builder_from_protocol(
        cls,
        code: orm.AbstractCode,
        pw_code: orm.AbstractCode,
        structure: orm.StructureData,
        displacements: dict[str, Any],
        conductivity: dict[str, Any] | None = None,
        protocol: str | None = None,
        pseudo_family: str | None = None,
    ):
        """The pw.x settings of ``unconmlip.reference_set``'s ``protocol`` (those a model is trained on), the
        displacements and conductivity settings as given."""
        reference = ReferenceSetWorkChain.get_builder_from_protocol(
            pw_code, pseudo_family=pseudo_family, protocol=protocol
        )
        builder = cls.get_builder()
        builder.dft = {name: reference[name] for name in DFT_SETTINGS}
        builder.structure = structure
        builder.displacements = orm.Dict(displacements)
        builder.conductivity = orm.Dict(conductivity or {})
        builder.code = code
        return builder

    def displace(self):
        refined = refine_structure(
            self.inputs.structure, self.inputs.symprec, metadata={'call_link_label': 'refine_structure'}
        )
        self.out('structure', refined['structure'])
        displace_for_phono3py(self, refined['structure'])
        self.report(f'{len(self.ctx.supercells)} supercells of {self.ctx.supercells.formulas[0]} for pw.x')

    def run_dft(self):
        inputs = self.exposed_inputs(ReferenceSetWorkChain, namespace='dft')
        inputs.update(
            structures=self.ctx.supercells,
            max_failed_fraction=orm.Float(0.0),  # every supercell's forces enter the fit: not an input here
            metadata={'call_link_label': 'dft'},
        )
        node = self.submit(ReferenceSetWorkChain, **inputs)
        self.report(f'launched ReferenceSetWorkChain<{node.pk}> for the pw.x forces')
        return ToContext(dft=node)

    def collect_forces(self):
        node = self.ctx.dft
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_DFT_FAILED.format(message=root_cause(node))
        runs = node.base.links.get_outgoing(link_label_filter='dft_%').all()
        trajectories = {
            f'trajectory_{link.link_label.rpartition("_")[2]}': link.node.outputs.output_trajectory for link in runs
        }
        self.ctx.forces = dft_force_set(
            self.ctx.supercells, **trajectories, metadata={'call_link_label': 'dft_force_set'}
        )
        self.out('forces', self.ctx.forces)
        return None

    def run_phono3py(self):
        node = self.submit(
            Phono3pyCalculation,
            code=self.inputs.code,
            forces=self.ctx.forces,
            symprec=self.inputs.symprec,
            phono3py_setup=self.ctx.setup,
            layout=self.ctx.layout,
            conductivity=self.inputs.conductivity,
            metadata={'call_link_label': 'phono3py'},
        )
        self.report(f'launched Phono3pyCalculation<{node.pk}> for fc2, fc3 and kappa')
        return ToContext(phono3py=node)

    def results(self):
        node = self.ctx.phono3py
        if not node.is_finished_ok:
            return self.exit_codes.ERROR_PHONO3PY_FAILED.format(message=root_cause(node))
        for name in CONDUCTIVITY_OUTPUTS:
            if name in node.outputs:
                self.out(name, node.outputs[name])
        self.report(kappa_near_room_temperature(node.outputs.kappa))
        return None
