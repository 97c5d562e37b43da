"""Recipe: the DFT reference data of diamond Si that the embedded default model is trained and judged on.

Run with ``make reference-data`` (or ``verdi run`` of this file on a profile set up with
``aiida-unconmlip setup --with-dft`` and a running daemon). It submits the reference set (about 90 minutes of pw.x
on 2 cores: ~20 s per 8-atom cell, ~2 min per 16-atom cell) and the DFPT reference (a few minutes), waits for both and
writes them, with their whole provenance, to ``aiida_unconmlip/models/archives/silicon-dft-reference.aiida``.
``--max-concurrent N`` runs N pw.x jobs at a time (useful when they come from the cache).
"""

import sys
from pathlib import Path

from aiida.engine import submit
from aiida.orm import Int, StructureData, load_code
from aiida.tools.archive import create_archive
from ase.build import bulk

import aiida_unconmlip.models
from aiida_unconmlip.dft.codes import family_label
from aiida_unconmlip.models.recipes.waiting import wait_until_finished
from aiida_unconmlip.workflows.dfpt_reference import DfptReferenceWorkChain
from aiida_unconmlip.workflows.reference_set import ReferenceSetWorkChain

ARCHIVE = Path(aiida_unconmlip.models.__file__).parent / 'archives' / 'silicon-dft-reference.aiida'
# 5.475 A: the zero-pressure lattice constant of this DFT setup (PBE, Si.pbe-rrkj.UPF, 30 Ry).
LATTICE_CONSTANT = 5.475
GENERATOR = {
    'supercells': [
        [[1, 0, 0], [0, 1, 0], [0, 0, 1]],  # 8-atom cubic cell: Gamma and X displacement patterns
        [[0, 1, 1], [1, 0, 1], [1, 1, 0]],  # 16-atom fcc-shaped cell (2x2x2 primitive): X and L
        [[1, 0, 0], [0, 1, 0], [0, 0, 1]],  # the 8-atom cell again, held near equilibrium (harmonic curvature)
    ],
    'samples': [120, 18, 30],
    'strain_max': [0.03, 0.03, 0.005],
    'shear_max': [0.02, 0.02, 0.003],
    'rattle_min': [0.01, 0.01, 0.005],
    'rattle_max': [0.1, 0.1, 0.03],
    'seed': 2026,
}


if __name__ == '__main__':
    pw, ph = load_code('pw.x@localhost'), load_code('ph.x@localhost')
    dfpt = DfptReferenceWorkChain.get_builder_from_reference_protocol(
        pw, ph, StructureData(ase=bulk('Si', 'diamond', a=LATTICE_CONSTANT)), family_label(), protocol='moderate'
    )
    dfpt.metadata.label = 'silicon-dfpt-reference'
    reference = ReferenceSetWorkChain.get_builder_from_protocol(
        pw,
        generator={
            'base': StructureData(ase=bulk('Si', 'diamond', a=LATTICE_CONSTANT, cubic=True)),
            'parameters': GENERATOR,
        },
        protocol='moderate',
    )
    reference.metadata.label = 'silicon-reference-set'
    if '--max-concurrent' in sys.argv:
        reference.max_concurrent = Int(int(sys.argv[sys.argv.index('--max-concurrent') + 1]))
    nodes = [submit(dfpt), submit(reference)]
    print('submitted ' + ', '.join(f'{node.process_label}<{node.pk}>' for node in nodes))
    wait_until_finished(nodes)
    ARCHIVE.parent.mkdir(exist_ok=True)
    create_archive(nodes, filename=ARCHIVE, overwrite=True)
    print(f'DFPT frequencies (THz): {nodes[0].outputs.frequencies["frequencies_thz"]}')
    print(f'training set: {nodes[1].outputs.summary.get_dict()}; archive: {ARCHIVE}')
