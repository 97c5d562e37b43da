"""Recipe: the DFT yardstick of diamond Si's thermal conductivity, fc2 and fc3 from pw.x forces.

Run with ``make kappa-yardstick`` (or ``verdi run`` of this file on a profile set up with
``aiida-unconmlip setup --with-dft`` and a running daemon). pw.x runs with the reference set's settings (those the
default model is trained on) at the DFT equilibrium (a = 5.475 A) on 24 randomly displaced 16-atom supercells
(the fcc-shaped 2x2x2 supercell of the primitive cell; 12 random displacements of 0.03 A of every atom and their
opposites, fitted by symfc), about 2 minutes each on 2 cores. Kappa on phono3py's 11x11x11 mesh (RTA, tetrahedron).
Writes the work chain with its whole provenance to ``aiida_unconmlip/models/archives/silicon-kappa-yardstick.aiida``.
"""

from pathlib import Path

from aiida.orm import StructureData, load_code
from ase.build import bulk

import aiida_unconmlip.models
from aiida_unconmlip.models.recipes.silicon_reference_data import LATTICE_CONSTANT
from aiida_unconmlip.models.recipes.waiting import submit_and_archive
from aiida_unconmlip.workflows.dft_conductivity import DftThermalConductivityWorkChain

ARCHIVE = Path(aiida_unconmlip.models.__file__).parent / 'archives' / 'silicon-kappa-yardstick.aiida'
LABEL = 'silicon-kappa-yardstick'
DISPLACEMENTS = {
    'supercell_matrix': [[0, 1, 1], [1, 0, 1], [1, 1, 0]],  # of the conventional cell: 2x2x2 primitive cells
    'amplitude': 0.03,
    'plus_minus': True,
    'random_snapshots': 12,
    'random_seed': 2026,
}
CONDUCTIVITY = {'force_constants': 'symfc', 'mesh': [11, 11, 11], 'method': 'rta'}


def primitive_cell() -> StructureData:
    """Diamond Si's primitive cell at the DFT setup's zero-pressure lattice constant."""
    return StructureData(ase=bulk('Si', 'diamond', a=LATTICE_CONSTANT))


if __name__ == '__main__':
    builder = DftThermalConductivityWorkChain.get_builder_from_protocol(
        load_code('unconmlip-engine@localhost'),
        load_code('pw.x@localhost'),
        primitive_cell(),
        DISPLACEMENTS,
        CONDUCTIVITY,
        protocol='moderate',
    )
    builder.metadata.label = LABEL
    node = submit_and_archive(builder, ARCHIVE)
    kappa = node.outputs.kappa
    print(f'kappa(T) {kappa.get_array("temperatures").tolist()}: {kappa.get_array("kappa")[:, 0].round(2).tolist()}')
    print(f'archive: {ARCHIVE}')
