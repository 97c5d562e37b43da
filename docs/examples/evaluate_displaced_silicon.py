"""Forces of a displaced silicon supercell through the daemon, then the AiiDA-side restoration steps.

Run with ``verdi run evaluate_displaced_silicon.py [MODEL]`` after ``aiida-unconmlip setup`` and
``verdi daemon start`` (default: the embedded PET, whose raw forces are not exactly equivariant). Every step is a
node: the evaluate job (with its rotational average), the space-group projection, the net-force removal.
"""

import sys
import time

import numpy as np
from aiida.engine import submit
from aiida.orm import Dict, Float, load_code
from aiida.plugins import CalculationFactory
from ase.build import bulk

from aiida_unconmlip.data import StructureSetData
from aiida_unconmlip.models import default_model_name
from aiida_unconmlip.models.resolve import resolve_model
from aiida_unconmlip.symmetry import net_force_removal, space_group_projection

MODEL = sys.argv[1] if len(sys.argv) > 1 else default_model_name()

supercell = bulk('Si', 'diamond', a=5.431, cubic=True).repeat(2)
supercell.positions[0] += [0.01, 0.0, 0.0]  # one phonopy-style displacement of 0.01 A
structures = StructureSetData.from_ase([supercell])

node = submit(
    CalculationFactory('unconmlip.evaluate'),
    code=load_code('unconmlip-engine@localhost'),
    model=resolve_model(MODEL),
    structures=structures,
    restoration=Dict({'rotational_average': {'l_max': 2, 'inversion': True}}),
)
print(f'submitted unconmlip.evaluate<{node.pk}> to the daemon (model {MODEL}, 1 supercell x 60 rotations)')
started = time.perf_counter()
while not node.is_terminated:
    time.sleep(1)
if not node.is_finished_ok:
    raise SystemExit(f'evaluate<{node.pk}> failed: [{node.exit_status}] {node.exit_message}')
print(f'finished in {time.perf_counter() - started:.1f} s')

projected = space_group_projection(structures, node.outputs.forces, Float(1e-5), node.outputs.stresses)
cleaned = net_force_removal(projected['forces'])
forces = cleaned['forces'].get_list()[0]
average = node.outputs.restoration_steps.rotational_average['effect']
effect = projected['restoration_steps']['space_group_projection']['effect']

np.set_printoptions(precision=5, suppress=True)
print(f'energy: {node.outputs.energies.get_array("energies")[0]:.6f} eV')
print(f'force on the displaced atom: {forces[0]} eV/A')
print(f'rotational std of forces (max): {average["forces_max_std_ev_per_angstrom"][0]:.2e} eV/A')
print(
    f'space group of the displaced cell: {effect["space_group_number"][0]}, '
    f'force removed by projection: {effect["forces_removed_norm"][0]:.2e} eV/A'
)
print(f'net force removed: {cleaned["restoration_steps"]["net_force_removal"]["effect"]["net_force_norm"][0]:.2e} eV/A')
print(
    f'provenance: evaluate<{node.pk}> -> space_group_projection<{projected["forces"].creator.pk}> '
    f'-> net_force_removal<{cleaned["forces"].creator.pk}>'
)
