"""Checks on input structures before any model sees them, vectorised so that they cost little beside the model even
for many small cells. Overlapping atoms are found by the backends on the neighbour list they build anyway
(:class:`~aiida_unconmlip.engine.potentials.base.OverlappingAtoms`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from ase import Atoms
from ase.data import chemical_symbols

from .errors import InvalidStructure, UnsupportedElement

MIN_DISTANCE = 0.5  # Angstrom: closer atoms are overlapping, not a physical structure


def check_structures(structures: Sequence[Atoms], elements: Iterable[str] | None) -> None:
    """Refuse empty structures, non-finite coordinates, zero-volume periodic cells and unknown elements."""
    if not structures:
        raise InvalidStructure('no structures were given')
    allowed = None if elements is None else {chemical_symbols.index(symbol) for symbol in elements}
    for index, atoms in enumerate(structures):
        if len(atoms) == 0:
            raise InvalidStructure(f'structure {index} has no atoms')
        if not (np.isfinite(atoms.positions).all() and np.isfinite(atoms.cell.array).all()):
            raise InvalidStructure(f'structure {index} has non-finite positions or cell entries')
        if allowed is not None:
            unknown = sorted({chemical_symbols[number] for number in set(atoms.numbers.tolist()) - allowed})
            if unknown:
                raise UnsupportedElement(
                    f'structure {index} ({atoms.get_chemical_formula()}) contains {", ".join(unknown)}, '
                    f'which the model does not support; it knows {", ".join(sorted(elements))}'
                )
        if atoms.pbc.all() and abs(atoms.cell.volume) < 1e-6:
            raise InvalidStructure(f'structure {index} is periodic but its cell has zero volume')


def overlap_error(index: int, first: int, second: int, distance: float) -> InvalidStructure:
    return InvalidStructure(
        f'structure {index} has overlapping atoms {first} and {second} at {distance:.3f} A (minimum {MIN_DISTANCE} A)'
    )
