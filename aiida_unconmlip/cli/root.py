"""The ``aiida-unconmlip`` command group."""

from __future__ import annotations

import click
from aiida.cmdline.groups.verdi import VerdiCommandGroup
from aiida.cmdline.params import options, types

from .beyond_harmonic import kappa, qha
from .dataset import dataset
from .export import export
from .models import models
from .runs import evaluate, phonons, relax
from .setup import setup
from .show import plot, provenance, show
from .templates import computer_template
from .validate import validate


@click.group('aiida-unconmlip', cls=VerdiCommandGroup, context_settings={'help_option_names': ['-h', '--help']})
@options.VERBOSITY()
@options.PROFILE(type=types.ProfileParamType(load_profile=True), expose_value=False)
def cmd_root():
    """Lattice dynamics with unconstrained machine-learned potentials, with symmetry restoration on record."""


COMMANDS = (
    setup,
    models,
    dataset,
    phonons,
    kappa,
    qha,
    relax,
    evaluate,
    validate,
    show,
    provenance,
    plot,
    export,
    computer_template,
)
for command in COMMANDS:
    cmd_root.add_command(command)
