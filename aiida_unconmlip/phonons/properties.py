"""Band structure along seekpath's path, total and projected DOS, thermal properties (phonopy's verbs)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import seekpath
import spglib
from phonopy import Phonopy
from phonopy.phonon.band_structure import get_band_qpoints_and_path_connections


@dataclass
class BandPath:
    """Continuous runs of labelled q-points, coordinates fractional in the primitive cell's reciprocal basis."""

    runs: list[list[str]]
    points: dict[str, list[float]]

    @property
    def labels(self) -> list[str]:
        """Every label on the path, each once, in path order."""
        return list(dict.fromkeys(label for run in self.runs for label in run))


def seekpath_band_path(phonon: Phonopy) -> BandPath:
    """seekpath's path for phonopy's primitive cell (at phonopy's symprec), its points in that cell's reciprocal basis,
    consecutive segments joined into runs (as phonopy does).

    seekpath's coordinates are fractional in its own primitive cell, which is spglib's standardised cell, rotated,
    and for mC, oA and aP another basis than phonopy's; they are carried over through Cartesian q.
    """
    primitive, symprec = phonon.primitive, phonon.symmetry.tolerance
    cell = (primitive.cell, primitive.scaled_positions, primitive.numbers)
    path = seekpath.get_path(cell, symprec=symprec)
    to_primitive = seekpath_to_cell_basis(
        path['reciprocal_primitive_lattice'], spglib_rotation(cell, symprec), primitive.cell
    )
    runs: list[list[str]] = []
    for start, end in path['path']:
        if runs and runs[-1][-1] == start:
            runs[-1].append(end)
        else:
            runs.append([start, end])
    points = {label: (np.array(q) @ to_primitive).tolist() for label, q in path['point_coords'].items()}
    return BandPath(runs=runs, points=points)


def spglib_rotation(cell: tuple, symprec: float) -> np.ndarray:
    """The rotation by which spglib's (and so seekpath's) standardised cell is turned from ``cell``'s frame."""
    dataset = spglib.get_symmetry_dataset(cell, symprec=symprec)
    if dataset is None:
        raise ValueError(f'spglib found no space group for the primitive cell at symprec {symprec}')
    return np.array(dataset.std_rotation_matrix)


def seekpath_to_cell_basis(seekpath_reciprocal: np.ndarray, rotation: np.ndarray, lattice: np.ndarray) -> np.ndarray:
    """The matrix taking fractional q of seekpath's primitive cell (rows of ``seekpath_reciprocal``, 1/A with 2 pi,
    in seekpath's frame) to fractional q of ``lattice`` (rows, A, in the input's frame): q_cart in seekpath's frame,
    rotated back by ``rotation``, projected on ``lattice``. Both cells are primitive cells of one lattice, so the
    matrix is an integer one; rounding it removes spglib's idealisation of the cell from the coordinates."""
    matrix = seekpath_reciprocal @ rotation @ np.asarray(lattice).T / (2 * np.pi)
    integer = np.rint(matrix)
    if np.abs(matrix - integer).max() > 1e-3 or round(abs(np.linalg.det(integer))) != 1:
        raise ValueError(
            "seekpath's primitive cell and phonopy's are not primitive cells of the same lattice "
            f'(basis change {np.round(matrix, 4).tolist()}): give properties.band_path yourself'
        )
    return integer


def band_path(phonon: Phonopy, given: dict | None) -> BandPath:
    """The user's path (``properties.band_path``, fractional in phonopy's primitive reciprocal basis) or seekpath's."""
    if given is None:
        return seekpath_band_path(phonon)
    return BandPath(runs=given['path'], points={label: list(map(float, q)) for label, q in given['points'].items()})


def band_segments(path: BandPath, npoints: int) -> tuple[list[np.ndarray], list[bool]]:
    """q-points of each segment (``npoints`` each, end points included) and whether it connects to the next."""
    qpoints, connections = get_band_qpoints_and_path_connections(
        [[path.points[label] for label in run] for run in path.runs], npoints=npoints
    )
    return [np.array(segment) for segment in qpoints], list(connections)


def run_band_structure(phonon: Phonopy, segments: list[np.ndarray]) -> list[np.ndarray]:
    """Frequencies (THz) of each segment, shape (points, bands)."""
    phonon.run_band_structure(segments)
    return [np.array(frequencies) for frequencies in phonon.band_structure.frequencies]


def band_points(
    path: BandPath,
    segments: list[np.ndarray],
    connections: list[bool],
    frequencies: list[np.ndarray],
    gamma_from_both_sides: bool = False,
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, str]]]:
    """q-points, frequencies and labels as AiiDA's ``BandsData`` draws and exports them: a point shared by two
    connected segments appears once, a jump between runs keeps both end points (shown as ``U|K``).

    With ``gamma_from_both_sides`` (the non-analytical correction) a Gamma point shared by two segments is kept
    twice: its LO frequencies depend on the direction it is approached from, and phonopy gives each segment its own.
    """
    ends = [pair for run in path.runs for pair in itertools.pairwise(run)]
    kpoints, bands, labels = [], [], []
    connected_to_previous = False
    for segment, values, (first, last), connected in zip(segments, frequencies, ends, connections, strict=True):
        at_gamma = gamma_from_both_sides and not np.any(segment[0])
        skip = 1 if connected_to_previous and not at_gamma else 0
        if not skip:
            labels.append((len(kpoints), first))
        kpoints.extend(segment[skip:])
        bands.extend(values[skip:])
        labels.append((len(kpoints) - 1, last))
        connected_to_previous = connected
    return np.array(kpoints), np.array(bands), labels


def run_dos_and_thermal(
    phonon: Phonopy, mesh_length: float, t_max: float, t_step: float, projected: bool
) -> dict[str, np.ndarray]:
    """Total DOS and thermal properties on a Gamma-centred symmetric mesh; with ``projected``, the projected DOS too
    (eigenvectors on the full mesh: the expensive part, so only on request)."""
    phonon.run_mesh(mesh_length, is_gamma_center=True)
    mesh_frequencies = np.array(phonon.mesh.frequencies)
    mesh_qpoints = np.array(phonon.mesh.qpoints)
    phonon.run_total_dos()
    total = phonon.total_dos
    # the three acoustic modes at Gamma have zero frequency: their log term is undefined, so they are left out
    phonon.run_thermal_properties(t_min=0, t_max=t_max, t_step=t_step, exclude_gamma_acoustic=True)
    thermal = phonon.thermal_properties
    results = {
        'mesh': np.array(phonon.mesh.mesh_numbers),
        'mesh_qpoints': mesh_qpoints,
        'mesh_frequencies': mesh_frequencies,
        'dos_frequencies': np.array(total.frequency_points),
        'total_dos': np.array(total.dos),
        'temperatures': np.array(thermal.temperatures),
        'free_energy': np.array(thermal.free_energy),
        'entropy': np.array(thermal.entropy),
        'heat_capacity': np.array(thermal.heat_capacity),
    }
    if projected:
        phonon.run_mesh(mesh_length, is_gamma_center=True, with_eigenvectors=True, is_mesh_symmetry=False)
        phonon.run_projected_dos()
        results['pdos_frequencies'] = np.array(phonon.projected_dos.frequency_points)
        results['projected_dos'] = np.array(phonon.projected_dos.projected_dos)
    return results
