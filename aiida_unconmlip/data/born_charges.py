"""Born effective charges and the high-frequency dielectric tensor of a polar crystal, with the cell they belong to."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from aiida.orm import ArrayData, StructureData
from ase import Atoms

if TYPE_CHECKING:  # phonopy and spglib are imported where charges are used, not with every data type
    from ..phonons.nac import BornCharges


class BornChargesData(ArrayData):
    """Arrays ``born`` (atoms, 3, 3; e), ``dielectric`` (3, 3), and the cell they are given on: ``cell`` (rows, A),
    ``positions`` (A) and the attribute ``symbols``. Tensors are Cartesian in that cell's frame; a run carries them
    to its own cell (rotated, shifted, reordered) through the space group, so they may come from a DFT primitive
    cell and be used on the standardised conventional one. Checked on creation: shapes, finite values, a symmetric
    dielectric tensor with eigenvalues of at least 1."""

    @classmethod
    def from_charges(cls, charges: BornCharges) -> BornChargesData:
        node = cls()
        node.set_array('born', np.asarray(charges.born, dtype=float))
        node.set_array('dielectric', np.asarray(charges.dielectric, dtype=float))
        node.set_array('cell', charges.atoms.cell.array.astype(float))
        node.set_array('positions', charges.atoms.positions.astype(float))
        node.base.attributes.set('symbols', charges.atoms.get_chemical_symbols())
        return node

    @classmethod
    def from_born_file(cls, text: str, structure: StructureData, symprec: float) -> BornChargesData:
        """phonopy's ``BORN`` file, which lists the symmetry-independent atoms of the primitive cell phonopy finds
        for ``structure`` (``ValueError`` with what is wrong otherwise)."""
        from ..phonons.nac import from_born_file

        return cls.from_charges(from_born_file(text, structure.get_ase(), symprec))

    def get_charges(self) -> BornCharges:
        from ..phonons.nac import BornCharges

        atoms = Atoms(
            self.base.attributes.get('symbols'),
            cell=self.get_array('cell'),
            positions=self.get_array('positions'),
            pbc=True,
        )
        return BornCharges(atoms, self.get_array('born'), self.get_array('dielectric'))
