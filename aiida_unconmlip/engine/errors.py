"""Errors the engine reports to whoever launched it: the one list of them, with their exit statuses.

Each error has a stable ``code``, which the engine writes to ``error.json`` (part of the folder contract, see
:mod:`aiida_unconmlip.engine.io`), and the ``exit_status`` and ``summary`` of the CalcJob exit code ``ERROR_<code>``
that the AiiDA side defines from this list, so the two cannot drift apart.
"""

from __future__ import annotations

# The engine's own exit statuses (the CalcJob reads error.json for the exit code itself).
EXIT_CRASH = 1
EXIT_ENGINE_ERROR = 2


class EngineError(Exception):
    """An expected failure with a message that says what to fix (concrete errors are the subclasses)."""

    code: str = ''
    exit_status: int = 0
    summary: str = ''


class EngineCrash(EngineError):
    """An unexpected exception: the traceback is in error.json and the engine's stderr."""

    code = 'ENGINE_CRASH'
    exit_status = 301
    summary = 'The engine crashed'


class InvalidJob(EngineError):
    """The input folder or its settings are malformed."""

    code = 'INVALID_JOB'
    exit_status = 302
    summary = 'The engine refused the job'


class ModelHashMismatch(EngineError):
    """The model file is not the file the caller asked for."""

    code = 'MODEL_HASH_MISMATCH'
    exit_status = 310
    summary = 'Model hash mismatch'


class ModelUnreadable(EngineError):
    """The model file exists but cannot be loaded by its backend."""

    code = 'MODEL_UNREADABLE'
    exit_status = 311
    summary = 'The model could not be loaded'


class UnsupportedCapability(EngineError):
    """The model lacks an output that the requested restoration needs (e.g. direct forces)."""

    code = 'UNSUPPORTED_CAPABILITY'
    exit_status = 312
    summary = 'The model cannot do what was asked'


class UnsupportedElement(EngineError):
    """A structure contains an element the model was not trained for."""

    code = 'UNSUPPORTED_ELEMENT'
    exit_status = 320
    summary = 'Element not supported by the model'


class InvalidStructure(EngineError):
    """A structure is empty, has non-finite coordinates or overlapping atoms."""

    code = 'INVALID_STRUCTURE'
    exit_status = 321
    summary = 'Invalid structure'


class NonFiniteOutput(EngineError):
    """The model returned NaN or infinite values."""

    code = 'NON_FINITE_OUTPUT'
    exit_status = 330
    summary = 'NaN or infinite model output'


class OutOfMemory(EngineError):
    """A single structure does not fit on the device even alone."""

    code = 'OUT_OF_MEMORY'
    exit_status = 340
    summary = 'Out of device memory after splitting batches'


def engine_errors() -> list[type[EngineError]]:
    """Every concrete engine error, by exit status."""
    found, pending = [], list(EngineError.__subclasses__())
    while pending:
        error = pending.pop()
        found.append(error)
        pending.extend(error.__subclasses__())
    return sorted(found, key=lambda error: error.exit_status)
