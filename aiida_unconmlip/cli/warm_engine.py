"""Start the warm engine process of a foreground run on this machine before its first job (see
:mod:`aiida_unconmlip.engine.warm`): torch and the libraries load while the run imports its work chain and stores
its inputs. Only for a code on this machine (``core.local``) whose ``prepend_text`` asks for a warm engine process."""

from __future__ import annotations

import os
import re
from contextlib import suppress

from ..engine.warm import WARM_SECONDS_VARIABLE, WarmEngineUnavailable, start_ahead

ASKS_FOR_WARM_ENGINE = re.compile(rf'\bexport\s+{WARM_SECONDS_VARIABLE}=(\S+)')


def warm_engine_prepend_text(seconds: int) -> str:
    """The ``prepend_text`` of a code whose jobs share a warm engine process that stays ``seconds`` after the last."""
    return f'export {WARM_SECONDS_VARIABLE}={seconds}'


def start_warm_engine_ahead(code) -> None:
    """Start the warm engine process the jobs of ``code`` will use; nothing if the code does not use one."""
    if code.computer.transport_type != 'core.local':
        return
    match = ASKS_FOR_WARM_ENGINE.search(code.prepend_text or '')
    if match is None:
        return
    with suppress(ValueError, WarmEngineUnavailable, OSError):  # then the first job starts it, or says why not
        start_ahead(float(match[1]), {**os.environ, WARM_SECONDS_VARIABLE: match[1]})
