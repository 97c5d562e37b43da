"""Structures from the files users give (CIF, POSCAR, extxyz, anything ASE reads), checked for what the file itself
declares: a CIF whose atom list does not make its declared formula is refused, not computed. No AiiDA here."""

from __future__ import annotations

from pathlib import Path

from ase import Atoms
from ase.formula import Formula
from ase.io.cif import parse_cif

from .validation import check_finite


class InconsistentFile(ValueError):
    """The file reads, but contradicts what it declares."""


def _counts(formula: str) -> dict[str, int] | None:
    """Element counts of a CIF formula such as ``'Si O2'``; None where it has fractions (disorder) or is unreadable."""
    try:
        return Formula(formula.replace(' ', '')).count()
    except ValueError:
        return None


def check_declared_formula(path: Path, block, atoms: Atoms) -> None:
    """The atoms of a CIF block must make its ``_chemical_formula_sum`` (times ``_cell_formula_units_Z`` if given,
    else a whole multiple of it)."""
    declared = block.get('_chemical_formula_sum')
    counts = _counts(str(declared)) if declared else None
    if not counts:
        return
    parsed = Formula(atoms.get_chemical_formula()).count()
    z = block.get('_cell_formula_units_z')
    if isinstance(z, int):
        consistent = parsed == {element: z * count for element, count in counts.items()}
    else:
        multiples = {parsed.get(element, 0) / count for element, count in counts.items()}
        consistent = set(parsed) == set(counts) and len(multiples) == 1 and next(iter(multiples)).is_integer()
    if not consistent:
        z_text = f' with Z = {z}' if isinstance(z, int) else ''
        raise InconsistentFile(
            f'{path.name} declares the formula {declared}{z_text}, but its atom list makes '
            f'{atoms.get_chemical_formula()}: the file looks truncated or inconsistent; check it before computing'
        )


def _read(path: Path) -> list[Atoms]:
    import ase.io

    if path.suffix.lower() != '.cif':
        return ase.io.read(path, index=':')
    structures = []
    for block in parse_cif(str(path)):
        if block.has_structure():
            atoms = block.get_atoms()
            check_declared_formula(path, block, atoms)
            structures.append(atoms)
    return structures


def _is_binary(path: Path) -> bool:
    """Whether the start of the file looks like binary data (NUL bytes or mostly unprintable)."""
    head = path.read_bytes()[:4096]
    printable = sum(byte in b'\t\n\r' or 32 <= byte < 127 for byte in head)
    return b'\x00' in head or printable < 0.9 * len(head)


def read_structure_file(path: Path) -> list[Atoms]:
    """Every structure in ``path``; ``ValueError`` with the reason when it cannot be read or cannot be right."""
    try:
        structures = _read(path)
    except InconsistentFile:
        raise
    except Exception as exc:
        reason = f'{type(exc).__name__}: {exc}' if str(exc) else f"ASE's reader stopped with {type(exc).__name__}"
        if _is_binary(path):
            reason = 'it holds binary data, not text'
        raise ValueError(
            f'cannot read a structure from {path}: {reason}; give a valid CIF, POSCAR or extxyz file'
        ) from exc
    if not structures:
        raise ValueError(f'{path} holds no structure')
    for index, atoms in enumerate(structures):
        check_finite(atoms, index)
    return structures
