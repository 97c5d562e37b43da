"""Forces of a set of structures (eV/A), one node whatever the sizes of the structures."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from aiida.orm import ArrayData

from .ragged import pack, unpack


class ForceSetData(ArrayData):
    """Per-structure force arrays in eV/A, stored concatenated with ``atom_offsets``."""

    @classmethod
    def from_list(cls, forces: Sequence[np.ndarray]) -> ForceSetData:
        node = cls()
        values, offsets = pack(forces)
        node.set_array('forces', values)
        node.set_array('atom_offsets', offsets)
        return node

    def __len__(self) -> int:
        return len(self.get_array('atom_offsets')) - 1

    def get_list(self) -> list[np.ndarray]:
        """One (n_atoms, 3) array per structure."""
        return unpack(self.get_array('forces'), self.get_array('atom_offsets'))

    def get_stacked(self) -> np.ndarray:
        """(N, n_atoms, 3) when all structures have the same number of atoms, as in a displacement set."""
        forces = self.get_list()
        if len({len(f) for f in forces}) > 1:
            raise ValueError('structures differ in size; use get_list() for a heterogeneous set')
        return np.array(forces)
