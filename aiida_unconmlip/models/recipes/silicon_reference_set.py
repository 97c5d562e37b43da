"""Recipe: the DFT reference set of diamond Si the embedded default model is trained on.

Run with ``verdi run aiida_unconmlip/models/recipes/silicon_reference_set.py`` on a profile set up with
``aiida-unconmlip setup --with-dft`` and a running daemon. About an hour of pw.x on 2 cores.
"""

import sys

from aiida.engine import submit
from aiida.orm import StructureData, load_code
from ase.build import bulk

from aiida_unconmlip.workflows.reference_set import ReferenceSetWorkChain

# 5.475 A: the zero-pressure lattice constant of this DFT setup (PBE, Si.pbe-rrkj.UPF, 30 Ry).
BASE = bulk('Si', 'diamond', a=5.475, cubic=True)
GENERATOR = {
    'supercells': [
        [[1, 0, 0], [0, 1, 0], [0, 0, 1]],  # 8-atom cubic cell: Gamma and X displacement patterns
        [[0, 1, 1], [1, 0, 1], [1, 1, 0]],  # 16-atom fcc-shaped cell (2x2x2 primitive): X and L
        [[1, 0, 0], [0, 1, 0], [0, 0, 2]],  # 16-atom 1x1x2 cell: points along Gamma-X
    ],
    'samples': [120, 30, 30],
    'strain_max': 0.03,
    'shear_max': 0.02,
    'rattle_min': 0.01,
    'rattle_max': 0.1,
    'seed': 2026,
}

if __name__ == '__main__':
    builder = ReferenceSetWorkChain.get_builder_from_protocol(
        load_code(sys.argv[1] if len(sys.argv) > 1 else 'pw.x@localhost'),
        generator={'base': StructureData(ase=BASE), 'parameters': GENERATOR},
        protocol='moderate',
    )
    builder.metadata.label = 'silicon-reference-set'
    node = submit(builder)
    print(f'submitted ReferenceSetWorkChain<{node.pk}>')
