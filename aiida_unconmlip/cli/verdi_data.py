"""``verdi data unconmlip``: the model commands inside ``verdi``."""

from __future__ import annotations

import click

from .models import models_import, models_list, models_register_remote, models_rename, models_show


@click.group('unconmlip')
def unconmlip():
    """Models of aiida-unconmlip: list, import, show, rename."""


for command in (models_list, models_import, models_show, models_rename, models_register_remote):
    unconmlip.add_command(command)
