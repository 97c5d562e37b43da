"""Errors the engine reports to whoever launched it.

Each error has a stable ``code``: the engine writes it to ``error.json`` and the AiiDA parser maps it to an
exit code, so the code strings are part of the folder contract (see :mod:`aiida_unconmlip.engine.io`).
"""

from __future__ import annotations


class EngineError(Exception):
    """An expected failure with a message that says what to fix."""

    code = 'ENGINE_ERROR'


class InvalidJob(EngineError):
    """The input folder or its settings are malformed."""

    code = 'INVALID_JOB'


class ModelHashMismatch(EngineError):
    """The model file is not the file the caller asked for."""

    code = 'MODEL_HASH_MISMATCH'


class ModelUnreadable(EngineError):
    """The model file exists but cannot be loaded by its backend."""

    code = 'MODEL_UNREADABLE'


class UnsupportedCapability(EngineError):
    """The model lacks an output that the requested restoration needs (e.g. direct forces)."""

    code = 'UNSUPPORTED_CAPABILITY'


class UnsupportedElement(EngineError):
    """A structure contains an element the model was not trained for."""

    code = 'UNSUPPORTED_ELEMENT'


class InvalidStructure(EngineError):
    """A structure is empty or has overlapping atoms."""

    code = 'INVALID_STRUCTURE'


class NonFiniteOutput(EngineError):
    """The model returned NaN or infinite values."""

    code = 'NON_FINITE_OUTPUT'


class OutOfMemory(EngineError):
    """A single structure does not fit on the device even alone."""

    code = 'OUT_OF_MEMORY'
