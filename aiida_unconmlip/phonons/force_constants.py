"""Force constants from forces, and their symmetrisation with the relative change it made."""

from __future__ import annotations

import numpy as np
from phonopy import Phonopy

from .projector import ProjectorBasis

FC_METHODS = {'phonopy': 'traditional', 'symfc': 'symfc'}
# Methods whose force constants are already what the symmetrisation keeps: symfc solves for them in the basis of
# force constants with the acoustic sum rule, index permutation and space group, the one its projector projects on.
SYMMETRIC_BY_FIT = frozenset({'symfc'})


def fc_from_forces(phonon: Phonopy, forces: np.ndarray, method: str) -> None:
    """Set ``forces`` (N_displacements, N_atoms, 3) eV/A and produce compact force constants on ``phonon``."""
    if method not in FC_METHODS:
        raise ValueError(f'force-constant method must be one of {sorted(FC_METHODS)}, not {method!r}')
    phonon.forces = np.asarray(forces, dtype=float)
    phonon.produce_force_constants(
        fc_calculator=FC_METHODS[method], calculate_full_force_constants=False, show_drift=False
    )


def symmetrize_fc(phonon: Phonopy, basis: ProjectorBasis | None = None) -> float:
    """Impose the translational acoustic sum rule, index permutation and the space group in one shot (symfc's
    projector: with ``basis`` where it was built ahead for this supercell, else through phonopy); return the relative
    Frobenius change ||FC - sym(FC)|| / ||FC||."""
    raw = phonon.force_constants.copy()
    if basis is not None and basis.fits(phonon):
        phonon.force_constants = basis.project(raw)
    else:
        phonon.symmetrize_force_constants(show_drift=False, use_symfc_projector=True)
    return relative_change(raw, phonon.force_constants)


def symmetrize_fc_traditionally(phonon: Phonopy) -> float:
    """phonopy's own iterations (translational acoustic sum rule and index permutation, not the space group): what a
    script that calls ``symmetrize_force_constants()`` gets; the relative Frobenius change."""
    raw = phonon.force_constants.copy()
    phonon.symmetrize_force_constants(show_drift=False)
    return relative_change(raw, phonon.force_constants)


def relative_change(before: np.ndarray, after: np.ndarray) -> float:
    """||after - before|| / ||before|| (Frobenius): what a symmetrisation changed in force constants."""
    return float(np.linalg.norm(after - before) / np.linalg.norm(before))
