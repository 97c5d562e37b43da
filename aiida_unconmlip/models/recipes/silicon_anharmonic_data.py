"""Recipe: DFT data of diamond Si far from equilibrium, where the third derivatives that kappa needs live.

Run with ``make anharmonic-data`` (or ``verdi run`` of this file on a profile set up with
``aiida-unconmlip setup --with-dft`` and a running daemon). The reference set of ``make reference-data`` samples
rattles of 0.005-0.1 A, mostly in 8-atom cells; phonon-phonon scattering is set by how the forces bend beyond
that. This set adds 12 fcc-shaped 16-atom cells (2x2x2 primitive cells, which hold the X and L patterns) and
40 cubic 8-atom cells, every atom rattled by 0.03-0.2 A, strained by up to 1 %, with the same pw.x settings
(about 40 minutes on 2 cores). It is written, with its provenance, to
``aiida_unconmlip/models/archives/silicon-anharmonic-reference.aiida``. The DFT yardstick of kappa is kept out of
it: it judges the model and must not train it.
"""

from pathlib import Path

from aiida.orm import StructureData, load_code
from ase.build import bulk

import aiida_unconmlip.models
from aiida_unconmlip.models.recipes.silicon_reference_data import LATTICE_CONSTANT
from aiida_unconmlip.models.recipes.waiting import submit_and_archive
from aiida_unconmlip.workflows.reference_set import ReferenceSetWorkChain

ARCHIVE = Path(aiida_unconmlip.models.__file__).parent / 'archives' / 'silicon-anharmonic-reference.aiida'
LABEL = 'silicon-anharmonic-set'
GENERATOR = {
    'supercells': [
        [[0, 1, 1], [1, 0, 1], [1, 1, 0]],  # 16-atom fcc-shaped cell (2x2x2 primitive): X and L
        [[1, 0, 0], [0, 1, 0], [0, 0, 1]],  # 8-atom cubic cell: Gamma and X
    ],
    'samples': [12, 40],
    'strain_max': [0.01, 0.01],
    'shear_max': [0.005, 0.005],
    'rattle_min': [0.03, 0.05],
    'rattle_max': [0.2, 0.2],
    'seed': 2027,
}


if __name__ == '__main__':
    builder = ReferenceSetWorkChain.get_builder_from_protocol(
        load_code('pw.x@localhost'),
        generator={
            'base': StructureData(ase=bulk('Si', 'diamond', a=LATTICE_CONSTANT, cubic=True)),
            'parameters': GENERATOR,
        },
        protocol='moderate',
    )
    builder.metadata.label = LABEL
    node = submit_and_archive(builder, ARCHIVE)
    print(f'training set: {node.outputs.summary.get_dict()}; archive: {ARCHIVE}')
