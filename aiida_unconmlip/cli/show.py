"""``aiida-unconmlip show|provenance|plot``: look at finished runs."""

from __future__ import annotations

import json
from pathlib import Path

import click
from aiida.cmdline.utils import decorators


def load_node_or_fail(identifier: str):
    from aiida.common import exceptions
    from aiida.orm import load_node

    try:
        return load_node(identifier)
    except (exceptions.NotExistent, exceptions.MultipleObjectsError, ValueError) as exc:
        raise click.ClickException(f'no node with PK or UUID `{identifier}`') from exc


def run_state(summary: dict) -> str:
    """``exit status 0`` for a finished run; killed, excepted or still running ones say so, with AiiDA's reason."""
    state = summary.get('state')
    if state in (None, 'finished'):
        return f'exit status {summary["exit_status"]}'
    if state in ('created', 'running', 'waiting'):
        return f'still running ({state}): what it has made so far'
    return f'{state}' + (f': {summary["status"]}' if summary.get('status') else '') + ' (what it made before)'


def echo_summary(summary: dict) -> None:
    """A human-readable rendering of a summary."""
    click.echo(f'{summary["process"]}<{summary["pk"]}>  {run_state(summary)}')
    if 'model' in summary:
        click.echo(f'model: {summary["model"]["name"]} (sha256 {summary["model"]["sha256"][:12]}...)')
    if 'dft' in summary:
        click.echo(f'forces: {summary["dft"]["code"]}, pseudopotentials {summary["dft"]["pseudo_family"]}')
    if 'space_group' in summary:
        click.echo(f'space group: {summary["space_group"]["symbol"]} ({summary["space_group"]["number"]})')
    if 'nac' in summary:
        nac = summary['nac']
        charges = f'Born charges PK {nac["born_charges"]} from {nac["from"]}'
        click.echo(f'non-analytical correction: {nac["method"]}, {charges}')
    if 'supercell' in summary:
        supercell = summary['supercell']
        click.echo(f'supercell: {supercell["matrix"]} of the standardised cell ({supercell["atoms"]} atoms)')
    for label, frequencies in summary.get('bands', {}).get('frequencies_thz', {}).items():
        click.echo(f'  {label:>6}: ' + ' '.join(f'{f:7.3f}' for f in frequencies) + ' THz')
    diagnostics = summary.get('diagnostics')
    if diagnostics:
        click.echo(f'Gamma acoustic (THz): {", ".join(f"{f:.2e}" for f in diagnostics["gamma_acoustic_thz"])}')
        click.echo(f'imaginary modes on the mesh: {diagnostics["imaginary_modes"]["count"]}')
        click.echo(
            f'largest degenerate splitting: {max(diagnostics["degenerate_splitting_thz"].values()):.2e} THz; '
            f'largest star-of-q spread: {max(diagnostics["star_spread_thz"].values()):.2e} THz'
        )
        click.echo(f'space group kept through relaxation: {diagnostics["space_group_kept"]}')
    thermal = summary.get('thermal_properties')
    if thermal:
        units = thermal['units']
        click.echo(
            f'at {thermal["temperature_k"]:.0f} K per {thermal["per"]}: '
            f'free energy {thermal["free_energy"]:.4f} {units["free_energy"]}, '
            f'entropy {thermal["entropy"]:.4f} {units["entropy"]}, '
            f'heat capacity {thermal["heat_capacity"]:.4f} {units["heat_capacity"]}'
        )
    kappa = summary.get('kappa')
    if kappa:
        click.echo(f'kappa ({kappa["unit"]}, {kappa["method"]}, mesh {kappa["mesh"]}):')
        click.echo('       T (K) ' + ' '.join(f'{component:>9}' for component in kappa['voigt_order']))
        for temperature, tensor in zip(kappa['temperatures'], kappa['tensor'], strict=True):
            click.echo(f'  {temperature:10.1f} ' + ' '.join(f'{value:9.3f}' for value in tensor))
    qha = summary.get('qha')
    if qha:
        eos = summary['equation_of_state']
        click.echo(f'static {eos["eos"]} fit: V0 {eos["v0_angstrom3"]:.3f} A^3, B0 {eos["b0_gpa"]:.1f} GPa')
        click.echo('       T (K)   beta (1/K)    B (GPa)   Cp (J/K/mol)')
        for index, temperature in enumerate(qha['temperatures']):
            if temperature % 100 == 0:
                mark = '  extrapolated' if qha['extrapolated'][index] else ''
                click.echo(
                    f'  {temperature:10.1f} {qha["volumetric_thermal_expansion"][index]:12.4e} '
                    f'{qha["bulk_modulus"][index]:10.2f} {qha["heat_capacity_p"][index]:14.3f}{mark}'
                )
    for key in ('energy_ev', 'converged', 'steps', 'space_group_output'):
        if key in summary:
            click.echo(f'{key}: {summary[key]}')
    if 'energies' in summary:
        click.echo('energies (eV): ' + ', '.join(f'{e:.6f}' for e in summary['energies']))
    if 'validation' in summary:
        from .validate import echo_validation

        click.echo(f'checked: {summary["checked"]["process"]}<{summary["checked"]["pk"]}>')
        echo_validation(summary['validation'])
    for check in summary.get('validations', []):
        click.echo(f'validated by ValidateWorkChain<{check["pk"]}>: {check["message"]}')
    timings = summary.get('timings', {})
    line = f'wall time: {timings.get("wall_seconds", 0):.1f} s' + (' so far' if timings.get('so_far') else '')
    if 'engine_seconds' in timings:
        line += f' ({timings["engine_seconds"]:.1f} s in the engine, {timings["overhead_seconds"]:.1f} s around it)'
    click.echo(line)


@click.command('show')
@click.argument('identifier')
@click.option('--json', 'as_json', is_flag=True, help='Print JSON.')
@decorators.with_dbenv()
def show(identifier, as_json):
    """Summary of a finished phonons, kappa (a model's or the DFT yardstick's), qha, relax, evaluate or validate run."""
    from ..summaries import summarize

    try:
        summary = summarize(load_node_or_fail(identifier))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        echo_summary(summary)


@click.command('provenance')
@click.argument('identifier')
@click.option('--json', 'as_json', is_flag=True, help='Print JSON.')
@decorators.with_dbenv()
def provenance(identifier, as_json):
    """The restoration steps, model and input structure behind a result or a run (every record of every step); for
    a validate run also the run it checked and its pw.x calculations."""
    from ..provenance import born_charges_origin, model_origin, restoration_chain

    node = load_node_or_fail(identifier)
    chain = restoration_chain(node)
    if chain.model is None:
        raise click.ClickException(f'node {identifier} was not produced by a model of aiida-unconmlip')
    payload = {
        'model': {
            'name': chain.model.model_name,
            'sha256': chain.model.sha256,
            'pk': chain.model.pk,
            'origin': model_origin(chain.model),
        },
        'structure': {'pk': chain.structure.pk, 'formula': chain.structure.get_formula()} if chain.structure else None,
        'steps': [step.as_dict() for step in chain.steps],
        'born_charges': born_charges_origin(node),
    }
    if getattr(node, 'process_label', None) == 'ValidateWorkChain':
        from ..workflows.validate_steps import checked_run, dft_calculations

        run = checked_run(node)
        payload['checked'] = {'pk': run.pk, 'process': run.process_label}
        payload['dft_calculations'] = [calculation.pk for calculation in dft_calculations(node)]
    if as_json:
        click.echo(json.dumps(payload, indent=2))
        return
    click.echo(f'model: {payload["model"]["name"]} (PK {chain.model.pk}, sha256 {chain.model.sha256[:12]}...)')
    origin = payload['model']['origin']
    if origin['training_job'] is not None:
        pseudos = ', '.join(pseudo['filename'] for pseudo in origin['pseudopotentials']) or 'none on record'
        click.echo(
            f'  trained by job <{origin["training_job"]}> on training set <{origin["training_set"]}>: '
            f'{origin["dft_calculations"]} pw.x calculations, pseudopotentials {pseudos}'
        )
    if chain.structure:
        click.echo(f'structure: {payload["structure"]["formula"]} (PK {chain.structure.pk})')
    for index, step in enumerate(chain.steps, 1):
        click.echo(f'{index}. {step.name} <{step.pk}> {json.dumps(step.parameters)}')
    charges = payload['born_charges']
    if charges:
        origin = f'made by {charges["created_by"]}' if charges['created_by'] else 'from a BORN file'
        pseudos = ', '.join(pseudo['filename'] for pseudo in charges['pseudopotentials'])
        behind = f'; ph.x {charges["ph_calculations"]}, pseudopotentials {pseudos}' if pseudos else ''
        click.echo(f'Born charges: PK {charges["pk"]}, {origin}{behind}')
    if 'checked' in payload:
        click.echo(f'checked: {payload["checked"]["process"]}<{payload["checked"]["pk"]}>')
        click.echo(f'pw.x calculations: {", ".join(map(str, payload["dft_calculations"]))}')


@click.command('plot')
@click.argument('identifier')
@click.option(
    '-o', '--output', type=click.Path(dir_okay=False, path_type=Path), required=True, help='Output file, .png or .pdf.'
)
@click.option('--compare', help='PK of a second phonons run (e.g. without restoration) drawn dashed beneath.')
@decorators.with_dbenv()
def plot(identifier, output, compare):
    """Band structure with the DOS beside it; for a kappa run, kappa(T) and the cumulative kappa; for a qha run, the
    thermal expansion and the Grüneisen parameters."""
    from ..plotting import plot_conductivity, plot_phonons, plot_qha

    if output.suffix.lower() not in ('.png', '.pdf'):
        raise click.ClickException('the output file must end in .png or .pdf')
    node = load_node_or_fail(identifier)
    if getattr(node, 'process_label', None) == 'QhaWorkChain':
        if 'qha' not in node.outputs:
            raise click.ClickException(f'node {node.pk} is not a finished QhaWorkChain')
        title = (
            f'{node.inputs.structure.get_formula()} — {node.inputs.phonons.evaluate.model.model_name} (run {node.pk})'
        )
        click.echo(str(plot_qha(node.outputs.qha, node.outputs.gruneisen, output, title).resolve()))
        return
    if getattr(node, 'process_label', None) in ('ThermalConductivityWorkChain', 'DftThermalConductivityWorkChain'):
        if 'kappa' not in node.outputs:
            raise click.ClickException(f'node {node.pk} is not a finished {node.process_label}')
        source = node.inputs.evaluate.model.model_name if 'evaluate' in node.inputs else 'pw.x'
        title = f'{node.inputs.structure.get_formula()} — {source} (run {node.pk})'
        path = plot_conductivity(node.outputs.kappa, node.outputs.cumulative_kappa, output, title)
        click.echo(str(path.resolve()))
        return

    def phonon_outputs(pk):
        node = load_node_or_fail(pk)
        if getattr(node, 'process_label', None) != 'PhononWorkChain' or 'band_structure' not in node.outputs:
            raise click.ClickException(f'node {pk} is not a finished PhononWorkChain')
        return node

    node = phonon_outputs(identifier)
    second = None
    if compare:
        other = phonon_outputs(compare)
        if other.outputs.band_structure.labels != node.outputs.band_structure.labels:
            raise click.ClickException(
                f'runs {node.pk} and {other.pk} have different band paths; compare runs of one cell'
            )
        second = (other.outputs.band_structure, other.outputs.total_dos, f'run {other.pk}')
    model = node.inputs.evaluate.model.model_name
    title = f'{node.inputs.structure.get_formula()} — {model} (run {node.pk})'
    path = plot_phonons(
        node.outputs.band_structure, node.outputs.total_dos, output, title, second, label=f'run {node.pk}'
    )
    click.echo(str(path.resolve()))
