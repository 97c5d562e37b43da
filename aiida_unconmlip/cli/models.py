"""``aiida-unconmlip models list|import|show`` (also ``verdi data unconmlip``)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from aiida.cmdline.utils import decorators, echo

from ..engine.potentials import BACKENDS
from ..models import default_model_name


def model_summary(node, default_name: str) -> dict:
    """What users want to know about a model node, JSON-ready (``default``: it is the registry's default)."""
    return {
        'pk': node.pk,
        'uuid': node.uuid,
        'name': node.model_name,
        'backend': node.model_backend,
        'architecture': node.architecture,
        'elements': node.elements,
        'capabilities': node.capabilities,
        'cutoff': node.cutoff,
        'sha256': node.sha256,
        'source': node.model_source,
        'default': node.model_name == default_name,
    }


@click.group('models')
def models():
    """Model files recorded as nodes: list, import, show."""


@models.command('list')
@click.option('--json', 'as_json', is_flag=True, help='Print JSON.')
@decorators.with_dbenv()
def models_list(as_json: bool):
    """List the models of the profile."""
    from aiida.orm import QueryBuilder
    from tabulate import tabulate

    from ..data.model import ModelData, RemoteModelData

    query = QueryBuilder().append((ModelData, RemoteModelData), tag='model').order_by({'model': {'id': 'asc'}})
    default_name = default_model_name()
    rows = [model_summary(node, default_name) for node in query.all(flat=True)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        echo.echo_report('no models yet: run `aiida-unconmlip setup` or `aiida-unconmlip models import FILE`')
        return
    table = [
        [
            row['pk'],
            row['name'] + (' (default)' if row['default'] else ''),
            row['backend'],
            ','.join(row['elements'] or ['any']),
            row['sha256'][:12],
        ]
        for row in rows
    ]
    click.echo(tabulate(table, headers=['PK', 'Name', 'Backend', 'Elements', 'sha256']))


@models.command('import')
@click.argument('path', type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option('--backend', type=click.Choice(BACKENDS), help='Default: ase for .json specs, else metatomic.')
@click.option('--name', help='Name to register the model under (default: from the file).')
@decorators.with_dbenv()
def models_import(path: Path, backend: str | None, name: str | None):
    """Import a model file; a file already imported gives back its existing node."""
    from ..data.model import ModelData, ModelImportError

    try:
        node = ModelData.import_file(path, backend=backend, name=name, store=False)
    except ModelImportError as exc:
        echo.echo_critical(str(exc))
    if node.is_stored:
        echo.echo_report(f'already imported as model `{node.model_name}` (PK {node.pk}), sha256 {node.sha256}')
    else:
        node.store()
        echo.echo_success(f'imported model `{node.model_name}` as PK {node.pk}, sha256 {node.sha256}')


@models.command('show')
@click.argument('identifier')
@click.option('--json', 'as_json', is_flag=True, help='Print JSON.')
@decorators.with_dbenv()
def models_show(identifier: str, as_json: bool):
    """Show a model given by name, PK, UUID or file path."""
    from ..data.model import ModelImportError
    from ..models.resolve import resolve_model

    try:
        summary = model_summary(resolve_model(identifier), default_model_name())
    except ModelImportError as exc:
        echo.echo_critical(str(exc))
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    for key, value in summary.items():
        click.echo(f'{key:>13}: {value}')
