"""How many cores this process may use: shared by the engine and the phonopy steps (no AiiDA, no torch here)."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores this process may run on (its affinity: what a scheduler gave the job)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count() or 1
