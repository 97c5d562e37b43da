"""symfc's projector onto symmetric force constants, with its basis built in a second process while phonopy works.

The basis of force constants that obey the space group, index permutation and the acoustic sum rule depends only on
the supercell and its operations, not on the forces. Phonopy's own projection (``symmetrize_force_constants(
use_symfc_projector=True)``) builds it after the force constants, in the same process, and searches the operations'
atom permutations once more: for Si216 on the development machine, 1.4 s after phonopy's 1.1 s of loading and
symmetry search. Started as the phonopy job starts, in a forked process on a second core, the basis is ready about
when phonopy's force constants are: loading, force constants and projection take 1.35 s instead of 2.5 s, and the
main job's phonopy job 1.1 s instead of 1.8 s in the warm engine process. The operations and the basis are the ones
phonopy would pass and build (spglib's operations of the same supercell at the same tolerance), so the projected
force constants are the same (equal to the last bit for Si216; a test compares three crystals).

With one core, without ``fork``, for a supercell the basis does not match, or with the speed-up
``projector_basis_ahead`` switched off (:mod:`aiida_unconmlip.speedups`), phonopy projects by itself as before.
"""

from __future__ import annotations

import multiprocessing
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from phonopy import Phonopy
from phonopy.structure.atoms import PhonopyAtoms

from ..cores import usable_cores
from ..speedups import enabled

Cell = tuple[np.ndarray, np.ndarray, np.ndarray]  # lattice (rows), fractional positions, atomic numbers


@dataclass(frozen=True)
class ProjectorBasis:
    """symfc's basis of symmetric compact force constants of one supercell: ``compression`` maps compact force
    constants onto the operations' invariant subspace, ``basis`` spans the symmetric ones in it."""

    cell: Cell
    compression: Any  # scipy.sparse CSC matrix, (n_primitive * n_atoms * 9, n_compressed)
    basis: Any  # symfc's blocked basis matrix, (n_compressed, n_basis)
    translations: int
    p2s_map: np.ndarray

    def fits(self, phonon: Phonopy) -> bool:
        """Whether this is the basis of ``phonon``'s supercell and primitive cell, for its compact force constants."""
        supercell, fc = phonon.supercell, phonon.force_constants
        lattice, positions, numbers = self.cell
        if fc is None or fc.shape[0] == fc.shape[1] or not np.array_equal(supercell.numbers, numbers):
            return False
        offsets = supercell.scaled_positions - positions
        return (
            np.allclose(supercell.cell, lattice, atol=1e-8)
            and np.allclose(offsets - np.rint(offsets), 0.0, atol=1e-8)
            and np.array_equal(phonon.primitive.p2s_map, self.p2s_map)
        )

    def project(self, force_constants: np.ndarray) -> np.ndarray:
        """The symmetric part of compact ``force_constants``: C B B^T C^T applied to them, times the number of lattice
        translations, as symfc divides the compact C by its square root."""
        coefficients = self.basis.T @ (force_constants.ravel() @ self.compression).T
        return (self.compression @ (self.basis @ coefficients) * self.translations).reshape(force_constants.shape)


def build_basis(supercell: PhonopyAtoms, symprec: float) -> ProjectorBasis:
    """The basis for ``supercell`` with spglib's operations at ``symprec`` (what phonopy finds and hands to symfc)."""
    import spglib
    from symfc import Symfc
    from symfc.utils.utils import SymfcAtoms

    cell = lattice, positions, numbers = (
        np.array(supercell.cell),
        np.array(supercell.scaled_positions),
        np.array(supercell.numbers),
    )
    dataset = spglib.get_symmetry_dataset(cell, symprec)
    if dataset is None:
        raise ValueError(f'spglib found no space group for the supercell at symprec {symprec}')
    operations = {'rotations': np.asarray(dataset.rotations), 'translations': np.asarray(dataset.translations)}
    symfc = Symfc(
        SymfcAtoms(cell=lattice, scaled_positions=positions, numbers=numbers),
        spacegroup_operations=operations,
        symprec=symprec,
    )
    symfc.compute_basis_set(orders=[2])
    basis_set = symfc.basis_set[2]
    return ProjectorBasis(
        cell=cell,
        compression=basis_set.compact_compression_matrix.tocsc(),
        basis=basis_set.blocked_basis_set,
        translations=len(basis_set.translation_permutations),
        p2s_map=np.asarray(symfc.p2s_map),
    )


def _build_and_send(connection, supercell: PhonopyAtoms, symprec: float) -> None:
    """The second process: the basis, or ``None`` where it fails (phonopy then projects and reports the error)."""
    try:
        basis = build_basis(supercell, symprec)
    except Exception:
        basis = None
    connection.send(basis)
    connection.close()


class BasisAhead:
    """The basis of ``supercell`` being built in a forked process from the moment this is made; :meth:`result`
    waits for it. Use as a context manager: leaving it stops the process if it still runs (a job stopped early)."""

    def __init__(self, supercell: PhonopyAtoms, symprec: float):
        self._process = self._connection = None
        if (
            not enabled('projector_basis_ahead')
            or usable_cores() < 2
            or 'fork' not in multiprocessing.get_all_start_methods()
        ):
            return
        context = multiprocessing.get_context('fork')
        receiving, sending = context.Pipe(duplex=False)
        self._process = context.Process(target=_build_and_send, args=(sending, supercell, symprec), daemon=True)
        with warnings.catch_warnings():  # Python >= 3.12 warns of fork in a threaded process; the child runs no torch
            warnings.simplefilter('ignore', DeprecationWarning)
            self._process.start()
        sending.close()
        self._connection = receiving

    def result(self) -> ProjectorBasis | None:
        """The basis, or ``None`` if it was not built ahead (one core, no fork, or the second process failed)."""
        if self._connection is None:
            return None
        try:
            return self._connection.recv()
        except (EOFError, OSError):  # the second process died
            return None
        finally:
            self.close()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join()
            self._process = None

    def __enter__(self) -> BasisAhead:
        return self

    def __exit__(self, *_) -> None:
        self.close()
