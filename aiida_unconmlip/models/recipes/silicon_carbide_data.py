"""Recipe: the DFT data of silicon carbide, a polar crystal in a cubic and a hexagonal polytype, that its PET is
trained and judged on, with the Born charges of the non-analytical correction.

Run with ``make sic-data`` (or ``verdi run`` of this file on a profile set up with ``aiida-unconmlip setup
--with-dft`` and a running daemon). With the pseudopotential family's Si.pbe-rrkj.UPF (30/120 Ry) and
C.pbe-rrkjus.UPF (40/320 Ry, converged as docs/dft.rst says) and the reference set's k-spacing and smearing, it
runs, one after another (one pw.x job at a time on 2 cores):

- the reference set of 3C-SiC (F-43m): rattled and strained cubic 8-atom cells, and fcc-shaped 16-atom cells (2x2x2
  primitive cells, which hold the X and L patterns);
- the reference set of 2H-SiC (P6_3mc, the wurtzite stacking): rattled and strained 4-atom cells and a few 8-atom
  cells doubled along c;
- DFPT of each: vc-relax, then ph.x at Gamma, X and L of 3C (Gamma of 2H), and ph.x at Gamma in an electric field
  for the Born charges and the dielectric tensor;

waits for all of them and writes them, with their whole provenance, to
``aiida_unconmlip/models/archives/silicon-carbide-dft-reference.aiida``.
"""

from pathlib import Path

from aiida.engine import submit
from aiida.orm import Bool, Dict, StructureData, load_code
from aiida.tools.archive import create_archive
from ase.build import bulk

import aiida_unconmlip.models
from aiida_unconmlip.dft.codes import family_label
from aiida_unconmlip.models.recipes.waiting import wait_until_finished
from aiida_unconmlip.workflows.dfpt_reference import FCC_QPOINTS, DfptReferenceWorkChain
from aiida_unconmlip.workflows.reference_set import ReferenceSetWorkChain

ARCHIVE = Path(aiida_unconmlip.models.__file__).parent / 'archives' / 'silicon-carbide-dft-reference.aiida'
# PBE lattice parameters near which the cells are sampled (the DFPT runs' vc-relax gives this setup's own).
CUBIC_A = 4.38
HEXAGONAL_A, HEXAGONAL_C = 3.09, 5.07
IDENTITY = [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
GENERATORS = {
    'silicon-carbide-3c-set': (
        bulk('SiC', 'zincblende', a=CUBIC_A, cubic=True),
        {
            'supercells': [IDENTITY, [[0, 1, 1], [1, 0, 1], [1, 1, 0]], IDENTITY],
            'samples': [40, 6, 12],
            'strain_max': [0.03, 0.02, 0.005],
            'shear_max': [0.02, 0.01, 0.003],
            'rattle_min': [0.01, 0.01, 0.005],
            'rattle_max': [0.15, 0.1, 0.03],
            'seed': 2028,
        },
    ),
    'silicon-carbide-2h-set': (
        bulk('SiC', 'wurtzite', a=HEXAGONAL_A, c=HEXAGONAL_C),
        {
            'supercells': [IDENTITY, [[1, 0, 0], [0, 1, 0], [0, 0, 2]]],
            'samples': [30, 5],
            'strain_max': [0.03, 0.02],
            'shear_max': [0.02, 0.01],
            'rattle_min': [0.01, 0.01],
            'rattle_max': [0.15, 0.1],
            'seed': 2029,
        },
    ),
}
DFPT = {
    'silicon-carbide-3c-dfpt': (bulk('SiC', 'zincblende', a=CUBIC_A), FCC_QPOINTS),
    'silicon-carbide-2h-dfpt': (bulk('SiC', 'wurtzite', a=HEXAGONAL_A, c=HEXAGONAL_C), {'GAMMA': [0.0, 0.0, 0.0]}),
}


def builders(pw, ph) -> list:
    """The DFPT work chains (small, first) and the reference sets, labelled."""
    chosen = []
    for label, (structure, qpoints) in DFPT.items():
        builder = DfptReferenceWorkChain.get_builder_from_reference_protocol(
            pw, ph, StructureData(ase=structure), family_label(), protocol='moderate'
        )
        builder.qpoints = Dict(qpoints)
        builder.dielectric = Bool(True)
        builder.metadata.label = label
        chosen.append(builder)
    for label, (base, generator) in GENERATORS.items():
        builder = ReferenceSetWorkChain.get_builder_from_protocol(
            pw, generator={'base': StructureData(ase=base), 'parameters': generator}, protocol='moderate'
        )
        builder.metadata.label = label
        chosen.append(builder)
    return chosen


if __name__ == '__main__':
    nodes = []
    for builder in builders(load_code('pw.x@localhost'), load_code('ph.x@localhost')):
        node = submit(builder)
        print(f'submitted {node.process_label}<{node.pk}> ({builder.metadata.label})', flush=True)
        wait_until_finished([node], interval=20)
        nodes.append(node)
    ARCHIVE.parent.mkdir(exist_ok=True)
    create_archive(nodes, filename=ARCHIVE, overwrite=True)
    print(f'archive: {ARCHIVE}')
