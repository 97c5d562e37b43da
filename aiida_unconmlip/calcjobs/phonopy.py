"""``unconmlip.phonopy``: force constants and phonon properties of a displacement set, on the compute node."""

from __future__ import annotations

from pathlib import Path

from aiida.orm import ArrayData, BandsData, Dict, Float, SinglefileData, XyData

from ..data import ForceSetData
from ..engine.errors import EngineCrash, InvalidJob
from ..engine.phonopy_task import PARAMS_FILE, write_phonopy_job
from ..engine.restoration import parse_restoration
from ..phonons.parameters import parse_force_constants, parse_properties
from ..ports import dict_validator
from ..symmetry.records import RECORDS_NAMESPACE
from .engine_job import EngineJob
from .nac_inputs import define_nac_inputs, nac_request

FORCE_CONSTANT_STEPS = ('force_constant_symmetrization',)


def parse_force_constant_steps(data: dict | None) -> dict:
    return parse_restoration(data, FORCE_CONSTANT_STEPS)


def define_force_constant_restoration(spec) -> None:
    """The ``symprec`` and ``restoration`` inputs of a job that symmetrises force constants, the namespace of its
    record, and its ``diagnostics`` as the node ``verdi calcjob res`` shows."""
    spec.input(
        'symprec',
        valid_type=Float,
        help="spglib tolerance (Angstrom) of the setup: the work chain's own symprec node.",
    )
    spec.input(
        'restoration',
        valid_type=Dict,
        required=False,
        validator=dict_validator(parse_force_constant_steps),
        help='The restoration step it applies: {"force_constant_symmetrization": true|"traditional"|false} (default '
        'true).',
    )
    spec.output_namespace(
        RECORDS_NAMESPACE,
        valid_type=Dict,
        dynamic=True,
        help='The record of force_constant_symmetrization, when applied.',
    )
    spec.default_output_node = 'diagnostics'


class PhonopyCalculation(EngineJob):
    """Force constants from the (restored) forces, symmetrised if the restoration asks, then the band structure,
    DOS, thermal properties and symmetry diagnostics, with phonopy.

    A CalcJob rather than a calcfunction: on large supercells and fine meshes this takes minutes and memory, which
    belongs on a compute node and survives a daemon restart; it needs no model and imports no torch.
    """

    _engine_errors = (EngineCrash, InvalidJob)

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.inputs['metadata']['options']['parser_name'].default = 'unconmlip.phonopy'
        spec.input('phonopy_setup', valid_type=SinglefileData, help="phonopy's yaml of the displacement set.")
        spec.input('forces', valid_type=ForceSetData, help='Forces (eV/A) of the displaced supercells, in order.')
        spec.input('symmetry', valid_type=Dict, help='What refinement found: number, international.')
        spec.input(
            'force_constants',
            valid_type=Dict,
            required=False,
            validator=dict_validator(parse_force_constants),
            help='method: phonopy or symfc.',
        )
        spec.input(
            'properties',
            valid_type=Dict,
            required=False,
            validator=dict_validator(parse_properties),
            help='band_npoints, band_path, mesh_length (A), t_max and t_step (K), imaginary_tolerance_thz, '
            'projected_dos.',
        )
        spec.output('force_constants', valid_type=ArrayData, help='Compact force constants (eV/A^2).')
        spec.output('phonopy_yaml', valid_type=SinglefileData, help='phonopy_params.yaml: open with phonopy.load.')
        spec.output('band_structure', valid_type=BandsData, help='Frequencies (THz) on the band path, labelled.')
        spec.output('total_dos', valid_type=XyData, help='Total DOS (states/THz).')
        spec.output('projected_dos', valid_type=XyData, required=False, help='Projected DOS, on request.')
        spec.output(
            'thermal_properties',
            valid_type=XyData,
            help='Free energy (kJ/mol), entropy, heat capacity (J/K/mol) against T (K), per mole of primitive cells.',
        )
        spec.output('diagnostics', valid_type=Dict, help='Symmetry diagnostics of the spectrum.')
        define_force_constant_restoration(spec)
        define_nac_inputs(spec)

    def write_inputs(self, folder) -> list[tuple[str, str, str]]:
        symmetry = self.inputs.symmetry
        restoration = parse_force_constant_steps(self.dict_input('restoration'))
        request = {
            'symprec': self.inputs.symprec.value,
            'method': parse_force_constants(self.dict_input('force_constants'))['method'],
            'force_constant_symmetrization': restoration['force_constant_symmetrization'],
            'properties': parse_properties(self.dict_input('properties')),
            'space_group': {'number': symmetry['number'], 'symbol': symmetry['international']},
            'space_group_kept': symmetry.get('space_group_kept'),
        }
        if 'born_charges' in self.inputs:
            request['nac'] = nac_request(self.inputs)
        write_phonopy_job(
            Path(folder.abspath), self.inputs.phonopy_setup.get_content(), self.inputs.forces.get_list(), request
        )
        return []

    def retrieve_list(self) -> list[str]:
        return [*super().retrieve_list(), PARAMS_FILE]
