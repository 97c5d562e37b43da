"""The files phonopy users load directly, written from a phonopy object with force constants (no AiiDA here).

``phonopy_params.yaml`` (structure, displacements, forces, force constants, and the non-analytical correction of a
polar crystal, with a ``BORN`` file of it beside), ``FORCE_CONSTANTS``, ``band.yaml`` on
the run's path, ``mesh.yaml``, ``total_dos.dat``, ``thermal_properties.yaml``, and one conf file for each:
``phonopy-load phonopy_params.yaml --config band.conf`` in the folder gives the run's band structure,
``mesh.conf`` its thermal properties (with the three acoustic modes at Gamma left out, as the run leaves them out)
and ``dos.conf`` its total DOS. phonopy's command line computes thermal properties or a DOS in one call, not both,
hence two mesh files. The conf files switch off phonopy's own force-constant symmetrisation: the run's force
constants are used as they are, symmetrised or not as the run's restoration said.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
from phonopy import Phonopy
from phonopy.file_IO import write_FORCE_CONSTANTS

from .nac import born_file_text
from .properties import BandPath, band_segments

PHONOPY_LABELS = {'GAMMA': r'$\Gamma$'}


@dataclass(frozen=True)
class ExportSettings:
    """What the run computed, so the files say the same: path and points per segment, mesh, temperatures (K)."""

    path: BandPath
    band_npoints: int
    mesh: list[int]
    t_max: float
    t_step: float
    eigenvectors: bool = False
    symprec: float = 1e-5  # the run's: which atoms a BORN file lists


def _number(value: float) -> str:
    """A coordinate as phonopy's conf files write them (1/2 rather than 0.5 where it is a simple fraction)."""
    fraction = Fraction(value).limit_denominator(48)
    return str(fraction) if abs(float(fraction) - value) < 1e-12 else repr(float(value))


def _labels(path: BandPath) -> list[str]:
    return [PHONOPY_LABELS.get(label, label) for run in path.runs for label in run]


def _band_conf(path: BandPath, settings: ExportSettings) -> str:
    runs = ',  '.join('  '.join(' '.join(map(_number, path.points[label])) for label in run) for run in path.runs)
    lines = [
        f'BAND = {runs}',
        f'BAND_POINTS = {settings.band_npoints}',
        f'BAND_LABELS = {" ".join(_labels(path))}',
        'FC_SYMMETRY = .FALSE.',
    ]
    if settings.eigenvectors:
        lines.append('EIGENVECTORS = .TRUE.')
    return '\n'.join(lines) + '\n'


def _mesh_lines(settings: ExportSettings) -> list[str]:
    return [f'MESH = {" ".join(map(str, settings.mesh))}', 'GAMMA_CENTER = .TRUE.', 'FC_SYMMETRY = .FALSE.']


def _mesh_conf(settings: ExportSettings) -> str:
    """Thermal properties as the run computed them (:func:`aiida_unconmlip.phonons.properties.run_dos_and_thermal`)."""
    lines = [
        *_mesh_lines(settings),
        'TPROP = .TRUE.',
        'EXCLUDE_GAMMA_ACOUSTIC = .TRUE.',
        'TMIN = 0',
        f'TMAX = {settings.t_max!r}',
        f'TSTEP = {settings.t_step!r}',
    ]
    return '\n'.join(lines) + '\n'


def _dos_conf(settings: ExportSettings) -> str:
    """The total DOS with phonopy's defaults, as the run computed it (tetrahedron method)."""
    return '\n'.join([*_mesh_lines(settings), 'DOS = .TRUE.']) + '\n'


def write_phonopy_files(phonon: Phonopy, folder: Path, settings: ExportSettings) -> list[Path]:
    """Write every file into ``folder`` (created if needed); return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    phonon.save(folder / 'phonopy_params.yaml', settings={'force_constants': True})
    write_FORCE_CONSTANTS(phonon.force_constants, filename=folder / 'FORCE_CONSTANTS', p2s_map=phonon.primitive.p2s_map)

    segments, connections = band_segments(settings.path, settings.band_npoints)
    phonon.run_band_structure(
        segments, with_eigenvectors=settings.eigenvectors, labels=_labels(settings.path), path_connections=connections
    )
    phonon.write_yaml_band_structure(filename=folder / 'band.yaml')

    phonon.run_mesh(np.array(settings.mesh), is_gamma_center=True)
    phonon.mesh.write_yaml(filename=folder / 'mesh.yaml')
    phonon.run_total_dos()
    phonon.write_total_dos(filename=folder / 'total_dos.dat')
    phonon.run_thermal_properties(t_min=0, t_max=settings.t_max, t_step=settings.t_step, exclude_gamma_acoustic=True)
    phonon.write_yaml_thermal_properties(filename=folder / 'thermal_properties.yaml')

    (folder / 'band.conf').write_text(_band_conf(settings.path, settings))
    (folder / 'mesh.conf').write_text(_mesh_conf(settings))
    (folder / 'dos.conf').write_text(_dos_conf(settings))
    names = ('phonopy_params.yaml', 'FORCE_CONSTANTS', 'band.yaml', 'mesh.yaml', 'total_dos.dat')
    names = (*names, 'thermal_properties.yaml', 'band.conf', 'mesh.conf', 'dos.conf')
    if phonon.nac_params:
        (folder / 'BORN').write_text(born_file_text(phonon.nac_params, phonon.primitive, settings.symprec))
        names = (*names, 'BORN')
    return [folder / name for name in names]
