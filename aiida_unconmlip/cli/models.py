"""``aiida-unconmlip models list|import|show|rename`` (also ``verdi data unconmlip``)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from aiida.cmdline.utils import decorators, echo

from ..engine.potentials import BACKENDS


def model_summary(node, default_sha256: str) -> dict:
    """What users want to know about a model node, JSON-ready (``default``: it is the registry's default file)."""
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
        'default': node.sha256 == default_sha256,
    }


def default_sha256() -> str:
    from ..models import default_model_name
    from ..models.names import shipped_sha256

    return shipped_sha256(default_model_name())


@click.group('models')
def models():
    """Model files recorded as nodes: list, import, show, rename."""


@models.command('list')
@click.option('--json', 'as_json', is_flag=True, help='Print JSON.')
@decorators.with_dbenv()
def models_list(as_json: bool):
    """List the models of the profile."""
    from aiida.orm import QueryBuilder
    from tabulate import tabulate

    from ..data.model import ModelData, RemoteModelData

    query = QueryBuilder().append((ModelData, RemoteModelData), tag='model').order_by({'model': {'id': 'asc'}})
    default = default_sha256()
    rows = [model_summary(node, default) for node in query.all(flat=True)]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        echo.echo_report('no models yet: run `aiida-unconmlip setup` or `aiida-unconmlip models import FILE`')
        return
    table = [
        [
            row['pk'],
            (row['name'] or '(no name)') + (' (default)' if row['default'] else ''),
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
@click.option('--name', help='Name to register the model under (default: what the file calls itself, if free).')
@click.option('--replace', is_flag=True, help='Move the name from the model that has it to this file.')
@decorators.with_dbenv()
def models_import(path: Path, backend: str | None, name: str | None, replace: bool):
    """Import a model file under a name; a file already imported gives back its existing node.

    A name belongs to one model: a taken name is refused unless --replace moves it, and the names of the shipped
    models always mean the shipped files.
    """
    from ..data.model import ModelData, ModelImportError
    from ..models.importing import import_model

    existing = ModelData.find_file(path)
    try:
        node = import_model(path, name=name, replace=replace, backend=backend)
    except ModelImportError as exc:
        echo.echo_critical(str(exc))
    if existing is not None:
        echo.echo_report(f'already imported as model `{node.model_name}` (PK {node.pk}), sha256 {node.sha256}')
    else:
        echo.echo_success(f'imported model `{node.model_name}` as PK {node.pk}, sha256 {node.sha256}')


@models.command('register-remote')
@click.argument('path')
@click.option('--code', 'code_label', required=True, help='The engine code on the computer where the file is.')
@click.option('--name', required=True, help='Name to register the model under.')
@click.option('--backend', type=click.Choice(BACKENDS), help='Default: ase for .json specs, else metatomic.')
@decorators.with_dbenv()
def models_register_remote(path: str, code_label: str, name: str, backend: str | None):
    """Record the model file PATH that stays on the computer of CODE (an absolute path there), without copying it.

    The engine on that computer loads the file once to read what it declares and hashes it; every job checks the
    hash again before using the file.
    """
    from aiida.common import exceptions
    from aiida.orm import load_code

    from ..data.model import ModelImportError
    from ..models.remote import register_remote_model

    try:
        node = register_remote_model(load_code(code_label), path, name, backend)
    except (exceptions.NotExistent, exceptions.MultipleObjectsError) as exc:
        echo.echo_critical(f'no code `{code_label}`: {exc}')
    except (ModelImportError, ValueError) as exc:
        echo.echo_critical(str(exc))
    echo.echo_success(
        f'registered model `{node.model_name}` (PK {node.pk}) at {node.computer.label}:{path}, sha256 {node.sha256}'
    )


@models.command('rename')
@click.argument('identifier')
@click.argument('new_name')
@decorators.with_dbenv()
def models_rename(identifier: str, new_name: str):
    """Give the model IDENTIFIER (name, PK, UUID) the name NEW_NAME (shipped models keep theirs)."""
    from ..data.model import ModelImportError
    from ..models.names import claim
    from ..models.resolve import resolve_model

    try:
        node = resolve_model(identifier)
        old = node.model_name
        claim(node, new_name)
    except ModelImportError as exc:
        echo.echo_critical(str(exc))
    echo.echo_success(f'model PK {node.pk} renamed from `{old}` to `{new_name}`')


@models.command('show')
@click.argument('identifier')
@click.option('--json', 'as_json', is_flag=True, help='Print JSON.')
@decorators.with_dbenv()
def models_show(identifier: str, as_json: bool):
    """Show a model given by name, PK, UUID or file path."""
    from ..data.model import ModelImportError
    from ..models.resolve import resolve_model

    try:
        summary = model_summary(resolve_model(identifier), default_sha256())
    except ModelImportError as exc:
        echo.echo_critical(str(exc))
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    for key, value in summary.items():
        click.echo(f'{key:>13}: {value}')
