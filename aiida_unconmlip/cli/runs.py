"""``aiida-unconmlip phonons|relax|evaluate``: launch runs from structure files with the usual options."""

from __future__ import annotations

import json

import click
from aiida.cmdline.utils import decorators

from ..engine.restoration import DEFAULT_FORCES_MODE, DEFAULT_SYMPREC, FORCES_MODES
from . import params
from .launch import launch
from .warm_engine import start_warm_engine_ahead


def rotational_average(l_max: int) -> dict | bool:
    """The restoration value of ``--rotational-average L`` (0 switches it off). Inversion comes with it, the O(3)
    average of metatomic's ``SymmetrizedCalculator``; a Python launch may set ``inversion: false``."""
    return {'l_max': l_max, 'inversion': True} if l_max else False


def run_from_protocol(
    entry_point: str,
    structure,
    model,
    protocol,
    overrides,
    job_options,
    code,
    computer,
    daemon,
    as_json,
    nac=None,
    **builder_options,
) -> None:
    """Build the work chain of ``entry_point`` from its protocol (errors of the input in one line), launch, print the
    summary; ``builder_options`` go to its ``get_builder_from_protocol`` (``relax=False`` for those that relax),
    ``nac`` (``--born``, ``--nac-method``) to its phonon runs.

    A foreground run starts the warm engine process of its code first, which then imports torch while the work
    chain's modules are imported here and its inputs stored."""
    from aiida.plugins import WorkflowFactory

    engine_code = params.resolve_code(code, computer)
    if not daemon:
        start_warm_engine_ahead(engine_code)
    process_class = WorkflowFactory(entry_point)
    structure = params.load_structure(structure)
    with params.clear_errors():
        builder = process_class.get_builder_from_protocol(
            engine_code,
            structure,
            params.resolve_model_option(model),
            protocol=protocol,
            overrides=overrides,
            options=job_options or None,
            **builder_options,
        )
    if nac is not None:  # the QHA's phonon runs take the charges in its `phonons` namespace, the others in their own
        phonon_inputs = builder if 'born_charges' in process_class.spec().inputs else builder.phonons
        symprec = phonon_inputs.symprec.value if 'symprec' in phonon_inputs else DEFAULT_SYMPREC
        phonon_inputs.update(params.born_charges_inputs(nac, structure, symprec))
    node = launch(builder, daemon, as_json)
    if node is not None:
        print_summary(node, as_json)


def print_summary(node, as_json: bool) -> None:
    from ..summaries import summarize

    summary = summarize(node)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        from .show import echo_summary

        echo_summary(summary)


@click.command('phonons')
@click.argument('structure')
@params.MODEL
@params.PROTOCOL
@params.ROTATIONAL_AVERAGE
@click.option('--no-relax', is_flag=True, help='Skip the relaxation.')
@click.option('--supercell', nargs=3, type=int, help='Supercell repetitions of the standardised cell, e.g. 3 3 3.')
@click.option('--min-length', type=float, help='Minimum supercell vector length (A), instead of the protocol value.')
@params.SUPERCELL_SHAPE
@params.SYMPREC
@click.option('--n-chunks', type=click.IntRange(1), help='Split the displaced supercells into this many evaluate jobs.')
@click.option(
    '--random-displacements',
    type=click.IntRange(1),
    help='N random displacement snapshots (each with its opposite) and symfc, instead of symmetry-reduced ones.',
)
@click.option(
    '--max-supercell-atoms',
    type=click.IntRange(1),
    help='Largest supercell accepted, in atoms (default: displacements.max_supercell_atoms of the protocol).',
)
@params.nac_options
@params.run_options
@decorators.with_dbenv()
def phonons(
    structure,
    model,
    protocol,
    l_max,
    no_relax,
    supercell,
    min_length,
    supercell_shape,
    symprec,
    n_chunks,
    random_displacements,
    max_supercell_atoms,
    nac,
    job_options,
    code,
    computer,
    daemon,
    as_json,
):
    """Phonons of STRUCTURE (a CIF/POSCAR/extxyz file or a StructureData PK)."""
    overrides = {}
    if supercell:
        overrides['displacements'] = {
            'supercell_matrix': [[supercell[0], 0, 0], [0, supercell[1], 0], [0, 0, supercell[2]]]
        }
    if min_length is not None:
        overrides.setdefault('displacements', {})['min_length'] = min_length
    if supercell_shape is not None:
        overrides.setdefault('displacements', {})['supercell_shape'] = supercell_shape
    if symprec is not None:
        overrides['symprec'] = symprec
    if n_chunks is not None:
        overrides['n_chunks'] = n_chunks
    if random_displacements is not None:
        overrides.setdefault('displacements', {}).update(random_snapshots=random_displacements, random_seed=0)
        overrides['force_constants'] = {'method': 'symfc'}
    if max_supercell_atoms is not None:
        overrides.setdefault('displacements', {})['max_supercell_atoms'] = max_supercell_atoms
    if l_max is not None:
        overrides['restoration'] = {'rotational_average': rotational_average(l_max)}
    run_from_protocol(
        'unconmlip.phonons', structure, model, protocol, overrides, job_options, code, computer, daemon, as_json,
        nac=nac, relax=not no_relax,
    )  # fmt: skip


@click.command('relax')
@click.argument('structure')
@params.MODEL
@params.PROTOCOL
@params.ROTATIONAL_AVERAGE
@params.run_options
@decorators.with_dbenv()
def relax(structure, model, protocol, l_max, job_options, code, computer, daemon, as_json):
    """Relax STRUCTURE (positions and cell, FixSymmetry on)."""
    overrides = {}
    if l_max is not None:
        overrides['relax'] = {'restoration': {'rotational_average': rotational_average(l_max)}}
    run_from_protocol(
        'unconmlip.relax', structure, model, protocol, overrides, job_options, code, computer, daemon, as_json
    )


@click.command('evaluate')
@click.argument('structures')
@params.MODEL
@params.ROTATIONAL_AVERAGE
@click.option('--forces-mode', type=click.Choice(FORCES_MODES), default=DEFAULT_FORCES_MODE, show_default=True)
@click.option('--dtype', type=click.Choice(['float32', 'float64']), help="Default: the model's own precision.")
@params.run_options
@decorators.with_dbenv()
def evaluate(structures, model, l_max, forces_mode, dtype, job_options, code, computer, daemon, as_json):
    """Energies, forces and stresses of every structure in STRUCTURES (any file ASE reads, all frames)."""
    from aiida.orm import Dict

    from ..calcjobs.evaluate import EvaluateCalculation
    from ..data import StructureSetData

    builder = EvaluateCalculation.get_builder()
    builder.code = params.resolve_code(code, computer)
    if not daemon:
        start_warm_engine_ahead(builder.code)
    builder.model = params.resolve_model_option(model)
    builder.structures = StructureSetData.from_ase(params.load_structures(structures))
    builder.restoration = Dict({'forces_mode': forces_mode, 'rotational_average': rotational_average(l_max or 0)})
    builder.settings = Dict({'dtype': dtype} if dtype else {})
    builder.metadata.options = job_options
    node = launch(builder, daemon, as_json)
    if node is not None:
        print_summary(node, as_json)
