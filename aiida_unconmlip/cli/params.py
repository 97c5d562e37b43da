"""How the commands read what users type: structures, models, codes. Every failure is one clear line."""

from __future__ import annotations

import functools
import json
from contextlib import contextmanager
from pathlib import Path

import click

from ..engine.restoration import MAX_L
from ..phonons.parameters import NAC_METHODS

INPUT_REFUSED = 1  # the exit status --json reports when the input was refused before anything was launched


@contextmanager
def clear_errors():
    """Invalid inputs (unknown protocol, rejected override, bad Dict value) become one line, not a traceback."""
    try:
        yield
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def load_structures(value: str) -> list:
    """ASE structures from a file (CIF, POSCAR, extxyz, anything ASE reads; ``file@INDEX`` picks some, as in ASE) or
    from a StructureData PK/UUID."""
    from ..structure_files import read_structure_file, split_index

    path, index = split_index(value)
    if path.is_file():
        with clear_errors():
            return read_structure_file(path, index)
    if path.suffix or '/' in value:
        raise click.ClickException(f'structure file {value} does not exist')
    from aiida.common import exceptions
    from aiida.orm import StructureData, load_node

    try:
        node = load_node(value)
    except (exceptions.NotExistent, exceptions.MultipleObjectsError, ValueError) as exc:
        raise click.ClickException(f'`{value}` is neither a structure file nor a node PK/UUID') from exc
    if not isinstance(node, StructureData):
        raise click.ClickException(f'node {value} is a {type(node).__name__}, not a StructureData')
    return [node.get_ase()]


def load_structure(value: str):
    """The one structure ``value`` names, as a StructureData: a file with several is refused, not read as its
    first (say which with ``file@INDEX``)."""
    from aiida.orm import StructureData

    structures = load_structures(value)
    if len(structures) > 1:
        raise click.ClickException(
            f'{value} holds {len(structures)} structures; name the one to compute as {value}@INDEX '
            f'(0 to {len(structures) - 1}, as ASE numbers them)'
        )
    return StructureData(ase=structures[0])


def resolve_model_option(value: str | None):
    """The model node named by ``--model``, or the registry's default model."""
    from ..data.model import ModelImportError
    from ..models import default_model_name
    from ..models.resolve import resolve_model

    try:
        return resolve_model(value or default_model_name())
    except ModelImportError as exc:
        if value is None:
            raise click.ClickException(
                f'the default model `{default_model_name()}` is not in this profile: run `aiida-unconmlip setup` '
                '(it imports the shipped models) or give --model'
            ) from exc
        raise click.ClickException(str(exc)) from exc


def resolve_code(code: str | None, computer: str | None):
    """The engine code: ``--code`` as given, else ``unconmlip-engine`` on ``--computer`` (default localhost)."""
    from aiida.common import exceptions
    from aiida.orm import load_code

    label = code or f'unconmlip-engine@{computer or "localhost"}'
    try:
        return load_code(label)
    except (exceptions.NotExistent, exceptions.MultipleObjectsError) as exc:
        raise click.ClickException(f'no code `{label}`: run `aiida-unconmlip setup` or give --code') from exc


MODEL = click.option(
    '--model',
    help='Registered name, model PK/UUID, model file, or ase:<import.path.Calculator>. Default: the embedded model.',
)
PROTOCOL = click.option(
    '--protocol',
    default='moderate',
    show_default=True,
    help="fast, moderate or precise; kappa and relax also matbench (Matbench Discovery's kappa recipe).",
)
SYMPREC = click.option(
    '--symprec',
    type=click.FloatRange(min=0, min_open=True),
    help='Symmetry tolerance (A) of spglib, phonopy and the relaxation (default: the protocol value, 1e-5).',
)
SUPERCELL_SHAPE = click.option(
    '--supercell-shape',
    type=click.Choice(['diagonal', 'isotropic']),
    help='From --min-length: diagonal repeats of the standardised cell (the default), or the smallest supercell, '
    'non-diagonal where that is smaller, whose periodic images are all --min-length apart.',
)
# Rotated copies of each structure above which a rotational average needs --accept-cost: l_max 7 (780 copies) runs as
# asked, l_max 8 (1292) and up say so first. The precise protocol's l_max 3 is 84 copies.
ROTATED_COPIES_WITHOUT_CONFIRMATION = 1000


def rotated_copies(l_max: int) -> int:
    """How many times the rotational average up to ``l_max`` (with inversion) evaluates each structure."""
    from ..engine.rotations import rotation_quadrature

    return len(rotation_quadrature(l_max, inversion=True).weights)


def ROTATIONAL_AVERAGE(command):
    """``--rotational-average L`` and ``--accept-cost``: an average that multiplies the model's work by more than
    :data:`ROTATED_COPIES_WITHOUT_CONFIRMATION` says so and runs only when confirmed."""

    @functools.wraps(command)
    def checked(*args, l_max: int | None = None, accept_cost: bool = False, **kwargs):
        copies = rotated_copies(l_max) if l_max else 1
        if copies > ROTATED_COPIES_WITHOUT_CONFIRMATION:
            cost = f'--rotational-average {l_max} evaluates each structure {copies} times (rotated copies)'
            if not accept_cost:
                raise click.ClickException(
                    f'{cost}, {copies} times the model work of the plain run: give --accept-cost to run it, or a '
                    f'lower L (3 is 84 copies, what the precise protocol uses)'
                )
            click.echo(f'{cost}: {copies} times the model work of the plain run', err=True)
        return command(*args, l_max=l_max, **kwargs)

    checked = click.option(
        '--accept-cost',
        is_flag=True,
        help=f'Run a rotational average of more than {ROTATED_COPIES_WITHOUT_CONFIRMATION} copies per structure.',
    )(checked)
    return click.option(
        '--rotational-average',
        'l_max',
        type=click.IntRange(0, MAX_L),
        help='Rotational average up to this l_max, with inversion (0: off); above l_max 7 with --accept-cost.',
    )(checked)


def walltime_seconds(_ctx, _param, value: str | None) -> int | None:
    """``3600``, ``90:00`` or ``1:30:00`` (as sbatch --time writes it) in seconds."""
    if value is None:
        return None
    try:
        parts = [int(part) for part in value.split(':')]
    except ValueError:
        raise click.BadParameter(f'`{value}` is not seconds or [[H:]M:]S') from None
    if not 1 <= len(parts) <= 3 or any(part < 0 for part in parts) or not any(parts):
        raise click.BadParameter(f'`{value}` is not a positive time in seconds or [[H:]M:]S')
    seconds = 0
    for part in parts:
        seconds = 60 * seconds + part
    return seconds


GPUS = click.option('--gpus', type=click.IntRange(0), help='GPUs per node requested from the scheduler.')
QUEUE = click.option('--queue', help='Scheduler queue (partition) of the jobs.')
ACCOUNT = click.option('--account', help='Scheduler account the jobs are charged to.')
WALLTIME = click.option(
    '--walltime', callback=walltime_seconds, help='Time limit of each job: seconds, or [[H:]M:]S as sbatch takes it.'
)
CODE = click.option('--code', help='Engine code label (default: unconmlip-engine@<computer>).')
COMPUTER = click.option('--computer', help='Computer of the engine code (default: localhost).')
DAEMON = click.option('--daemon', is_flag=True, help='Submit to the daemon and print the PK instead of waiting.')
JSON = click.option('--json', 'as_json', is_flag=True, help='Print one JSON object (progress goes to stderr).')


def failures_as_json(command):
    """With --json, a refusal before launch is also the one JSON object on stdout (the message stays on stderr)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except click.ClickException as exc:
            if kwargs.get('as_json'):
                payload = {'pk': None, 'uuid': None, 'exit_status': INPUT_REFUSED, 'exit_message': exc.format_message()}
                click.echo(json.dumps(payload))
            raise

    return wrapper


def job_options(command):
    """Gather --gpus, --queue, --account and --walltime into ``job_options``, the jobs' ``metadata.options``."""
    names = {'gpus': 'gpus', 'queue': 'queue_name', 'account': 'account', 'walltime': 'max_wallclock_seconds'}

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        given = {option: kwargs.pop(name) for name, option in names.items()}
        return command(*args, job_options={key: value for key, value in given.items() if value is not None}, **kwargs)

    return wrapper


def run_options(command):
    """The options every run command shares: where and how its jobs run, --daemon, --json."""
    command = failures_as_json(job_options(command))
    for option in reversed((GPUS, QUEUE, ACCOUNT, WALLTIME, CODE, COMPUTER, DAEMON, JSON)):
        command = option(command)
    return command


BORN = click.option(
    '--born',
    'born_source',
    help="phonopy's BORN file of the crystal (dielectric tensor, Born charges of its primitive cell's "
    'symmetry-independent atoms), or the PK/UUID of Born charges in the profile (the born_charges output of '
    'unconmlip.dfpt_reference, so the run links back to ph.x): applies the non-analytical correction (LO-TO '
    'splitting) of a polar crystal.',
)
NAC_METHOD = click.option(
    '--nac-method', type=click.Choice(NAC_METHODS), help=f'With --born: {" or ".join(NAC_METHODS)} (default gonze).'
)


def nac_options(command):
    """--born and --nac-method, gathered into ``nac`` (None without --born) for :func:`born_charges_inputs`."""

    @functools.wraps(command)
    def wrapper(*args, born_source, nac_method, **kwargs):
        if nac_method and not born_source:
            raise click.UsageError('--nac-method needs --born (the Born charges and dielectric tensor)')
        nac = (born_source, nac_method) if born_source else None
        return command(*args, nac=nac, **kwargs)

    return NAC_METHOD(BORN(wrapper))


def born_charges_inputs(nac: tuple, structure, symprec: float) -> dict:
    """The ``born_charges`` and ``nac_method`` inputs of ``nac`` (--born, --nac-method) for ``structure``: a BORN
    file read for it (a new node), or the stored charges the PK/UUID names (whether they fit is checked with the
    other inputs, before anything runs)."""
    from aiida.common import exceptions
    from aiida.orm import Str, load_node

    from ..data import BornChargesData

    source, method = nac
    if Path(source).is_file():
        with clear_errors():
            charges = BornChargesData.from_born_file(Path(source).read_text(), structure, symprec)
    else:
        try:
            charges = load_node(source)
        except (exceptions.NotExistent, exceptions.MultipleObjectsError, ValueError) as exc:
            raise click.ClickException(f'--born {source}: neither a BORN file nor the PK/UUID of a node') from exc
        if not isinstance(charges, BornChargesData):
            raise click.ClickException(
                f'--born {source}: node is a {type(charges).__name__}, not Born charges (BornChargesData)'
            )
    return {'born_charges': charges, **({'nac_method': Str(method)} if method else {})}
