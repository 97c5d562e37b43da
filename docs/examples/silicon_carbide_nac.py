"""3C-SiC phonons from the SiC PET, with and without the non-analytical correction, against the project's DFPT.

Run with ``verdi run docs/examples/silicon_carbide_nac.py`` after ``aiida-unconmlip setup`` (the work chains run in
this process). The Born charges and the dielectric tensor are the ``born_charges`` output of the DFPT work chain
shipped with the model (ph.x with the electric-field perturbation), so the corrected run's provenance reaches
ph.x and the pseudopotentials. Writes ``sic-3c-phonons.png``.
"""

from pathlib import Path

from aiida.engine import run_get_node
from aiida.orm import QueryBuilder, StructureData, WorkChainNode, load_code
from ase.build import bulk

from aiida_unconmlip.models.importing import shipped_model_node
from aiida_unconmlip.plotting import plot_phonons
from aiida_unconmlip.summaries import labelled_frequencies
from aiida_unconmlip.workflows.phonons import PhononWorkChain

code = load_code('unconmlip-engine@localhost')
model = shipped_model_node('pet-sic-pbe')
# The DFPT of 3C-SiC that the model is judged by, imported with the model's provenance by `aiida-unconmlip setup`.
query = QueryBuilder().append(WorkChainNode, filters={'label': 'silicon-carbide-3c-dfpt', 'attributes.exit_status': 0})
dfpt = query.first(flat=True)
charges = dfpt.outputs.born_charges

runs = {}
for name, born_charges in (('without NAC', None), ('with NAC', charges)):
    builder = PhononWorkChain.get_builder_from_protocol(
        code, StructureData(ase=bulk('SiC', 'zincblende', a=4.38)), model, protocol='moderate'
    )
    if born_charges is not None:
        builder.born_charges = born_charges
    results, node = run_get_node(builder)
    runs[name] = results
    frequencies = labelled_frequencies(results['band_structure'])
    print(f'{name} (PhononWorkChain<{node.pk}>), THz:')
    for label in ('GAMMA', 'X', 'L'):
        print(f'  {label:5s}', ' '.join(f'{f:6.2f}' for f in frequencies[label]))

dfpt_frequencies = {label: sorted(values) for label, values in dfpt.outputs.frequencies['frequencies_thz'].items()}
print('DFPT (ph.x; Gamma without the correction), THz:')
for label in ('GAMMA', 'X', 'L'):
    print(f'  {label:5s}', ' '.join(f'{f:6.2f}' for f in dfpt_frequencies[label]))

plot_phonons(
    runs['with NAC']['band_structure'],
    runs['with NAC']['total_dos'],
    Path('sic-3c-phonons.png'),
    title='3C-SiC, pet-sic-pbe: with NAC (DFPT charges), without, and DFPT (points)',
    compare=(runs['without NAC']['band_structure'], runs['without NAC']['total_dos'], 'without NAC'),
    label='with NAC',
    reference={label: dfpt_frequencies[label] for label in ('X', 'L')},
)
