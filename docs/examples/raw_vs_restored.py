"""Silicon phonons with the force restoration steps on and off, drawn on one plot.

"Raw" switches off every restoration step but FixSymmetry (space-group projection, net-force removal,
force-constant symmetrisation, the rotational average), and displaces
atoms one way only (phonopy's default, ``plus_minus: auto``) instead of in opposite pairs; the relaxation keeps
FixSymmetry in both runs, so both share one cell and one band path (without it an unconstrained model relaxes
silicon to a lower space group, which the tests record).

Run with ``verdi run docs/examples/raw_vs_restored.py MODEL`` (a model name, PK or file; an unconstrained PET
shows the difference, an equivariant reference potential shows none). Writes ``raw-vs-restored.png``.
"""

import sys
from pathlib import Path

from aiida.engine import run_get_node
from aiida.orm import StructureData, load_code
from ase.build import bulk

from aiida_unconmlip.engine.restoration import RESTORATION_OFF
from aiida_unconmlip.models import default_model_name
from aiida_unconmlip.models.resolve import resolve_model
from aiida_unconmlip.plotting import plot_phonons
from aiida_unconmlip.summaries import labelled_frequencies
from aiida_unconmlip.workflows.phonons import PhononWorkChain

model = resolve_model(sys.argv[1] if len(sys.argv) > 1 else default_model_name())
code = load_code('unconmlip-engine@localhost')
silicon = StructureData(ase=bulk('Si', 'diamond', a=5.431))
RAW = {'restoration': {**RESTORATION_OFF, 'fix_symmetry': True}, 'displacements': {'plus_minus': 'auto'}}

runs = {}
for label, overrides in (('restored', {}), ('raw', RAW)):
    builder = PhononWorkChain.get_builder_from_protocol(code, silicon, model, protocol='moderate', overrides=overrides)
    _, runs[label] = run_get_node(builder)
    diagnostics = runs[label].outputs.diagnostics.get_dict()
    gamma = labelled_frequencies(runs[label].outputs.band_structure)['GAMMA']
    print(f'{label:>8}: space group {diagnostics["space_group"]}, frequencies at Gamma {gamma} THz')
    print(
        f'          largest degenerate splitting {max(diagnostics["degenerate_splitting_thz"].values()):.2e} THz, '
        f'imaginary modes on the mesh {diagnostics["imaginary_modes"]["count"]}'
    )

raw, restored = runs['raw'].outputs, runs['restored'].outputs
path = plot_phonons(
    restored.band_structure,
    restored.total_dos,
    Path('raw-vs-restored.png'),
    f'Si — {model.model_name}: restored (solid) and raw (dashed)',
    compare=(raw.band_structure, raw.total_dos, 'raw'),
    label='restored',
)
print(f'plot: {path.resolve()}')
