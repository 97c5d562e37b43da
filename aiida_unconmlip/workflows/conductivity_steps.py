"""The thermal-conductivity work chain's cheap steps as calcfunctions; fc2, fc3 and kappa run on the compute node
(:mod:`aiida_unconmlip.calcjobs.phono3py`)."""

from __future__ import annotations

import io

import numpy as np
from aiida.engine import calcfunction
from aiida.orm import Dict, Float, List, SinglefileData, StructureData, TrajectoryData

from ..conductivity.parameters import parse_kappa_displacements
from ..conductivity.phono3py_setup import (
    Layout,
    generate_displacements,
    make_phono3py,
    subtract_residual_forces,
    supercell_matrices,
    to_yaml_text,
)
from ..data import ForceSetData, StructureSetData


@calcfunction
def phono3py_displacements(structure: StructureData, parameters: Dict, symprec: Float) -> dict:
    """The displaced supercells of fc3 (and fc2 in its own supercell), phono3py's yaml of the setup and the layout of
    the supercells (with the undisplaced ones when their residual forces are to be subtracted)."""
    values = parse_kappa_displacements(parameters.get_dict())
    unitcell = structure.get_ase()
    fc3_matrix, fc2_matrix = supercell_matrices(unitcell, values, symprec.value)
    ph3 = make_phono3py(unitcell, fc3_matrix, fc2_matrix, symprec.value)
    supercells, layout = generate_displacements(ph3, values)
    return {
        'supercells': StructureSetData.from_ase(supercells),
        'phono3py_setup': SinglefileData(io.BytesIO(to_yaml_text(ph3).encode()), filename='phono3py_disp.yaml'),
        'layout': Dict(layout.as_dict()),
        'supercell_matrix': List(np.asarray(fc3_matrix, dtype=int).tolist()),
        **({} if fc2_matrix is None else {'fc2_supercell_matrix': List(np.asarray(fc2_matrix, dtype=int).tolist())}),
    }


@calcfunction
def residual_force_subtraction(forces: ForceSetData, layout: Dict) -> ForceSetData:
    """The raw forces of each undisplaced supercell subtracted from the displaced supercells of its set, before the
    restoration steps (the space-group projection would zero them on the symmetric supercell)."""
    return ForceSetData.from_list(subtract_residual_forces(forces.get_list(), Layout(**layout.get_dict())))


@calcfunction
def dft_force_set(supercells: StructureSetData, **trajectories: TrajectoryData) -> ForceSetData:
    """pw.x's forces of the displaced supercells (``trajectory_<index>``, each its run's parsed output, so every force
    traces to its pw.x run), in the supercells' order, after checking that each run computed its supercell (a run
    left out or reordered would corrupt the fit silently)."""
    expected = supercells.get_ase_list()
    if sorted(trajectories) != [f'trajectory_{index:04d}' for index in range(len(expected))]:
        raise ValueError(f'{len(trajectories)} pw.x trajectories for {len(expected)} supercells')
    forces = []
    for index, atoms in enumerate(expected):
        trajectory = trajectories[f'trajectory_{index:04d}']
        if not np.allclose(trajectory.get_positions()[-1], atoms.positions, atol=1e-6):
            raise ValueError(f'pw.x run {index} did not compute supercell {index}')
        forces.append(trajectory.get_array('forces')[-1])
    return ForceSetData.from_list(forces)
