"""``aiida-unconmlip setup``: an embedded profile, localhost, the engine and metatrain codes, the shipped models.

Idempotent: everything that exists already is kept as it is.
"""

from __future__ import annotations

import shutil
import sys
from contextlib import suppress
from pathlib import Path

import click
from aiida.cmdline.utils import echo

from ..engine.warm import WarmEngineUnavailable
from .sqlite_journal import ensure_write_ahead_log
from .warm_engine import command_line_key, remember, warm_engine_prepend_text

DEFAULT_PROFILE = 'unconmlip'
# How long `verdi daemon stop/restart` waits for the daemon: AiiDA's 2 s default is too short while a job runs (the stop
# took 8.1 to 9.6 s with a relaxation job running on the 2-core development machine, and `restart` then left the
# daemon down: "Stopping the daemon... FAILED").
DAEMON_TIMEOUT_SECONDS = 60
ENGINE_CODE_LABEL = 'unconmlip-engine'
TRAIN_CODE_LABEL = 'mtt'
COMPUTER_LABEL = 'localhost'
# How often the daemon asks the process table whether a local job finished: a poll is one ``ps`` without a login
# shell. A foreground run polls a job once and then watches its process (cli/local_jobs.py).
LOCAL_POLL_SECONDS = 0.2
# How long the warm engine process of this machine stays after its last job (engine/warm.py): the jobs of one run
# share it, and it is gone a few minutes after the run.
WARM_ENGINE_SECONDS = 300


def environment_executable(name: str) -> Path:
    """A console script of the running Python environment (``unconmlip-engine``, metatrain's ``mtt``)."""
    beside_python = Path(sys.executable).parent / name
    if beside_python.is_file():
        return beside_python
    found = shutil.which(name)
    if found is None:
        raise click.ClickException(f'{name} is not installed in this environment: pip install aiida-unconmlip')
    return Path(found)


def profile_named_on_the_group() -> str | None:
    """The profile of ``aiida-unconmlip -p NAME setup``, where ``-p`` was typed (not the default profile)."""
    from aiida.manage import get_manager

    root = click.get_current_context().find_root()
    if root.get_parameter_source('profile') is not click.core.ParameterSource.COMMANDLINE:
        return None
    return get_manager().get_profile().name


def ensure_profile(name: str):
    """Load profile ``name``, creating it with SQLite storage and the built-in ZeroMQ broker if absent."""
    from aiida.manage.configuration import create_profile, get_config, load_profile
    from aiida.plugins import BrokerFactory

    config = get_config(create=True)
    if name not in config.profile_names:
        profile = create_profile(
            config,
            name=name,
            email='unconmlip@localhost',
            storage_backend='core.sqlite_dos',
            storage_config={},
            broker_backend='core.zeromq',
            broker_config=BrokerFactory('core.zeromq').get_default_config(),
        )
        config.set_option('runner.poll.interval', 1, scope=profile.name)
        echo.echo_success(f'created profile `{name}` (SQLite storage, ZeroMQ broker) in {config.dirpath}')
    else:
        echo.echo_report(f'profile `{name}` exists in {config.dirpath}')
    if 'daemon.timeout' not in config.get_profile(name).options:  # a value of the user's stays
        config.set_option('daemon.timeout', DAEMON_TIMEOUT_SECONDS, scope=name)
    if config.default_profile_name is None or name == DEFAULT_PROFILE:
        config.set_default_profile(name, overwrite=True)
    config.store()
    return load_profile(name, allow_switch=True)


def ensure_storage_journal(profile) -> None:
    """An SQLite-stored profile's database in write-ahead-log mode, where its filesystem allows it."""
    from aiida.manage import get_manager
    from aiida.storage.sqlite_dos.backend import SqliteDosStorage

    storage = get_manager().get_profile_storage()
    if isinstance(storage, SqliteDosStorage):
        mode = ensure_write_ahead_log(storage.filepath_database)
        echo.echo_report(f'profile `{profile.name}`: SQLite journal mode {mode}')


def ensure_localhost(profile_name: str, config_dirpath: str):
    """The ``localhost`` computer (core.local transport, core.direct scheduler)."""
    from aiida.common.exceptions import NotExistent
    from aiida.orm import Computer

    try:
        computer = Computer.collection.get(label=COMPUTER_LABEL)
        echo.echo_report(f'computer `{COMPUTER_LABEL}` exists')
    except NotExistent:
        computer = Computer(
            label=COMPUTER_LABEL,
            hostname='localhost',
            description='This machine, set up by aiida-unconmlip',
            transport_type='core.local',
            scheduler_type='core.direct',
            workdir=str(Path(config_dirpath) / 'scratch' / profile_name),
        ).store()
        computer.set_minimum_job_poll_interval(LOCAL_POLL_SECONDS)
        computer.set_default_mpiprocs_per_machine(1)
        echo.echo_success(f'created computer `{COMPUTER_LABEL}`')
    if not computer.is_configured:
        # No login shell: sourcing the login files took 0.15 s of each of the ~20 commands of a phonon run here.
        computer.configure(safe_interval=0, use_login_shell=False)
    return computer


def ensure_code(computer, label: str, executable: Path, plugin: str, description: str, prepend_text: str = ''):
    """The code ``label@computer`` running ``executable`` (created if absent; a different executable is reported)."""
    from aiida.orm import InstalledCode

    candidates = InstalledCode.collection.find(filters={'label': label})
    existing = next((code for code in candidates if code.computer.pk == computer.pk), None)
    if existing is not None:
        if str(existing.filepath_executable) != str(executable):
            echo.echo_warning(
                f'code `{existing.full_label}` runs {existing.filepath_executable}, '
                f'not the one of this environment ({executable})'
            )
        else:
            echo.echo_report(f'code `{existing.full_label}` exists')
        return existing
    code = InstalledCode(
        computer=computer,
        filepath_executable=str(executable),
        label=label,
        description=description,
        default_calc_job_plugin=plugin,
        prepend_text=prepend_text,
    ).store()
    echo.echo_success(f'created code `{code.full_label}` ({executable})')
    return code


def setup_dft(computer) -> None:
    """pw.x and ph.x codes and the pseudopotential family (Quantum ESPRESSO from Debian)."""
    try:
        from ..dft.codes import DftSetupError, ensure_dft_codes, ensure_pseudo_family
    except ImportError:
        echo.echo_critical('the DFT part needs the dft extra: pip install aiida-unconmlip[dft]')
    try:
        codes = ensure_dft_codes(computer)
        family = ensure_pseudo_family()
    except DftSetupError as exc:
        echo.echo_critical(str(exc))
    echo.echo_report(
        f'DFT codes: {", ".join(code.full_label for code in codes.values())}; '
        f'pseudopotential family `{family.label}` ({", ".join(family.elements)})'
    )


@click.command('setup')
@click.option(
    '--profile',
    'profile_name',
    help=f'Profile to use; created with embedded services (SQLite, ZeroMQ) if it does not exist. Default: the one '
    f'`aiida-unconmlip -p NAME setup` names, else `{DEFAULT_PROFILE}`.',
)
@click.option('--with-dft', is_flag=True, help='Also register pw.x and ph.x and install the pseudopotential family.')
def setup(profile_name: str, with_dft: bool):
    """Prepare a profile: embedded services, localhost, the engine code and the shipped models."""
    from ..data.model import ModelImportError
    from ..models.importing import import_shipped_models

    profile = ensure_profile(profile_name or profile_named_on_the_group() or DEFAULT_PROFILE)
    ensure_storage_journal(profile)
    from aiida.manage.configuration import get_config

    computer = ensure_localhost(profile.name, get_config().dirpath)
    ensure_code(
        computer,
        ENGINE_CODE_LABEL,
        environment_executable('unconmlip-engine'),
        'unconmlip.evaluate',
        'aiida-unconmlip compute-node engine; its jobs share a warm engine process of this machine',
        prepend_text=warm_engine_prepend_text(WARM_ENGINE_SECONDS),
    )
    if profile.name == get_config().default_profile_name:  # so the first run without --code starts it ahead too
        with suppress(WarmEngineUnavailable, OSError):
            remember(str(WARM_ENGINE_SECONDS), command_line_key([]))
    ensure_code(computer, TRAIN_CODE_LABEL, environment_executable('mtt'), 'unconmlip.train', 'metatrain (mtt)')
    try:
        models = import_shipped_models()
    except ModelImportError as exc:
        echo.echo_critical(str(exc))
    echo.echo_report('models: ' + ', '.join(f'{node.model_name} (PK {node.pk})' for node in models))
    if with_dft:
        setup_dft(computer)
    echo.echo_success(f'profile `{profile.name}` is ready; start the daemon with: verdi -p {profile.name} daemon start')
