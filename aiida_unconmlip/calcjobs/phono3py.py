"""``unconmlip.phono3py``: second- and third-order force constants and the lattice thermal conductivity of
phono3py's displacement sets, on the compute node."""

from __future__ import annotations

from pathlib import Path

from aiida.orm import ArrayData, Dict, SinglefileData

from ..conductivity.parameters import parse_conductivity
from ..data import ForceSetData
from ..engine.errors import EngineCrash, InvalidJob
from ..engine.phono3py_task import FORCE_CONSTANT_FILES, PARAMS_FILE, write_phono3py_job
from ..ports import dict_validator
from .engine_job import EngineJob
from .nac_inputs import define_nac_inputs, nac_request
from .phonopy import define_force_constant_restoration, parse_force_constant_steps


class Phono3pyCalculation(EngineJob):
    """fc3 and fc2 from the (restored) forces, symmetrised if the restoration asks, then kappa(T) on a q-mesh with
    phono3py.

    A CalcJob rather than a calcfunction: the phonon-phonon interaction on a fine mesh takes minutes to hours and
    memory, which belongs on a compute node and survives a daemon restart; it needs no model and imports no torch.
    """

    _engine_errors = (EngineCrash, InvalidJob)

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.inputs['metadata']['options']['parser_name'].default = 'unconmlip.phono3py'
        spec.input('phono3py_setup', valid_type=SinglefileData, help="phono3py's yaml of the displacement sets.")
        spec.input('forces', valid_type=ForceSetData, help='Forces (eV/A) of the supercells, laid out as `layout`.')
        spec.input(
            'layout',
            valid_type=Dict,
            help='Counts of the fc3 and fc2 displaced supercells and whether undisplaced ones follow: '
            '{fc3, fc2, reference_fc3, reference_fc2}.',
        )
        spec.input(
            'conductivity',
            valid_type=Dict,
            required=False,
            validator=dict_validator(parse_conductivity),
            help='mesh, temperatures (K), method (rta|lbte), smearing_thz (null: tetrahedron), wigner, '
            'force_constants (phonopy|symfc), isotope, mode_properties, imaginary_tolerance_thz.',
        )
        spec.output(
            'kappa',
            valid_type=ArrayData,
            help='temperatures (K) and kappa (temperatures, 6) W/m-K in Voigt order xx, yy, zz, yz, xz, xy; with the '
            'Wigner term also kappa_intra (particle-like) and kappa_inter (coherence).',
        )
        spec.output(
            'cumulative_kappa',
            valid_type=ArrayData,
            help='frequencies (THz) and cumulative (temperatures, points): mean diagonal kappa of the modes below.',
        )
        spec.output('mode_properties', valid_type=ArrayData, required=False, help='With conductivity.mode_properties.')
        spec.output('phono3py_params', valid_type=SinglefileData, help='phono3py_params.yaml: open with phono3py.load.')
        spec.output('fc2', valid_type=SinglefileData, help='fc2.hdf5 (eV/A^2), as phono3py reads it.')
        spec.output('fc3', valid_type=SinglefileData, help='fc3.hdf5 (eV/A^3), as phono3py reads it.')
        spec.output('diagnostics', valid_type=Dict, help='Imaginary modes on the mesh, layout, method.')
        define_force_constant_restoration(spec)
        define_nac_inputs(spec)

    def write_inputs(self, folder) -> list[tuple[str, str, str]]:
        restoration = parse_force_constant_steps(self.dict_input('restoration'))
        request = {
            'symprec': self.inputs.symprec.value,
            'layout': self.inputs.layout.get_dict(),
            'conductivity': parse_conductivity(self.dict_input('conductivity')),
            'force_constant_symmetrization': restoration['force_constant_symmetrization'],
        }
        if 'born_charges' in self.inputs:
            request['nac'] = nac_request(self.inputs)
        write_phono3py_job(
            Path(folder.abspath), self.inputs.phono3py_setup.get_content(), self.inputs.forces.get_list(), request
        )
        return []

    def retrieve_list(self) -> list[str]:
        return [*super().retrieve_list(), PARAMS_FILE, *FORCE_CONSTANT_FILES]
