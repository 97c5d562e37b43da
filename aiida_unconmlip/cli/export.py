"""``aiida-unconmlip export PK DIR``: a phonon run as the files phonopy users load."""

from __future__ import annotations

from pathlib import Path

import click
from aiida.cmdline.utils import decorators


@click.command('export')
@click.argument('identifier')
@click.argument('folder', type=click.Path(file_okay=False, path_type=Path))
@click.option('--eigenvectors', is_flag=True, help='Write the eigenvectors into band.yaml.')
@click.option('--force', is_flag=True, help='Write into a FOLDER that has files, replacing those of the same names.')
@decorators.with_dbenv()
def export(identifier, folder, eigenvectors, force):
    """Write phonopy_params.yaml, FORCE_CONSTANTS, band.yaml, mesh.yaml, total_dos.dat, thermal_properties.yaml of
    the phonon run IDENTIFIER into FOLDER (new or empty, unless --force), with band.conf, mesh.conf and dos.conf:
    `phonopy-load phonopy_params.yaml --config band.conf` there gives the same frequencies."""
    from ..export import export_phonons
    from .show import load_node_or_fail

    try:
        paths = export_phonons(load_node_or_fail(identifier), folder, eigenvectors=eigenvectors, overwrite=force)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    for path in paths:
        click.echo(str(path))
