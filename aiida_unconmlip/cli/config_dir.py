"""Where ``aiida-unconmlip`` keeps its AiiDA configuration, decided before AiiDA is imported.

``AIIDA_PATH`` wins when set. Otherwise the nearest ``.aiida`` folder holding a ``config.json`` in the current
directory or a parent is used (the project-local profile ``setup`` creates). Otherwise ``setup`` creates
``./.aiida`` and every other command uses AiiDA's own default (``~/.aiida``), where existing profiles live.
"""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_DIR_NAME = '.aiida'


def find_project_config(start: Path) -> Path | None:
    """The nearest folder above ``start`` (inclusive) that contains ``.aiida/config.json``."""
    for folder in (start, *start.parents):
        if (folder / CONFIG_DIR_NAME / 'config.json').is_file():
            return folder
    return None


def resolve_aiida_path(command: str | None) -> None:
    """Set ``AIIDA_PATH`` for this process following the rule in the module docstring."""
    if os.environ.get('AIIDA_PATH'):
        return
    cwd = Path.cwd()
    project = find_project_config(cwd)
    if project is not None:
        os.environ['AIIDA_PATH'] = str(project)
    elif command == 'setup':
        os.environ['AIIDA_PATH'] = str(cwd)
