"""``net_force_removal``: subtract the mean force of each structure, as a node recording what it removed."""

from __future__ import annotations

import numpy as np
from aiida.engine import calcfunction

from ..data import ForceSetData
from ..step_record import StepRecord
from .records import record_outputs


@calcfunction
def net_force_removal(forces: ForceSetData) -> dict:
    """F <- F - mean(F) per structure: translation invariance requires zero net force.

    The record's effect holds the net force (sum over atoms, eV/A) each structure had before removal.
    """
    corrected, net_forces = [], []
    for structure_forces in forces.get_list():
        corrected.append(structure_forces - structure_forces.mean(axis=0))
        net_forces.append(structure_forces.sum(axis=0))
    net_forces = np.array(net_forces).reshape(-1, 3)
    record = StepRecord(
        name='net_force_removal',
        parameters={},
        effect={'net_force': net_forces.tolist(), 'net_force_norm': np.linalg.norm(net_forces, axis=1).tolist()},
    )
    return {'forces': ForceSetData.from_list(corrected), **record_outputs(record)}
