"""JSON-ready summaries of finished runs: what ``show`` and ``--json`` print (one contract for scripts)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import numpy as np
from aiida.orm import BandsData, CalcJobNode, ProcessNode, WorkChainNode

from .phonons.parameters import NAC_METHODS
from .provenance import restoration_steps


def labelled_frequencies(bands: BandsData) -> dict[str, list[float]]:
    """Sorted frequencies (THz) at each labelled high-symmetry point, first occurrence along the path."""
    frequencies = bands.get_bands()
    result: dict[str, list[float]] = {}
    for index, label in bands.labels:
        result.setdefault(label, [float(f) for f in np.sort(frequencies[index])])
    return result


def model_summary(model) -> dict[str, Any]:
    return {'name': model.model_name, 'sha256': model.sha256, 'pk': model.pk}


def _wall_seconds(node: ProcessNode) -> float:
    """From creation to the end, or to now for a run that is still going."""
    end = node.mtime if node.is_terminated else datetime.now(timezone.utc)
    return (end - node.ctime).total_seconds()


def _header(node: ProcessNode) -> dict[str, Any]:
    """Which run, and where it stands: ``state`` is AiiDA's process state (``finished``, ``killed``, ``excepted``,
    ``running``, ``waiting``, ``created``), ``status`` what AiiDA says of it (the reason a run was killed)."""
    state = node.process_state
    return {
        'pk': node.pk,
        'uuid': node.uuid,
        'process': node.process_label,
        'state': state.value if state is not None else None,
        'status': node.process_status,
        'exit_status': node.exit_status,
        'exit_message': node.exit_message,
    }


def work_chain_timings(node: WorkChainNode) -> dict[str, Any]:
    """The run's wall time, the engine's own share of it (the wall time each CalcJob's engine reports, in total and per
    job) and the rest: the overhead of AiiDA's processes, storage and scheduling, and of the steps that run as
    calcfunctions."""
    jobs = [
        (calc, calc.outputs.timing.get_dict())
        for calc in node.called_descendants
        if isinstance(calc, CalcJobNode) and 'timing' in calc.outputs
    ]
    wall = _wall_seconds(node)
    engine = sum(timing['wall_seconds'] for _, timing in jobs)
    if not node.is_finished:  # killed, excepted or still running: no split of a wall time the jobs did not end
        return {'wall_seconds': wall, 'so_far': not node.is_terminated, 'jobs': [], 'evaluate': []}
    evaluate = [
        {key: timing.get(key) for key in ('wall_seconds', 'model_seconds', 'structures', 'atoms_per_second', 'device')}
        | {'pk': calc.pk}
        for calc, timing in jobs
        if calc.process_label == 'EvaluateCalculation'
    ]
    return {
        'wall_seconds': wall,
        'engine_seconds': engine,
        'overhead_seconds': wall - engine,
        'jobs': [
            {'pk': calc.pk, 'process': calc.process_label, 'wall_seconds': timing['wall_seconds']}
            | ({'phase_seconds': timing['job_phase_seconds']} if 'job_phase_seconds' in timing else {})
            for calc, timing in jobs
        ],
        'evaluate': evaluate,
    }


def _lattice_dynamics_header(node: WorkChainNode) -> dict[str, Any]:
    """Header, model and space group of a phonons or kappa run."""
    summary = _header(node)
    summary['model'] = model_summary(node.inputs.evaluate.model)
    if 'symmetry' in node.outputs:
        symmetry = node.outputs.symmetry
        summary['space_group'] = {'number': symmetry['number'], 'symbol': symmetry['international']}
    if 'born_charges' in node.inputs:
        summary['nac'] = nac_summary(node.inputs)
    return summary


def nac_summary(inputs) -> dict[str, Any]:
    """The non-analytical correction a run applied: its method and the charges' node, and where that came from."""
    charges = inputs.born_charges
    creator = charges.creator
    return {
        'method': inputs.nac_method.value if 'nac_method' in inputs else NAC_METHODS[0],
        'born_charges': charges.pk,
        'from': f'{creator.process_label}<{creator.pk}>' if creator else 'a BORN file',
    }


def supercell_summary(matrix: list[list[int]], unitcell_atoms: int) -> dict[str, Any]:
    return {'matrix': matrix, 'atoms': unitcell_atoms * round(abs(np.linalg.det(matrix)))}


def primitive_atoms(outputs) -> int:
    """Atoms in phonopy's primitive cell (the band structure's cell), from the standardised cell's."""
    ratio = abs(np.linalg.det(outputs.band_structure.cell)) / outputs.structure.get_cell_volume()
    return round(len(outputs.structure.sites) * ratio)


def thermal_summary(thermal, atoms: int, temperature: float = 300.0) -> dict[str, Any]:
    """Free energy, entropy and heat capacity at ``temperature`` (or the nearest one computed), per mole of
    phonopy's primitive cells: phonopy's normalisation, not per atom nor per conventional cell."""
    temperatures = thermal.get_x()[1]
    index = int(np.argmin(np.abs(temperatures - temperature)))
    values = {name: float(array[index]) for name, array, _ in thermal.get_y()}
    return {
        'temperature_k': float(temperatures[index]),
        **values,
        'units': {name: unit for name, _, unit in thermal.get_y()},
        'per': f'mole of primitive cells ({atoms} atoms each)',
    }


def phonon_summary(node: WorkChainNode) -> dict[str, Any]:
    outputs = node.outputs
    summary = _lattice_dynamics_header(node)
    if 'supercell_matrix' in outputs and 'structure' in outputs:
        summary['supercell'] = supercell_summary(outputs.supercell_matrix.get_list(), len(outputs.structure.sites))
    if 'band_structure' in outputs:
        summary['bands'] = {'frequencies_thz': labelled_frequencies(outputs.band_structure)}
    if 'thermal_properties' in outputs:
        summary['thermal_properties'] = thermal_summary(outputs.thermal_properties, primitive_atoms(outputs))
    if 'diagnostics' in outputs:
        summary['diagnostics'] = outputs.diagnostics.get_dict()
    summary['timings'] = work_chain_timings(node)
    return summary


def _kappa(outputs) -> dict[str, Any]:
    """``kappa.temperatures`` (K) and ``kappa.tensor`` (W/m-K, one Voigt six-vector xx, yy, zz, yz, xz, xy per
    temperature), with the method, mesh and diagnostics of the solution; nothing before the run has them."""
    if 'kappa' not in outputs:
        return {}
    diagnostics = outputs.diagnostics.get_dict()
    return {
        'kappa': {
            'temperatures': outputs.kappa.get_array('temperatures').tolist(),
            'tensor': outputs.kappa.get_array('kappa').tolist(),
            'voigt_order': diagnostics['voigt_order'],
            'unit': 'W/m-K',
            # with the Wigner coherence term the tensor is its total (particle-like plus coherence)
            'method': f'{diagnostics["method"]} + Wigner' if diagnostics.get('wigner') else diagnostics['method'],
            'mesh': diagnostics['mesh'],
        },
        'conductivity_diagnostics': diagnostics,
    }


def conductivity_summary(node: WorkChainNode) -> dict[str, Any]:
    summary = _lattice_dynamics_header(node) | _kappa(node.outputs)
    summary['timings'] = work_chain_timings(node)
    return summary


def dft_conductivity_summary(node: WorkChainNode) -> dict[str, Any]:
    """The DFT yardstick's kappa, with where its forces came from in place of a model. Its wall time is mostly
    pw.x's, which reports no engine time, so no split of it is given."""
    outputs = node.outputs
    summary = _header(node)
    summary['dft'] = {'code': node.inputs.dft.code.full_label, 'pseudo_family': node.inputs.dft.pseudo_family.value}
    if 'supercell_matrix' in outputs and 'structure' in outputs:
        summary['supercell'] = supercell_summary(outputs.supercell_matrix.get_list(), len(outputs.structure.sites))
    summary |= _kappa(outputs)
    summary['timings'] = {'wall_seconds': _wall_seconds(node), 'so_far': not node.is_terminated}
    return summary


def qha_summary(node: WorkChainNode) -> dict[str, Any]:
    """``qha.temperatures`` (K) and ``qha.volumetric_thermal_expansion`` (1/K, one value per temperature), with
    B(T), Cp(T), V(T) per primitive cell and the static equation of state."""
    outputs = node.outputs
    summary = _header(node)
    summary['model'] = model_summary(node.inputs.phonons.evaluate.model)
    if 'qha' in outputs:
        qha = outputs.qha
        summary['qha'] = {
            name: qha.get_array(name).tolist()
            for name in (
                'temperatures',
                'volumetric_thermal_expansion',
                'bulk_modulus',
                'heat_capacity_p',
                'equilibrium_volumes',
                'extrapolated',
            )
        }
        summary['qha']['units'] = {
            'temperatures': 'K',
            'volumetric_thermal_expansion': '1/K',
            'bulk_modulus': 'GPa',
            'heat_capacity_p': 'J/K/mol',
            'equilibrium_volumes': 'A^3 per primitive cell',
        }
        summary['equation_of_state'] = outputs.equation_of_state.get_dict()
    summary['timings'] = work_chain_timings(node)
    return summary


def relax_summary(node: WorkChainNode) -> dict[str, Any]:
    summary = _header(node)
    summary['model'] = model_summary(node.inputs.relax.model)
    if 'relaxed_structure' in node.outputs:
        relaxed = node.outputs.relaxed_structure.get_ase()
        report = node.outputs.relaxation_report['structures'][0]
        summary.update(
            energy_ev=float(node.outputs.energies.get_array('energies')[0]),
            cell_angstrom=relaxed.cell.array.tolist(),
            cell_parameters=[float(x) for x in relaxed.cell.cellpar()],
            converged=report['converged'],
            steps=report['steps'],
            space_group_input=report['space_group_input'],
            space_group_output=report['space_group_output'],
        )
    summary['timings'] = work_chain_timings(node)
    return summary


def evaluate_summary(node: CalcJobNode) -> dict[str, Any]:
    summary = _header(node)
    summary['model'] = model_summary(node.inputs.model)
    outputs = node.outputs
    if 'energies' in outputs:
        summary.update(
            energies=outputs.energies.get_array('energies').tolist(),
            forces=[f.tolist() for f in outputs.forces.get_list()],
            stress=np.nan_to_num(outputs.stresses.get_array('stresses'), nan=0.0).tolist(),
            restoration_steps=[step.as_dict() for step in restoration_steps(node)],
            timings=outputs.timing.get_dict(),
        )
    return summary


def validate_summary(node: WorkChainNode) -> dict[str, Any]:
    """What the DFT spot check compared and found (``validation``), and the run it checked."""
    from .workflows.validate_steps import checked_run

    summary = _header(node)
    summary['model'] = model_summary(node.inputs.evaluate.model)
    run = checked_run(node)
    summary['checked'] = {'pk': run.pk, 'process': run.process_label}
    summary['dft'] = {'code': node.inputs.dft.code.full_label, 'pseudo_family': node.inputs.dft.pseudo_family.value}
    if 'errors' in node.outputs:
        summary['validation'] = node.outputs.errors.get_dict()
    summary['timings'] = {'wall_seconds': _wall_seconds(node), 'so_far': not node.is_terminated}
    return summary


SUMMARIES = {
    'PhononWorkChain': phonon_summary,
    'ThermalConductivityWorkChain': conductivity_summary,
    'DftThermalConductivityWorkChain': dft_conductivity_summary,
    'QhaWorkChain': qha_summary,
    'RelaxWorkChain': relax_summary,
    'EvaluateCalculation': evaluate_summary,
    'ValidateWorkChain': validate_summary,
}


def summarize(node) -> dict[str, Any]:
    """The summary of a phonons, kappa, DFT kappa, qha, relax, evaluate or validate run, with the verdicts of the
    validate runs that checked it; ValueError for any other node."""
    summarizer = SUMMARIES.get(getattr(node, 'process_label', None))
    if summarizer is None:
        raise ValueError(
            f'node {node.pk} is a {getattr(node, "process_label", None) or type(node).__name__}; '
            f'show works on {", ".join(SUMMARIES)} runs'
        )
    from .workflows.validate_steps import validations_of

    summary = summarizer(node)
    checks = validations_of(node)
    if checks:
        summary['validations'] = [
            {'pk': check.pk, **{key: check.outputs.errors['verdict'][key] for key in ('domain', 'message')}}
            for check in checks
        ]
    return summary
