"""Structures from the files users give (CIF, POSCAR, extxyz, anything ASE reads), checked for what the file itself
declares: a CIF whose atom list does not make its declared formula, or whose sites are partly occupied (a disordered
crystal, which ASE reads as an ordered one of the majority species), is refused, not computed. No AiiDA here.

``file@INDEX`` picks structures of a file with several, as ASE's ``ase.io.read`` and ``ase gui`` name them
(``si.extxyz@2``, ``si.extxyz@-1``, ``si.extxyz@0:10``; CIF data blocks count in file order)."""

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


# An occupancy this far below 1 is disorder, not a rounded 1 (CIFs write 0.9999 for full sites too).
OCCUPANCY_TOLERANCE = 1e-3


def check_full_occupancy(path: Path, block) -> None:
    """Every site of a CIF block fully occupied by one species: ASE keeps the majority species of a shared site (a
    Cu0.5Au0.5 site becomes Au), so a disordered crystal would be computed as another, ordered one."""
    occupancies = block.get('_atom_site_occupancy')
    if occupancies is None:
        return
    labels = block.get('_atom_site_label') or [str(index) for index in range(len(occupancies))]
    partial = [
        f'{label} {occupancy}'
        for label, occupancy in zip(labels, occupancies, strict=False)
        if isinstance(occupancy, (int, float)) and occupancy < 1 - OCCUPANCY_TOLERANCE
    ]
    if partial:
        shown = ', '.join(partial[:4]) + (f' and {len(partial) - 4} more' if len(partial) > 4 else '')
        raise InconsistentFile(
            f'{path.name} has partly occupied sites ({shown}): a disordered crystal, which the model cannot compute '
            'as it is; give an ordered structure (each site one species), or a supercell model of the disorder such '
            'as a special quasirandom structure'
        )


def _read(path: Path) -> list[Atoms]:
    import ase.io

    if path.suffix.lower() != '.cif':
        return ase.io.read(path, index=':')
    structures = []
    for block in parse_cif(str(path)):
        if block.has_structure():
            check_full_occupancy(path, block)
            atoms = block.get_atoms()
            check_declared_formula(path, block, atoms)
            structures.append(atoms)
    return structures


def _is_binary(path: Path) -> bool:
    """Whether the start of the file looks like binary data (NUL bytes or mostly unprintable)."""
    head = path.read_bytes()[:4096]
    printable = sum(byte in b'\t\n\r' or 32 <= byte < 127 for byte in head)
    return b'\x00' in head or printable < 0.9 * len(head)


def split_index(value: str) -> tuple[Path, str | None]:
    """``'si.extxyz@2'`` -> (``si.extxyz``, ``'2'``) where ``si.extxyz`` is a file; otherwise the path as given."""
    name, at, index = value.rpartition('@')
    if at and index and Path(name).is_file() and not Path(value).is_file():
        return Path(name), index
    return Path(value), None


def select(structures: list[Atoms], index: str, path: Path) -> list[Atoms]:
    """The structures ``index`` (ASE's syntax: ``2``, ``-1``, ``0:10``, ``::2``) names."""
    from ase.io.formats import string2index

    try:
        chosen = string2index(index)
        picked = structures[chosen] if isinstance(chosen, slice) else [structures[chosen]]
    except (ValueError, IndexError):
        picked = []
    if not picked:
        raise ValueError(
            f'{path}@{index}: no such structure; {path} holds {len(structures)}, numbered 0 to {len(structures) - 1}'
        )
    return picked


def read_structure_file(path: Path, index: str | None = None) -> list[Atoms]:
    """Every structure in ``path`` (those ``index`` names, in ASE's syntax); ``ValueError`` with the reason when it
    cannot be read or cannot be right."""
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
    if index is not None:
        structures = select(structures, index, path)
    for index, atoms in enumerate(structures):
        check_finite(atoms, index)
    return structures
