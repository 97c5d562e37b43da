"""How many child jobs or work chains a work chain runs at once: the one rule for evaluate chunks and QHA volumes."""

from __future__ import annotations

from typing import TypeVar

from aiida import orm

Item = TypeVar('Item')


def wave_size(computer: orm.Computer, given: orm.Int | None, total: int) -> int:
    """``given`` where the user chose; else one on a computer without a queue (``core.direct``), where jobs started
    together share the same cores or device and only slow each other, and all ``total`` where a queue decides."""
    if given is not None:
        return given.value
    return 1 if computer.scheduler_type == 'core.direct' else total


def next_wave(pending: list[Item], size: int) -> tuple[list[Item], list[Item]]:
    """The items to launch now and those left for later waves."""
    return pending[:size], pending[size:]
