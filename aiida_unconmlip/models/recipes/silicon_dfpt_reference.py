"""Recipe: DFPT phonons of diamond Si at Gamma, X and L with the reference set's DFT settings.

Run with ``verdi run aiida_unconmlip/models/recipes/silicon_dfpt_reference.py`` (daemon running, profile set up
with ``aiida-unconmlip setup --with-dft``). A few minutes of pw.x and ph.x on 2 cores.
"""

from aiida.engine import submit
from aiida.orm import StructureData, load_code
from ase.build import bulk

from aiida_unconmlip.dft.setup import family_label
from aiida_unconmlip.workflows.dfpt_reference import DfptReferenceWorkChain

if __name__ == '__main__':
    builder = DfptReferenceWorkChain.get_builder_from_reference_protocol(
        load_code('pw.x@localhost'),
        load_code('ph.x@localhost'),
        StructureData(ase=bulk('Si', 'diamond', a=5.475)),
        family_label(),
        protocol='moderate',
    )
    builder.metadata.label = 'silicon-dfpt-reference'
    node = submit(builder)
    print(f'submitted DfptReferenceWorkChain<{node.pk}>')
