"""Checks on input structures before any model sees them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from ase import Atoms
from ase.neighborlist import neighbor_list

from .errors import InvalidStructure, UnsupportedElement

MIN_DISTANCE = 0.5  # Angstrom: closer atoms are overlapping, not a physical structure


def check_structures(structures: Sequence[Atoms], elements: Iterable[str] | None) -> None:
    """Refuse empty structures, non-finite coordinates, overlapping atoms and elements the model does not know."""
    if not structures:
        raise InvalidStructure('no structures were given')
    allowed = set(elements) if elements is not None else None
    for index, atoms in enumerate(structures):
        if len(atoms) == 0:
            raise InvalidStructure(f'structure {index} has no atoms')
        if not (np.isfinite(atoms.positions).all() and np.isfinite(atoms.cell.array).all()):
            raise InvalidStructure(f'structure {index} has non-finite positions or cell entries')
        if allowed is not None:
            unknown = sorted(set(atoms.get_chemical_symbols()) - allowed)
            if unknown:
                raise UnsupportedElement(
                    f'structure {index} ({atoms.get_chemical_formula()}) contains {", ".join(unknown)}, '
                    f'which the model does not support; it knows {", ".join(sorted(allowed))}'
                )
        if atoms.pbc.all() and abs(atoms.cell.volume) < 1e-6:
            raise InvalidStructure(f'structure {index} is periodic but its cell has zero volume')
        first, second, distance = neighbor_list('ijd', atoms, MIN_DISTANCE, self_interaction=False)
        if len(distance):
            closest = int(np.argmin(distance))
            raise InvalidStructure(
                f'structure {index} has overlapping atoms {first[closest]} and {second[closest]} '
                f'at {distance[closest]:.3f} A (minimum {MIN_DISTANCE} A)'
            )
