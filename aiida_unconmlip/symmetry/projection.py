"""``space_group_projection``: forces and stresses made to respect each structure's space group, as a node."""

from __future__ import annotations

import numpy as np
from aiida.engine import calcfunction
from aiida.orm import ArrayData, Float

from ..data import ForceSetData, StructureSetData
from ..step_record import StepRecord
from .records import record_outputs
from .space_group import project_forces, project_stress, space_group_operations


@calcfunction
def space_group_projection(
    structures: StructureSetData, forces: ForceSetData, symprec: Float, stresses: ArrayData | None = None
) -> dict:
    """Project forces (and stresses) of each structure onto its space-group-symmetric subspace.

    The record's effect gives per structure the space group found and the norm of what was removed (eV/A for
    forces, eV/A^3 for stress), so the provenance says how much the raw model output broke the symmetry.
    """
    raw_forces = forces.get_list()
    raw_stresses = stresses.get_array('stresses') if stresses is not None else None
    projected_forces, projected_stresses = [], []
    effect = {
        'space_group_number': [],
        'operations': [],
        'forces_removed_norm': [],
        'forces_removed_max': [],
        'stress_removed_norm': [],
    }
    for index, atoms in enumerate(structures.get_ase_list()):
        operations = space_group_operations(atoms, symprec.value)
        symmetric = project_forces(raw_forces[index], operations)
        removed = raw_forces[index] - symmetric
        projected_forces.append(symmetric)
        effect['space_group_number'].append(operations.number)
        effect['operations'].append(len(operations.rotations))
        effect['forces_removed_norm'].append(float(np.linalg.norm(removed)))
        effect['forces_removed_max'].append(float(np.max(np.linalg.norm(removed, axis=1))))
        if raw_stresses is not None and np.isfinite(raw_stresses[index]).all():
            symmetric_stress = project_stress(raw_stresses[index], operations)
            projected_stresses.append(symmetric_stress)
            effect['stress_removed_norm'].append(float(np.linalg.norm(raw_stresses[index] - symmetric_stress)))
        elif raw_stresses is not None:
            projected_stresses.append(raw_stresses[index])
            effect['stress_removed_norm'].append(None)

    record = StepRecord(name='space_group_projection', parameters={'symprec': symprec.value}, effect=effect)
    outputs = {'forces': ForceSetData.from_list(projected_forces), **record_outputs(record)}
    if raw_stresses is not None:
        stress_node = ArrayData()
        stress_node.set_array('stresses', np.array(projected_stresses).reshape(-1, 3, 3))
        outputs['stresses'] = stress_node
    return outputs
