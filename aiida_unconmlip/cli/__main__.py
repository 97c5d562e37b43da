"""Console script ``aiida-unconmlip``."""

from __future__ import annotations

import atexit
import gc
import sys

from .config_dir import resolve_aiida_path
from .warm_engine import start_ahead_as_before


def _subcommand(argv: list[str]) -> str | None:
    """The first word that is not an option (options of the root group take no value except -p/--profile)."""
    skip_next = False
    for word in argv:
        if skip_next:
            skip_next = False
        elif word in ('-p', '--profile'):
            skip_next = True
        elif not word.startswith('-'):
            return word
    return None


def main() -> None:
    # Registered first, so run last: the objects left are freed without the garbage collector walking them all again
    # as the interpreter tears its modules down, which took 0.4 s after a phonon run.
    atexit.register(gc.freeze)
    command = _subcommand(sys.argv[1:])
    resolve_aiida_path(command)
    start_ahead_as_before(command, sys.argv[1:])
    from .root import cmd_root  # AiiDA reads AIIDA_PATH when first imported

    cmd_root()


if __name__ == '__main__':
    main()
