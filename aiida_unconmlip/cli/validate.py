"""``aiida-unconmlip validate PK``: pw.x spot checks of a finished run, and whether DFT agrees."""

from __future__ import annotations

import json

import click
from aiida.cmdline.utils import decorators

from . import params
from .launch import launch
from .show import load_node_or_fail


def echo_validation(errors: dict) -> None:
    """The numbers a user reads first, and the verdict."""
    forces, stress = errors['forces_mev_per_angstrom'], errors['stress']
    click.echo(f'{errors["structures"]} cells ({errors["atoms"]} atoms) computed by the model and by pw.x')
    if errors['energy_mev_per_atom']:
        click.echo(f'energy per atom (aligned): MAE {errors["energy_mev_per_atom"]["mae"]:.2f} meV')
    click.echo(
        f'forces: MAE {forces["mae"]:.1f}, RMSE {forces["rmse"]:.1f}, max {forces["max"]:.1f} meV/A '
        f'(DFT forces RMS {forces["dft_rms"]:.1f})'
    )
    click.echo(f'stress: MAE {stress["mae_gpa"]:.3f} GPa, max {stress["max_gpa"]:.3f} GPa')
    for pattern in errors['displacement_patterns']:
        line = f'{pattern["name"]}: displaced-atom force ratio model/DFT {pattern["displaced_atom_force_ratio"]:.4f}'
        gamma = pattern['gamma_highest_thz']
        if gamma:
            line += (
                f'; highest Gamma mode {gamma["model"]:.2f} THz against {gamma["dft"]:.2f} ({gamma["error"]:+.2f}, '
                f'{pattern["frequency_error_from_ratio_thz"]:+.2f} from the force ratio)'
            )
        click.echo(f'{line}; largest error at its q-points {pattern["max_frequency_error_thz"]:.2f} THz')
    if errors['dft_gamma_spread_thz'] is not None:
        click.echo(
            f'DFT Gamma across these cells (k-point meshes differ): spread {errors["dft_gamma_spread_thz"]:.2f} THz'
        )
    click.echo(f'verdict: {errors["verdict"]["message"]}')


@click.command('validate')
@click.argument('identifier')
@click.option('--samples', type=click.IntRange(1), help="Structures of the run's own to check (default 4).")
@click.option('--max-atoms', type=click.IntRange(1), help='Largest cell pw.x computes (default 16).')
@click.option('--pw-code', default='pw.x@localhost', show_default=True, help='pw.x code label.')
@click.option('--pseudo-family', help='Pseudopotential family, for a model without DFT training data on record.')
@click.option(
    '--dft-settings', help='pw.x overrides as JSON (as unconmlip.reference_set takes them), with --pseudo-family.'
)
@click.option(
    '--fail-outside-domain',
    is_flag=True,
    help='Fail (exit status 410 of the run, 1 of the command) when outside the domain; `show PK` has the numbers.',
)
@params.DAEMON
@params.JSON
@decorators.with_dbenv()
def validate(
    identifier, samples, max_atoms, pw_code, pseudo_family, dft_settings, fail_outside_domain, daemon, as_json
):
    """Check the finished run IDENTIFIER (phonons, kappa, qha, relax or evaluate) against pw.x on its structures."""
    from aiida.common import exceptions
    from aiida.orm import load_code

    from ..workflows.validate import ValidateWorkChain

    try:
        code = load_code(pw_code)
    except (exceptions.NotExistent, exceptions.MultipleObjectsError) as exc:
        raise click.ClickException(
            f'no code `{pw_code}`: run `aiida-unconmlip setup --with-dft` or give --pw-code'
        ) from exc
    budget = {key: value for key, value in (('samples', samples), ('max_atoms', max_atoms)) if value is not None}
    try:
        dft = json.loads(dft_settings) if dft_settings else None
        builder = ValidateWorkChain.get_builder_from_run(
            load_node_or_fail(identifier), code, budget, pseudo_family, dft, fail_outside_domain
        )
    except (ValueError, json.JSONDecodeError) as exc:
        raise click.ClickException(str(exc)) from exc
    node = launch(builder, daemon, as_json)
    if node is None:
        return
    errors = node.outputs.errors.get_dict()
    if as_json:
        click.echo(json.dumps({'pk': node.pk, 'uuid': node.uuid, **errors}))
    else:
        click.echo(f'{node.process_label}<{node.pk}>')
        echo_validation(errors)
