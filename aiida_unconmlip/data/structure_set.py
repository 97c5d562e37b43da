"""A batch of structures as one node: a whole displacement set, or any heterogeneous list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from aiida.orm import ArrayData, StructureData
from ase import Atoms

from .ragged import pack, unpack


class StructureSetData(ArrayData):
    """Structures in order, stored as arrays (cells, pbc, numbers, positions in Angstrom, atom offsets).

    One node for N structures keeps the provenance graph readable for phonon displacement sets of hundreds of
    supercells; structures may differ in size and composition.
    """

    @classmethod
    def from_ase(cls, structures: Sequence[Atoms]) -> StructureSetData:
        """Build an unstored node from ASE structures."""
        node = cls()
        positions, offsets = pack([atoms.positions for atoms in structures])
        node.set_array('cells', np.array([atoms.cell.array for atoms in structures], dtype=float).reshape(-1, 3, 3))
        node.set_array('pbc', np.array([atoms.pbc for atoms in structures], dtype=bool).reshape(-1, 3))
        node.set_array(
            'numbers',
            np.concatenate([atoms.numbers for atoms in structures]).astype(np.int64)
            if structures
            else np.zeros(0, dtype=np.int64),
        )
        node.set_array('positions', positions)
        node.set_array('atom_offsets', offsets)
        node.base.attributes.set('formulas', [atoms.get_chemical_formula() for atoms in structures])
        return node

    @classmethod
    def from_structures(cls, structures: Iterable[StructureData]) -> StructureSetData:
        """Build an unstored node from AiiDA structures."""
        return cls.from_ase([structure.get_ase() for structure in structures])

    def __len__(self) -> int:
        return len(self.get_array('cells'))

    @property
    def formulas(self) -> list[str]:
        return self.base.attributes.get('formulas')

    def get_ase_list(self) -> list[Atoms]:
        """All structures as ASE ``Atoms``."""
        offsets = self.get_array('atom_offsets')
        numbers = unpack(self.get_array('numbers'), offsets)
        positions = unpack(self.get_array('positions'), offsets)
        return [
            Atoms(numbers=n, positions=p, cell=cell, pbc=pbc)
            for n, p, cell, pbc in zip(numbers, positions, self.get_array('cells'), self.get_array('pbc'), strict=True)
        ]

    def get_ase(self, index: int) -> Atoms:
        return self.get_ase_list()[index]
