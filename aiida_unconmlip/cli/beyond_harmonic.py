"""``aiida-unconmlip kappa|qha``: lattice thermal conductivity and quasi-harmonic thermal expansion of a structure
file, with the usual run options."""

from __future__ import annotations

import click
from aiida.cmdline.utils import decorators

from . import params
from .runs import rotational_average, run_from_protocol


def _diagonal(values: tuple[int, int, int] | None) -> list[list[int]] | None:
    return [[values[0], 0, 0], [0, values[1], 0], [0, 0, values[2]]] if values else None


def _temperatures(_ctx, _param, value: str | None) -> list[float] | None:
    """``--temperatures "100 200 300"`` or ``100,200,300`` (K)."""
    if value is None:
        return None
    try:
        temperatures = [float(item) for item in value.replace(',', ' ').split()]
    except ValueError as exc:
        raise click.BadParameter(f'{value!r} is not a list of temperatures in K, e.g. "100 200 300"') from exc
    if not temperatures or min(temperatures) < 0:
        raise click.BadParameter('give one or more temperatures (K), none negative')
    return temperatures


@click.command('kappa')
@click.argument('structure')
@params.MODEL
@params.PROTOCOL
@params.ROTATIONAL_AVERAGE
@click.option('--no-relax', is_flag=True, help='Skip the relaxation.')
@click.option('--supercell', nargs=3, type=int, help='Supercell of the fc3 displacements, e.g. 2 2 2.')
@click.option('--fc2-supercell', nargs=3, type=int, help='Own supercell of the fc2 displacements, e.g. 4 4 4.')
@click.option('--min-length', type=float, help='Minimum fc3 supercell vector length (A), instead of the protocol.')
@params.SUPERCELL_SHAPE
@params.SYMPREC
@click.option('--mesh', nargs=3, type=click.IntRange(1), help='q-point mesh of the conductivity, e.g. 11 11 11.')
@click.option('--temperatures', callback=_temperatures, help='Temperatures (K), e.g. "100 200 300".')
@click.option('--method', type=click.Choice(['rta', 'lbte']), help='Relaxation-time approximation or direct solution.')
@click.option('--smearing', type=float, help='Gaussian width (THz) instead of the tetrahedron method.')
@params.nac_options
@params.run_options
@decorators.with_dbenv()
def kappa(
    structure,
    model,
    protocol,
    l_max,
    no_relax,
    supercell,
    fc2_supercell,
    min_length,
    supercell_shape,
    symprec,
    mesh,
    temperatures,
    method,
    smearing,
    nac,
    job_options,
    code,
    computer,
    daemon,
    as_json,
):
    """Lattice thermal conductivity of STRUCTURE (a CIF/POSCAR/extxyz file or a StructureData PK) with phono3py."""
    displacements = {
        'supercell_matrix': _diagonal(supercell),
        'fc2_supercell_matrix': _diagonal(fc2_supercell),
        'min_length': min_length,
        'supercell_shape': supercell_shape,
    }
    conductivity = {
        'mesh': list(mesh) if mesh else None,
        'temperatures': temperatures,
        'method': method,
        'smearing_thz': smearing,
    }
    overrides = {
        'displacements': {key: value for key, value in displacements.items() if value is not None},
        'conductivity': {key: value for key, value in conductivity.items() if value is not None},
        'symprec': symprec,
    }
    if l_max is not None:
        overrides['restoration'] = {'rotational_average': rotational_average(l_max)}
    overrides = {key: value for key, value in overrides.items() if value is not None and value != {}}
    run_from_protocol(
        'unconmlip.thermal_conductivity', structure, model, protocol, overrides, job_options, code, computer, daemon,
        as_json, nac=nac, relax=not no_relax,
    )  # fmt: skip


@click.command('qha')
@click.argument('structure')
@params.MODEL
@params.PROTOCOL
@params.ROTATIONAL_AVERAGE
@click.option('--no-relax', is_flag=True, help='Skip the first relaxation (the scan is around the given cell).')
@click.option(
    '--volumes', 'n_volumes', type=click.IntRange(5), help='Number of volumes (odd), instead of the protocol.'
)
@click.option('--max-strain', type=float, help='Largest linear strain of the scan (fraction, e.g. 0.01).')
@click.option('--min-length', type=float, help='Minimum supercell vector length (A) of the phonons at each volume.')
@params.SUPERCELL_SHAPE
@params.SYMPREC
@params.nac_options
@params.run_options
@decorators.with_dbenv()
def qha(
    structure,
    model,
    protocol,
    l_max,
    no_relax,
    n_volumes,
    max_strain,
    min_length,
    supercell_shape,
    symprec,
    nac,
    job_options,
    code,
    computer,
    daemon,
    as_json,
):
    """Quasi-harmonic thermal expansion of STRUCTURE (a CIF/POSCAR/extxyz file or a StructureData PK)."""
    volumes = {'n_volumes': n_volumes, 'max_linear_strain': max_strain}
    phonons = {}
    displacements = {'min_length': min_length, 'supercell_shape': supercell_shape}
    displacements = {key: value for key, value in displacements.items() if value is not None}
    if displacements:
        phonons['displacements'] = displacements
    if l_max is not None:
        phonons['restoration'] = {'rotational_average': rotational_average(l_max)}
    if symprec is not None:
        phonons['symprec'] = symprec
    overrides = {'volumes': {key: value for key, value in volumes.items() if value is not None}, 'phonons': phonons}
    overrides = {key: value for key, value in overrides.items() if value}
    run_from_protocol(
        'unconmlip.qha', structure, model, protocol, overrides, job_options, code, computer, daemon, as_json,
        nac=nac, relax=not no_relax,
    )  # fmt: skip
