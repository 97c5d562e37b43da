"""``unconmlip.thermal_conductivity``: relaxation -> standardised structure -> phono3py displacements -> batched
forces -> restoration -> symmetrised fc2 and fc3 -> lattice thermal conductivity kappa(T)."""

from __future__ import annotations

from aiida import orm

from ..calcjobs.phono3py import Phono3pyCalculation
from ..conductivity.parameters import parse_conductivity, parse_kappa_displacements
from ..conductivity.phono3py_setup import supercell_matrices
from ..ports import dict_validator
from ..validation import supercell_size
from .conductivity_steps import phono3py_displacements, residual_force_subtraction
from .lattice_dynamics import ForceJob, LatticeDynamicsWorkChain, check_common_inputs


def validate_inputs(inputs, _) -> str | None:
    """Refused before any job: what :func:`check_common_inputs` refuses, and an fc3 or fc2 supercell that is
    singular or larger than ``displacements.max_supercell_atoms``."""
    checked = check_common_inputs(inputs)
    if checked is None or isinstance(checked, str):
        return checked
    standard, symprec = checked
    try:
        values = parse_kappa_displacements(inputs['displacements'].get_dict())
        for matrix in supercell_matrices(standard, values, symprec):
            if matrix is not None:
                supercell_size(matrix, len(standard), values['max_supercell_atoms'])
    except ValueError as exc:
        return str(exc)
    return None


CONDUCTIVITY_OUTPUTS = (
    'kappa',
    'cumulative_kappa',
    'mode_properties',
    'phono3py_params',
    'fc2',
    'fc3',
    'diagnostics',
)


def define_conductivity_inputs(spec) -> None:
    """The displacement and conductivity inputs, with the supercell outputs they determine: the same for a model's
    run and the DFT yardstick's, so the two can be given the same settings."""
    spec.input(
        'displacements',
        valid_type=orm.Dict,
        default=lambda: orm.Dict({}),
        validator=dict_validator(parse_kappa_displacements),
        help='min_length (A) or supercell_matrix of fc3; fc2_min_length or fc2_supercell_matrix for fc2 in its own '
        'supercell; amplitude (A), plus_minus, subtract_residual_forces, cutoff_pair_distance (A), '
        'random_snapshots and random_seed (with force_constants symfc), max_supercell_atoms.',
    )
    spec.input(
        'conductivity',
        valid_type=orm.Dict,
        default=lambda: orm.Dict({}),
        validator=dict_validator(parse_conductivity),
        help='mesh, temperatures (K), method (rta|lbte), smearing_thz (null: tetrahedron), wigner, '
        'force_constants (phonopy|symfc), isotope, boundary_mfp (micrometre), mode_properties, '
        'imaginary_tolerance_thz.',
    )
    spec.output(
        'supercell_matrix',
        valid_type=orm.List,
        help='The fc3 supercell: rows its lattice vectors in the basis of the standardised unit cell (structure).',
    )
    spec.output(
        'fc2_supercell_matrix', valid_type=orm.List, required=False, help='The fc2 supercell, where it has its own.'
    )


def displace_for_phono3py(process, unitcell: orm.StructureData) -> None:
    """phono3py's displaced supercells of ``unitcell`` into the process's context (``supercells``, ``setup``,
    ``layout``), and its supercell matrices as outputs."""
    outputs = phono3py_displacements(
        unitcell,
        process.inputs.displacements,
        process.inputs.symprec,
        metadata={'call_link_label': 'phono3py_displacements'},
    )
    process.ctx.supercells, process.ctx.setup, process.ctx.layout = (
        outputs['supercells'],
        outputs['phono3py_setup'],
        outputs['layout'],
    )
    for name in ('supercell_matrix', 'fc2_supercell_matrix'):
        if name in outputs:
            process.out(name, outputs[name])


class ThermalConductivityWorkChain(LatticeDynamicsWorkChain):
    """Lattice thermal conductivity of a crystal with an (unconstrained) machine-learned potential and phono3py,
    every restoration step a node.

    The ``restoration`` input switches every step, as in the phonon work chain; ``force_constant_symmetrization``
    acts on fc2 and fc3 and records how much it changed each.
    """

    _protocol = 'thermal_conductivity'
    _force_job = ForceJob(
        Phono3pyCalculation, 'phono3py', 'fc2, fc3 and kappa', CONDUCTIVITY_OUTPUTS, 'ERROR_PHONO3PY_FAILED'
    )

    @classmethod
    def define(cls, spec):
        super().define(spec)
        define_conductivity_inputs(spec)
        spec.inputs.validator = validate_inputs

        spec.outline(*cls.lattice_dynamics_outline())

        spec.output('kappa', valid_type=orm.ArrayData, help='temperatures (K), kappa (temperatures, 6) W/m-K, Voigt.')
        spec.output('cumulative_kappa', valid_type=orm.ArrayData, help='Cumulative kappa against frequency (THz).')
        spec.output('mode_properties', valid_type=orm.ArrayData, required=False)
        spec.output('phono3py_params', valid_type=orm.SinglefileData, help='Open with phono3py.load.')
        spec.output('fc2', valid_type=orm.SinglefileData)
        spec.output('fc3', valid_type=orm.SinglefileData)
        spec.output('diagnostics', valid_type=orm.Dict)
        spec.exit_code(403, 'ERROR_PHONO3PY_FAILED', message='The force constants and kappa failed: {message}')

    def displace(self):
        displace_for_phono3py(self, self.ctx.unitcell)
        layout, formula = self.ctx.layout, self.ctx.supercells.formulas[0]
        self.report(
            f'{len(self.ctx.supercells)} supercells: {layout["fc3"]} displaced for fc3 ({formula}), '
            f'{layout["fc2"]} for fc2 in its own supercell, '
            f'{int(layout["reference_fc3"]) + int(layout["reference_fc2"])} undisplaced'
        )

    def restore_forces(self):
        """With ``displacements.subtract_residual_forces``, the undisplaced supercells' raw forces are subtracted
        first; then the restoration steps of the forces."""
        if self.ctx.layout['reference_fc3']:
            self.ctx.forces = residual_force_subtraction(
                self.ctx.forces, self.ctx.layout, metadata={'call_link_label': 'residual_force_subtraction'}
            )
        return super().restore_forces()

    def force_job_inputs(self) -> dict:
        return {
            'phono3py_setup': self.ctx.setup,
            'layout': self.ctx.layout,
            'conductivity': self.inputs.conductivity,
        }

    def report_results(self, node) -> None:
        self.report(kappa_near_room_temperature(node.outputs.kappa))


def kappa_near_room_temperature(kappa: orm.ArrayData) -> str:
    """The diagonal of kappa at the temperature closest to 300 K, for the process report."""
    temperatures, tensor = kappa.get_array('temperatures'), kappa.get_array('kappa')
    index = int(abs(temperatures - 300.0).argmin())
    return f'kappa at {temperatures[index]:g} K: {tensor[index, :3].round(3).tolist()} W/m-K (xx, yy, zz)'
