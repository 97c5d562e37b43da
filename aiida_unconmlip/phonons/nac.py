"""The non-analytical correction (NAC) of polar crystals: Born effective charges and the high-frequency dielectric
tensor carried from the cell they were computed on to a run's cell, symmetrised, made to obey the acoustic sum rule,
and handed to phonopy or phono3py, which apply them (Gonze-Lee or Wang). No AiiDA here.

Charges are tensors on atoms, so they cannot simply be copied between two cells of one crystal: the cells may be
rotated, shifted and ordered differently (a DFT primitive cell and the run's standardised conventional cell).
Both are taken to spglib's standardised cell, where the same crystal has the same atoms in the same order, and the
tensors are rotated with the cells.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import spglib
from ase import Atoms
from phonopy.file_IO import parse_BORN_from_strings
from phonopy.physical_units import get_calculator_physical_units, get_physical_units
from phonopy.structure.atoms import PhonopyAtoms
from phonopy.structure.symmetry import symmetrize_borns_and_epsilon

from ..step_record import StepRecord
from .parameters import NAC_METHODS
from .phonopy_setup import make_phonopy, to_ase

# Fractional distance (in the standardised cell) within which two cells' atoms are the same atom.
MATCH_TOLERANCE = 0.02


@dataclass(frozen=True)
class BornCharges:
    """Born effective charges (e, one 3x3 tensor per atom of ``atoms``: d force_j / d field_i in row i, column j, the
    layout of phonopy's ``BORN`` file and of ph.x's printed rows Ex, Ey, Ez) and the high-frequency dielectric tensor,
    in the Cartesian frame of ``atoms``."""

    atoms: Atoms
    born: np.ndarray
    dielectric: np.ndarray

    def __post_init__(self):
        born, dielectric = np.asarray(self.born, dtype=float), np.asarray(self.dielectric, dtype=float)
        if born.shape != (len(self.atoms), 3, 3):
            raise ValueError(f'Born charges: one 3x3 tensor per atom, {len(self.atoms)} atoms; got shape {born.shape}')
        if dielectric.shape != (3, 3):
            raise ValueError(f'the dielectric tensor is 3x3, got shape {dielectric.shape}')
        if not (np.isfinite(born).all() and np.isfinite(dielectric).all()):
            raise ValueError('Born charges and the dielectric tensor must be finite numbers')
        symmetric = (dielectric + dielectric.T) / 2
        if np.abs(dielectric - symmetric).max() > 1e-3 * np.abs(dielectric).max():
            raise ValueError(f'the dielectric tensor is not symmetric: {dielectric.tolist()}')
        if np.linalg.eigvalsh(symmetric).min() < 1:
            raise ValueError(f'a dielectric tensor needs eigenvalues of at least 1: {dielectric.tolist()}')

    def as_dict(self) -> dict[str, Any]:
        """The JSON form the phonopy and phono3py jobs read (:func:`from_dict`)."""
        return {
            'symbols': self.atoms.get_chemical_symbols(),
            'cell': self.atoms.cell.array.tolist(),
            'positions': self.atoms.positions.tolist(),
            'born': np.asarray(self.born).tolist(),
            'dielectric': np.asarray(self.dielectric).tolist(),
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> BornCharges:
        atoms = Atoms(values['symbols'], cell=values['cell'], positions=values['positions'], pbc=True)
        return cls(atoms, np.array(values['born'], dtype=float), np.array(values['dielectric'], dtype=float))


@dataclass(frozen=True)
class NacRequest:
    """The correction a phonopy or phono3py job applies: these charges, by this method."""

    charges: BornCharges
    method: str

    def __post_init__(self):
        if self.method not in NAC_METHODS:
            raise ValueError(f'nac method {self.method!r}: one of {", ".join(NAC_METHODS)}')

    def as_dict(self) -> dict[str, Any]:
        return {'method': self.method, **self.charges.as_dict()}

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> NacRequest | None:
        """The request of a job.json's ``nac`` entry (None: no correction); ``ValueError`` if malformed."""
        if values is None:
            return None
        try:
            return cls(BornCharges.from_dict(values), values['method'])
        except (KeyError, TypeError) as exc:
            raise ValueError(
                f'nac: {exc!r} (symbols, cell, positions, born, dielectric and method are needed)'
            ) from exc


def from_born_file(text: str, structure: Atoms, symprec: float) -> BornCharges:
    """phonopy's ``BORN`` file (dielectric tensor, then the charges of the symmetry-independent atoms) of the
    primitive cell phonopy finds for ``structure``, as phonopy reads it; the charges of the other atoms follow from
    the symmetry. A conversion factor on its first line is ignored: the jobs use eV and Angstrom throughout."""
    primitive = make_phonopy(structure, np.eye(3, dtype=int), symprec).primitive
    try:
        parsed = parse_BORN_from_strings(text, primitive, symprec=symprec)
    except Exception as exc:  # phonopy raises its own parse errors and ValueError for malformed numbers
        raise ValueError(
            f'not a BORN file for the primitive cell of {structure.get_chemical_formula()}: {exc}'
        ) from exc
    atoms = Atoms(primitive.symbols, cell=primitive.cell, positions=primitive.positions, pbc=True)
    return BornCharges(atoms, parsed['born'], parsed['dielectric'])


def _standardised(atoms: Atoms, symprec: float):
    cell = (atoms.cell.array, atoms.get_scaled_positions(), atoms.numbers)
    dataset = spglib.get_symmetry_dataset(cell, symprec=symprec)
    if dataset is None:
        raise ValueError(f'spglib found no space group for {atoms.get_chemical_formula()} at symprec {symprec}')
    return dataset


def _std_atom_of_input(dataset) -> np.ndarray:
    """For each atom of spglib's standardised cell, one atom of the input cell it is a lattice translate of."""
    first_input = {int(p): i for i, p in reversed(list(enumerate(dataset.mapping_to_primitive)))}
    return np.array([first_input[int(p)] for p in dataset.std_mapping_to_primitive])


def _lattice_rotations(dataset) -> np.ndarray:
    """The point operations of the standardised lattice itself (its holohedry), in its fractional coordinates,
    identity first: the settings of one crystal that spglib may standardise to differ by one of them."""
    lattice_only = (dataset.std_lattice, [[0.0, 0.0, 0.0]], [1])
    rotations = spglib.get_symmetry(lattice_only, symprec=1e-5)['rotations']
    is_identity = np.array([(rotation == np.eye(3, dtype=int)).all() for rotation in rotations])
    return np.concatenate([rotations[is_identity], rotations[~is_identity]])


def _match_atoms(source_set, target_set) -> tuple[np.ndarray, np.ndarray] | None:
    """For each standardised atom of the target, the source's standardised atom it is, and the operation of the
    lattice (fractional) that takes the target's setting to the source's: spglib fixes the setting of a crystal only
    up to its normaliser (the origin, and the orientation where the lattice has more symmetry than the crystal, as
    the two settings of zincblende), and the origin not at all along a polar axis. None when nothing maps every
    atom onto one of its own species."""
    source, target = source_set.std_positions, target_set.std_positions
    same_species = target_set.std_types[:, None] == source_set.std_types[None, :]
    for rotation in _lattice_rotations(target_set):
        rotated = target @ rotation.T
        for candidate in np.flatnonzero(same_species[0]):
            difference = rotated[:, None, :] + (source[candidate] - rotated[0]) - source[None, :, :]
            difference -= np.rint(difference)
            distance = np.where(same_species, np.linalg.norm(difference, axis=2), np.inf)
            matched = distance.argmin(axis=1)
            if distance.min(axis=1).max() < MATCH_TOLERANCE and len(set(matched.tolist())) == len(matched):
                return matched, rotation
    return None


def charges_for_cell(charges: BornCharges, target: Atoms, symprec: float) -> tuple[np.ndarray, np.ndarray]:
    """The charges (one tensor per atom of ``target``) and dielectric tensor in ``target``'s frame, where ``target``
    is the same crystal as ``charges.atoms`` in another cell (rotated, shifted, reordered or a supercell of it;
    internal coordinates and lattice parameters may differ slightly, as after a relaxation)."""
    source_set, target_set = _standardised(charges.atoms, symprec), _standardised(target, symprec)
    if (source_set.number != target_set.number or len(source_set.std_types) != len(target_set.std_types)) or (
        sorted(source_set.std_types) != sorted(target_set.std_types)
    ):
        raise ValueError(
            f'the Born charges are of {charges.atoms.get_chemical_formula()} in space group {source_set.number}, '
            f'the run is of {target.get_chemical_formula()} in space group {target_set.number}: not the same crystal'
        )
    match = _match_atoms(source_set, target_set)
    if match is None:
        raise ValueError(
            "the atoms of the Born charges' cell and the run's cell do not map onto each other in spglib's "
            "standardised setting: give charges for the run's standardised cell (the `structure` output)"
        )
    matched, setting = match
    # Cartesian: the source's frame -> the standardised frame (R_s), the source's setting -> the target's (the
    # lattice operation's Cartesian form C, inverted), the standardised frame -> the target's frame (R_t^T).
    lattice = target_set.std_lattice.T  # columns: lattice vectors
    setting_cartesian = lattice @ setting @ np.linalg.inv(lattice)
    to_target = target_set.std_rotation_matrix.T @ setting_cartesian.T @ source_set.std_rotation_matrix
    source_of_std = _std_atom_of_input(source_set)[matched]
    std_of_target = {int(p): k for k, p in reversed(list(enumerate(target_set.std_mapping_to_primitive)))}
    born = np.array(
        [
            to_target @ charges.born[source_of_std[std_of_target[int(p)]]] @ to_target.T
            for p in target_set.mapping_to_primitive
        ]
    )
    return born, to_target @ charges.dielectric @ to_target.T


def apply_nac(phonon, request: NacRequest, symprec: float) -> StepRecord:
    """Set phonopy's ``nac_params`` on ``phonon`` (a Phonopy or Phono3py object) for its primitive cell; the record.

    phonopy's own symmetrisation (the one its ``BORN`` files go through) averages the charges over the space group,
    which also shifts them to sum to zero (the acoustic sum rule, which a finite DFT calculation obeys only
    approximately), and the dielectric tensor over the point group; the record says how much each changed.
    """
    born_unitcell, dielectric = charges_for_cell(request.charges, to_ase(phonon.unitcell), symprec)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')  # phonopy warns of charges far from symmetric; the record gives the number
        symmetric, symmetric_dielectric = symmetrize_borns_and_epsilon(
            born_unitcell, dielectric, phonon.unitcell, primitive=phonon.primitive, symprec=symprec
        )
    supercell = phonon.supercell  # phonopy's own way from the unit cell's atoms to the primitive cell's
    as_given = born_unitcell[[supercell.u2u_map[supercell.s2u_map[i]] for i in phonon.primitive.p2s_map]]
    record = StepRecord(
        name='non_analytical_correction',
        parameters={'method': request.method, 'symprec': symprec},
        effect={
            'born_sum_rule_residual': float(np.abs(as_given.sum(axis=0)).max()),
            'born_change': float(np.abs(symmetric - as_given).max()),
            'dielectric_symmetrization_change': float(np.abs(symmetric_dielectric - dielectric).max()),
            'born': symmetric.tolist(),
            'dielectric': symmetric_dielectric.tolist(),
        },
    )
    phonon.nac_params = {
        'born': symmetric,
        'dielectric': symmetric_dielectric,
        'factor': get_calculator_physical_units().nac_factor,  # phonopy's for eV and Angstrom
        'method': request.method,
    }
    return record


def cubic_lo_frequency(to_thz: float, charge: float, epsilon: float, volume: float, masses: tuple) -> float:
    """LO at Gamma of a cubic crystal of two atoms per primitive cell (zincblende, rocksalt) from its TO (THz):
    omega_LO^2 = omega_TO^2 + 4 pi f Z^2 / (V eps mu), phonopy's correction for charges +-Z, an isotropic
    dielectric constant, the primitive volume V (A^3) and the reduced mass mu of ``masses`` (amu).

    What DFPT's LO is where ph.x gives the analytic TO and the charges (a test checks it against phonopy's LO)."""
    units = get_physical_units()
    inverse_reduced_mass = 1 / masses[0] + 1 / masses[1]
    term = 4 * np.pi * get_calculator_physical_units().nac_factor * charge**2 / (volume * epsilon)
    return float(np.sqrt(to_thz**2 + term * inverse_reduced_mass * units.DefaultToTHz**2))


def born_file_text(nac_params: dict, primitive: PhonopyAtoms, symprec: float) -> str:
    """phonopy's ``BORN`` file of applied NAC parameters (for an export beside ``phonopy_params.yaml``): the unit
    conversion factor, the dielectric tensor, the charges of the primitive cell's symmetry-independent atoms."""
    from phonopy.structure.symmetry import Symmetry

    independent = Symmetry(primitive, symprec=symprec).get_independent_atoms()
    lines = [f'{nac_params["factor"]!r}']
    lines.append(' '.join(f'{value:.10f}' for value in np.ravel(nac_params['dielectric'])))
    lines += [' '.join(f'{value:.10f}' for value in np.ravel(nac_params['born'][i])) for i in independent]
    return '\n'.join(lines) + '\n'
