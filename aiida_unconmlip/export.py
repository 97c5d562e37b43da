"""Export a finished phonon run as the files phonopy users load (``aiida-unconmlip export PK DIR``)."""

from __future__ import annotations

from pathlib import Path

from aiida.orm import WorkChainNode

from .phonons.parameters import parse_properties
from .phonons.phonopy_files import ExportSettings, write_phonopy_files
from .phonons.phonopy_setup import from_yaml_text
from .phonons.properties import band_path


def export_phonons(
    node: WorkChainNode, folder: Path, eigenvectors: bool = False, overwrite: bool = False
) -> list[Path]:
    """Write the phonopy files of the finished ``PhononWorkChain`` ``node`` into ``folder``; return their paths.

    ``phonopy phonopy_params.yaml --config band.conf`` in ``folder`` then gives the run's band frequencies (see
    :mod:`aiida_unconmlip.phonons.phonopy_files`); ``eigenvectors`` adds them to ``band.yaml``. A folder with files
    in it is refused unless ``overwrite`` (then the export's files replace those of the same name; others stay).
    """
    if getattr(node, 'process_label', None) != 'PhononWorkChain' or not node.is_finished_ok:
        raise ValueError(f'node {node.pk} is not a finished PhononWorkChain')
    folder = Path(folder)
    if not overwrite and folder.is_dir() and any(folder.iterdir()):
        raise ValueError(
            f'{folder} is not empty: give a new or empty folder, or --force (overwrite=True) to replace the files '
            'of the same names there'
        )
    properties = parse_properties(node.inputs.properties.get_dict())
    phonon = from_yaml_text(node.outputs.phonopy_yaml.get_content(), node.inputs.symprec.value, nac=True)
    settings = ExportSettings(
        path=band_path(phonon, properties['band_path']),
        band_npoints=properties['band_npoints'],
        mesh=node.outputs.diagnostics['mesh'],
        t_max=properties['t_max'],
        t_step=properties['t_step'],
        eigenvectors=eigenvectors,
        symprec=node.inputs.symprec.value,
    )
    return write_phonopy_files(phonon, Path(folder), settings)
