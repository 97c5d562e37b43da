"""``aiida-unconmlip dataset export|import``: training sets to and from extxyz, as metatrain reads them."""

from __future__ import annotations

from pathlib import Path

import click
from aiida.cmdline.utils import decorators, echo


@click.group('dataset')
def dataset():
    """Training sets: export to extxyz, import data computed elsewhere."""


@dataset.command('export')
@click.argument('identifier')
@click.argument('output', type=click.Path(dir_okay=False, path_type=Path))
@decorators.with_dbenv()
def dataset_export(identifier, output):
    """Write the training set IDENTIFIER (a node, or a reference_set run) to OUTPUT.extxyz.

    Energies in eV, forces in eV/A, stress in eV/A^3 with ASE's and metatrain's sign (positive is tensile);
    each frame's ``split`` says train, validation or test.
    """
    from aiida.common import exceptions
    from aiida.orm import load_node

    from ..data.training_set import TrainingSetData

    try:
        node = load_node(identifier)
    except (exceptions.NotExistent, exceptions.MultipleObjectsError, ValueError):
        echo.echo_critical(f'no node with PK or UUID `{identifier}`')
    if not isinstance(node, TrainingSetData) and 'training_set' in getattr(node, 'outputs', {}):
        node = node.outputs.training_set
    if not isinstance(node, TrainingSetData):
        echo.echo_critical(f'node {identifier} is a {type(node).__name__}, not a training set')
    output.write_text(node.get_content())
    echo.echo_success(f'wrote {node.base.attributes.get("count")} structures to {output}')


@dataset.command('import')
@click.argument('path', type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option('--label', help='Label of the new node (default: the file name).')
@click.option('--validation', type=float, default=0.1, show_default=True, help='Fraction for validation.')
@click.option('--test', 'test_fraction', type=float, default=0.1, show_default=True, help='Fraction for testing.')
@click.option('--seed', type=int, default=0, show_default=True, help='Seed of the split.')
@decorators.with_dbenv()
def dataset_import(path, label, validation, test_fraction, seed):
    """Import extxyz data computed elsewhere (energy, forces, stress in eV, eV/A, eV/A^3, ASE's sign).

    Frames without a ``split`` get one from the fractions and seed. The node records where it came from.
    """
    from ..data.training_set import TrainingSetData, assign_split, read_frames

    try:
        frames = read_frames(path)
    except Exception as exc:
        echo.echo_critical(f'cannot read {path} as extxyz: {exc}')
    labels = assign_split(len(frames), validation, test_fraction, seed)
    for frame, split in zip(frames, labels, strict=True):
        frame.info.setdefault('split', split)
    try:
        node = TrainingSetData.from_frames(frames, source=f'imported: {path.name}', filename=path.name)
    except ValueError as exc:
        echo.echo_critical(str(exc))
    node.label = label or path.stem
    node.store()
    echo.echo_success(f'imported {len(frames)} structures as TrainingSetData<{node.pk}>')
