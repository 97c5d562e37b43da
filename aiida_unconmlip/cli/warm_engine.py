"""Start the warm engine process of a foreground run on this machine before its first job (see
:mod:`aiida_unconmlip.engine.warm`): torch and the libraries load while the run imports its work chain and stores
its inputs. Only for a code on this machine (``core.local``) whose ``prepend_text`` asks for a warm engine process.

Which code a run uses is in the database, which takes a second to reach. A command line that ran such a code before
(same ``AIIDA_PATH``, ``--profile``, ``--code`` and ``--computer``) starts the warm process as the command starts,
before AiiDA is imported: the start then overlaps the imports too. ``aiida-unconmlip setup`` remembers the command
line without those options for the engine code it creates, so a first run starts it ahead as well. Should the code
have changed since, the run finds out once it has loaded the code, forgets the command line, and the warm process
leaves unused after its idle time."""

from __future__ import annotations

import hashlib
import json
import os
import re
from contextlib import suppress
from pathlib import Path

from ..engine.warm import WARM_SECONDS_VARIABLE, WarmEngineUnavailable, endpoint_folder, start_ahead

ASKS_FOR_WARM_ENGINE = re.compile(rf'\bexport\s+{WARM_SECONDS_VARIABLE}=(\S+)')
RUN_COMMANDS = frozenset({'phonons', 'relax', 'evaluate', 'kappa', 'qha'})  # the commands that run engine jobs
CODE_OPTIONS = ('-p', '--profile', '--code', '--computer')  # the options that decide a run's code

# The key of this process's command line, set by start_ahead_as_before (``None`` when not run from a command line).
_command_line_key: str | None = None


def warm_engine_prepend_text(seconds: int) -> str:
    """The ``prepend_text`` of a code whose jobs share a warm engine process that stays ``seconds`` after the last."""
    return f'export {WARM_SECONDS_VARIABLE}={seconds}'


def code_options(argv: list[str]) -> dict[str, str]:
    """The values of :data:`CODE_OPTIONS` on a command line (``--code X`` or ``--code=X``)."""
    values, words = {}, iter(argv)
    for word in words:
        name, equals, value = word.partition('=')
        if name in CODE_OPTIONS:
            values[name] = value if equals else next(words, '')
    return values


def last_run_file(key: str) -> Path:
    """Where the warm seconds of the code that the command line ``key`` used last are kept."""
    return endpoint_folder() / f'last-run-{key}'


def command_line_key(argv: list[str]) -> str:
    """What decides the code of a run from a command line: ``AIIDA_PATH`` and the options of :data:`CODE_OPTIONS`."""
    options = json.dumps([os.environ.get('AIIDA_PATH', ''), sorted(code_options(argv).items())])
    return hashlib.sha256(options.encode()).hexdigest()[:20]


def start_ahead_as_before(command: str | None, argv: list[str]) -> None:
    """At the start of a command, before AiiDA is imported: start the warm engine process if this command line's
    last run used a code that asks for one."""
    global _command_line_key
    if command not in RUN_COMMANDS or '--daemon' in argv or '--help' in argv:
        return
    _command_line_key = command_line_key(argv)
    with suppress(ValueError, WarmEngineUnavailable, OSError):  # no such run before; or the run starts it later
        seconds = last_run_file(_command_line_key).read_text()
        start_ahead(float(seconds), {**os.environ, WARM_SECONDS_VARIABLE: seconds})


def start_warm_engine_ahead(code) -> None:
    """Start the warm engine process the jobs of ``code`` will use; nothing if the code does not use one. The command
    line remembers the answer for its next run."""
    local = code.computer.transport_type == 'core.local'
    match = ASKS_FOR_WARM_ENGINE.search(code.prepend_text or '') if local else None
    with suppress(WarmEngineUnavailable, OSError):
        remember(match[1] if match else None)
    if match is None:
        return
    with suppress(ValueError, WarmEngineUnavailable, OSError):  # then the first job starts it, or says why not
        start_ahead(float(match[1]), {**os.environ, WARM_SECONDS_VARIABLE: match[1]})


def remember(seconds: str | None, key: str | None = None) -> None:
    """Keep (or forget) the warm seconds of the code of a command line (``key``; by default this process's)."""
    key = key or _command_line_key
    if key is None:
        return
    file = last_run_file(key)
    if seconds is None:
        file.unlink(missing_ok=True)
    elif not file.is_file() or file.read_text() != seconds:
        file.write_text(seconds)
