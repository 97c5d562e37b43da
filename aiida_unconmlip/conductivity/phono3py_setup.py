"""phono3py's setup: the supercells for third- and second-order force constants, their displacements, and the yaml
phono3py reads back. The displaced supercells are evaluated in one list, laid out as :class:`Layout` says."""

from __future__ import annotations

import io
import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import phono3py
from ase import Atoms
from phono3py import Phono3py
from phonopy.structure.cells import PrimitiveMatrixAutoDefaultWarning

from ..phonons.phonopy_setup import to_ase, to_phonopy_atoms
from ..phonons.supercells import chosen_supercell_matrix


@dataclass(frozen=True)
class Layout:
    """Where each set sits in the list of evaluated supercells: the fc3 displacements first, then the fc2
    displacements (when fc2 has its own supercell), then the undisplaced supercells whose forces are subtracted."""

    fc3: int
    fc2: int
    reference_fc3: bool
    reference_fc2: bool

    @property
    def total(self) -> int:
        return self.fc3 + self.fc2 + self.reference_fc3 + self.reference_fc2

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def supercell_matrices(unitcell: Atoms, values: dict[str, Any], symprec: float) -> tuple[list, list | None]:
    """The fc3 supercell matrix and the fc2 one (``None``: fc2 from the fc3 supercell) of
    :func:`~aiida_unconmlip.conductivity.parameters.parse_kappa_displacements`' values, both in ``supercell_shape``."""
    shape = values['supercell_shape']
    fc3 = chosen_supercell_matrix(unitcell, values['supercell_matrix'], values['min_length'], shape, symprec)
    fc2 = values['fc2_supercell_matrix']
    if fc2 is None and values['fc2_min_length'] is not None:
        fc2 = chosen_supercell_matrix(unitcell, None, values['fc2_min_length'], shape, symprec)
    return fc3, fc2


def make_phono3py(unitcell: Atoms, fc3_matrix, fc2_matrix, symprec: float) -> Phono3py:
    """Phono3py with the primitive cell found from the symmetry (``auto``)."""
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', PrimitiveMatrixAutoDefaultWarning)  # phonopy's note on its v3 default
        return Phono3py(
            to_phonopy_atoms(unitcell),
            supercell_matrix=fc3_matrix,
            phonon_supercell_matrix=fc2_matrix,
            primitive_matrix='auto',
            symprec=symprec,
        )


def generate_displacements(ph3: Phono3py, values: dict[str, Any]) -> tuple[list[Atoms], Layout]:
    """Displaced supercells for fc3 (and fc2 in its own supercell), symmetry-reduced or random (for symfc), with
    the undisplaced supercells appended when their residual forces are to be subtracted."""
    random = values['random_snapshots']
    ph3.generate_displacements(
        distance=values['amplitude'],
        cutoff_pair_distance=values['cutoff_pair_distance'],
        is_plusminus=values['plus_minus'],
        number_of_snapshots=random,
        random_seed=values['random_seed'],
    )
    separate_fc2 = ph3.phonon_supercell_matrix is not None
    if separate_fc2:
        if random:
            ph3.generate_fc2_displacements(
                distance=values['amplitude'],
                is_plusminus=values['plus_minus'],
                number_of_snapshots=random,
                random_seed=values['random_seed'],
            )
        else:
            ph3.generate_fc2_displacements(distance=values['amplitude'], is_plusminus=values['plus_minus'])
    # pair displacements beyond cutoff_pair_distance are listed as None: phono3py needs no forces for them
    fc3_cells = [cell for cell in ph3.supercells_with_displacements if cell is not None]
    fc2_cells = list(ph3.phonon_supercells_with_displacements) if separate_fc2 else []
    subtract = values['subtract_residual_forces']
    references = [ph3.supercell] if subtract else []
    if subtract and separate_fc2:
        references.append(ph3.phonon_supercell)
    layout = Layout(len(fc3_cells), len(fc2_cells), subtract, subtract and separate_fc2)
    return [to_ase(cell) for cell in (*fc3_cells, *fc2_cells, *references)], layout


def subtract_residual_forces(forces: list[np.ndarray], layout: Layout) -> list[np.ndarray]:
    """The forces with those of the undisplaced supercell subtracted from each displaced one of its set (the model's
    residual forces, raw: before any projection, which would zero them on the symmetric supercell)."""
    if len(forces) != layout.total:
        raise ValueError(f'{len(forces)} force arrays for {layout.total} supercells')
    forces = [np.asarray(f, dtype=float) for f in forces]
    position = layout.fc3 + layout.fc2
    sets = [(0, layout.fc3, layout.reference_fc3), (layout.fc3, layout.fc3 + layout.fc2, layout.reference_fc2)]
    for start, stop, has_reference in sets:
        if has_reference:
            residual = forces[position]
            forces[start:stop] = [f - residual for f in forces[start:stop]]
            forces[position] = forces[position] - residual
            position += 1
    return forces


def split_forces(forces: list[np.ndarray], layout: Layout, ph3: Phono3py) -> tuple[np.ndarray, np.ndarray | None]:
    """The fc3 and fc2 force sets (eV/A) in phono3py's order, without the undisplaced supercells (their residual
    forces are subtracted before, :func:`subtract_residual_forces`); skipped pair displacements get zero forces, as
    phono3py expects."""
    if len(forces) != layout.total:
        raise ValueError(f'{len(forces)} force arrays for {layout.total} supercells')
    fc3_forces = np.asarray(forces[: layout.fc3], dtype=float)
    fc2_forces = np.asarray(forces[layout.fc3 : layout.fc3 + layout.fc2], dtype=float) if layout.fc2 else None
    computed = [cell is not None for cell in ph3.supercells_with_displacements]
    if not all(computed):
        full = np.zeros((len(computed), *fc3_forces.shape[1:]))
        full[np.flatnonzero(computed)] = fc3_forces
        fc3_forces = full
    return fc3_forces, fc2_forces


def to_yaml_text(ph3: Phono3py) -> str:
    """phono3py's own yaml (with displacements and forces if set), which ``phono3py.load`` reads back."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / 'phono3py.yaml'
        ph3.save(path)
        return path.read_text()


def from_yaml_text(text: str, symprec: float) -> Phono3py:
    """A phono3py object from :func:`to_yaml_text`; force constants are never produced here."""
    return phono3py.load(io.StringIO(text), produce_fc=False, symmetrize_fc=False, symprec=symprec, log_level=0)
