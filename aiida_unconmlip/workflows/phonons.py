"""``unconmlip.phonons``: relaxation -> standardised structure -> displacements -> batched forces -> restoration
-> symmetrised force constants -> band structure, DOS, thermal properties and symmetry diagnostics."""

from __future__ import annotations

from aiida import orm

from ..calcjobs.phonopy import PhonopyCalculation
from ..phonons.parameters import parse_displacements, parse_force_constants, parse_properties
from ..phonons.supercells import chosen_supercell_matrix
from ..ports import dict_validator
from ..validation import supercell_size
from .lattice_dynamics import ForceJob, LatticeDynamicsWorkChain, check_common_inputs
from .phonon_steps import phonopy_displacements


def validate_inputs(inputs, _) -> str | None:
    """Refused before any job: what :func:`check_common_inputs` refuses, and a supercell that is singular or larger
    than ``displacements.max_supercell_atoms``."""
    checked = check_common_inputs(inputs)
    if checked is None or isinstance(checked, str):
        return checked
    standard, symprec = checked
    try:
        displacements = parse_displacements(inputs['displacements'].get_dict())
        matrix = chosen_supercell_matrix(
            standard,
            displacements['supercell_matrix'],
            displacements['min_length'],
            displacements['supercell_shape'],
            symprec,
        )
        supercell_size(matrix, len(standard), displacements['max_supercell_atoms'])
    except ValueError as exc:
        return str(exc)
    return None


PHONOPY_OUTPUTS = (
    'force_constants',
    'phonopy_yaml',
    'band_structure',
    'total_dos',
    'projected_dos',
    'thermal_properties',
    'diagnostics',
)


class PhononWorkChain(LatticeDynamicsWorkChain):
    """Phonons of a crystal with an (unconstrained) machine-learned potential, every restoration step a node.

    The ``restoration`` input switches every step, wherever it runs: ``fix_symmetry`` in the relaxation,
    ``forces_mode`` and ``rotational_average`` in the relaxation and the evaluate job(s), ``space_group_projection``
    and ``net_force_removal`` on the forces, ``force_constant_symmetrization`` on the force constants.
    """

    _protocol = 'phonons'
    _force_job = ForceJob(
        PhonopyCalculation, 'phonopy', 'the force constants and properties', PHONOPY_OUTPUTS, 'ERROR_PHONOPY_FAILED'
    )

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.input(
            'displacements',
            valid_type=orm.Dict,
            default=lambda: orm.Dict({}),
            validator=dict_validator(parse_displacements),
            help='min_length (A) or supercell_matrix, amplitude (A), plus_minus, random_snapshots, random_seed.',
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
            help='band_npoints, band_path (a q-path of your own), mesh_length (A), t_max and t_step (K), '
            'imaginary_tolerance_thz.',
        )
        spec.inputs.validator = validate_inputs

        spec.outline(*cls.lattice_dynamics_outline())

        spec.output('force_constants', valid_type=orm.ArrayData)
        spec.output('phonopy_yaml', valid_type=orm.SinglefileData, help='Open with phonopy.load.')
        spec.output('band_structure', valid_type=orm.BandsData)
        spec.output('total_dos', valid_type=orm.XyData)
        spec.output('projected_dos', valid_type=orm.XyData, required=False, help='With properties.projected_dos.')
        spec.output(
            'thermal_properties',
            valid_type=orm.XyData,
            help='free_energy (kJ/mol), entropy, heat_capacity (J/K/mol) against T (K), per mole of primitive cells.',
        )
        spec.output('diagnostics', valid_type=orm.Dict)
        spec.output(
            'supercell_matrix',
            valid_type=orm.List,
            help="Rows: the supercell's lattice vectors in the basis of the standardised unit cell (structure).",
        )
        spec.exit_code(403, 'ERROR_PHONOPY_FAILED', message='The force constants and properties failed: {message}')

    def displace(self):
        outputs = phonopy_displacements(
            self.ctx.unitcell,
            self.inputs.displacements,
            self.inputs.symprec,
            metadata={'call_link_label': 'phonopy_displacements'},
        )
        self.ctx.supercells, self.ctx.phonopy_setup = outputs['supercells'], outputs['phonopy_setup']
        self.out('supercell_matrix', outputs['supercell_matrix'])
        self.report(f'{len(self.ctx.supercells)} displaced supercells of {self.ctx.supercells.formulas[0]}')

    def force_job_inputs(self) -> dict:
        return {
            'phonopy_setup': self.ctx.phonopy_setup,
            'symmetry': self.ctx.symmetry,
            'force_constants': self.inputs.force_constants,
            'properties': self.inputs.properties,
        }
