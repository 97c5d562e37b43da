"""Structure and force sets keep every structure, in order, whatever their sizes."""

import numpy as np
from ase.build import bulk, molecule

from aiida_unconmlip.data import ForceSetData, StructureSetData


def test_heterogeneous_structures_round_trip(aiida_profile):
    structures = [bulk('Cu', cubic=True).repeat(2), molecule('H2O'), bulk('Si')]
    structures[1].center(vacuum=3.0)
    node = StructureSetData.from_ase(structures).store()
    back = node.get_ase_list()
    assert len(node) == 3
    assert node.formulas == ['Cu32', 'H2O', 'Si2']
    for original, restored in zip(structures, back, strict=True):
        np.testing.assert_array_equal(original.numbers, restored.numbers)
        np.testing.assert_allclose(original.positions, restored.positions)
        np.testing.assert_allclose(original.cell.array, restored.cell.array)
        np.testing.assert_array_equal(original.pbc, restored.pbc)


def test_force_sets_stack_only_when_sizes_agree(aiida_profile):
    same = ForceSetData.from_list([np.ones((4, 3)), np.zeros((4, 3))])
    assert same.get_stacked().shape == (2, 4, 3)
    mixed = ForceSetData.from_list([np.ones((4, 3)), np.zeros((2, 3))])
    assert [f.shape for f in mixed.get_list()] == [(4, 3), (2, 3)]
