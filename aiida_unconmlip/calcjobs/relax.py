"""``unconmlip.relax``: a whole geometry optimisation inside one job, symmetry kept."""

from __future__ import annotations

from typing import Any

from aiida.orm import Dict, StructureData, TrajectoryData

from ..data import StructureSetData
from ..engine import io as engine_io
from ..engine.relax_parameters import parse_relax_parameters
from ..engine.restoration import RELAXATION_STEPS
from ..ports import dict_validator
from .base import EngineCalculation

validate_relax_parameters = dict_validator(parse_relax_parameters)


class RelaxCalculation(EngineCalculation):
    """Relax one or several structures (one after another, model loaded once) with ASE's optimisers.

    FIRE/BFGS/LBFGS, ``FrechetCellFilter`` for the cell, ``FixSymmetry`` on by default (the restoration step
    ``fix_symmetry``). A run that hits ``max_steps`` still returns its last geometry, with exit code 350, so a restart
    can continue from it.
    """

    _restoration_steps = RELAXATION_STEPS

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.inputs['metadata']['options']['parser_name'].default = 'unconmlip.relax'
        spec.input(
            'parameters',
            valid_type=Dict,
            required=False,
            validator=validate_relax_parameters,
            help='{"optimizer": "FIRE"|"BFGS"|"LBFGS", "cell": "positions"|"full"|"fixed_volume"|"normal_strains", '
            '"pressure_gpa", "fmax" (eV/A), "max_steps", "symprec" (A, of FixSymmetry), "trajectory_interval"}.',
        )
        spec.output('relaxed_structures', valid_type=StructureSetData, help='Final geometries, in input order.')
        spec.output(
            'relaxed_structure',
            valid_type=StructureData,
            required=False,
            help='The final geometry, when a single structure was relaxed.',
        )
        spec.output_namespace(
            'trajectories',
            valid_type=TrajectoryData,
            dynamic=True,
            help='One trajectory per structure: `structure_<index>`.',
        )
        spec.output(
            'relaxation_report',
            valid_type=Dict,
            help='Per structure: converged, steps, final energy (eV), space group of input and output at symprec '
            "1e-5, 1e-3, 1e-1 and the relaxation's own.",
        )
        spec.default_output_node = 'relaxation_report'
        spec.exit_code(350, 'ERROR_NOT_CONVERGED', message='Not converged within max_steps: {message}')

    def task_parameters(self) -> dict[str, Any]:
        parameters = self.inputs.parameters.get_dict() if 'parameters' in self.inputs else None
        return parse_relax_parameters(parameters).as_dict()

    def retrieve_list(self) -> list[str]:
        return [*super().retrieve_list(), engine_io.TRAJECTORIES_FILE]
