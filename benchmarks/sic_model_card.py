"""The measurements behind the silicon carbide model's card (summarised in ``docs/dft.rst``), all in one run.

Usage: ``verdi run benchmarks/sic_model_card.py [MODEL]`` on a profile set up with ``aiida-unconmlip setup`` (the
work chains run in this process, no daemon needed); MODEL is a registered model's name (``make model
MODEL=pet-sic-pbe`` registers that one, the default here).
Measures, with the model and the Born charges and dielectric tensors of the project's own DFPT (``make sic-data``):

- errors against the DFT labels of the held-back test frames of the 3C and the 2H reference sets;
- 3C-SiC (F-43m): the relaxed lattice constant, and phonons with the non-analytical correction (Gonze) against DFPT:
  Gamma TO and LO, X and L, and the LO-TO splitting; with and without a rotational average (l_max 3), and once
  without the correction (the bands a model alone gives);
- 2H-SiC (P6_3mc): space group kept, and the frequencies at Gamma against DFPT;
- the diagnostics of every run (space group kept through the relaxation, degenerate-mode splitting, Gamma acoustic
  frequencies), the wall time of each, and what the DFT behind the model and its yardstick cost.

DFPT gives Gamma without the correction (ph.x's analytic part); its LO is that TO plus the correction's term for the
same charges and dielectric tensor (``cubic_lo_frequency``), the formula checked here against phonopy's LO of the model.
Writes ``benchmarks/results/sic-model-card-cpu.json``, ``docs/_static/sic-3c-phonons.png`` and
``docs/_static/sic-2h-phonons.png``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from aiida.engine import run_get_node
from aiida.orm import CalcJobNode, StructureData, WorkChainNode, load_code
from ase.build import bulk

import aiida_unconmlip
from aiida_unconmlip.engine import load_potential
from aiida_unconmlip.engine.accuracy import prediction_errors
from aiida_unconmlip.models.importing import shipped_model_node
from aiida_unconmlip.models.recipes.default_model import reference_workchain
from aiida_unconmlip.phonons.nac import cubic_lo_frequency
from aiida_unconmlip.phonons.phonopy_setup import from_yaml_text
from aiida_unconmlip.plotting import plot_phonons
from aiida_unconmlip.summaries import labelled_frequencies
from aiida_unconmlip.workflows.phonons import PhononWorkChain

REPO = Path(aiida_unconmlip.__file__).resolve().parent.parent  # `verdi run` does not set __file__ to this script
CUBIC = bulk('SiC', 'zincblende', a=4.38)
HEXAGONAL = bulk('SiC', 'wurtzite', a=3.09, c=5.07)
# The direction Gamma is approached from for the LO (any one for a cubic crystal; in-plane and c for 2H).
DIRECTIONS = {'100': [1.0, 0.0, 0.0], '001': [0.0, 0.0, 1.0]}


def cpu_model() -> str:
    for line in Path('/proc/cpuinfo').read_text().splitlines():
        if line.startswith('model name'):
            return line.split(':', 1)[1].strip()
    return 'unknown'


def gamma_frequencies(phonon, direction: list[float] | None) -> list[float]:
    """Sorted frequencies at Gamma: phonopy's analytic part without a direction, with the LO approached along it."""
    phonon.run_qpoints([[0.0, 0.0, 0.0]], nac_q_direction=direction)
    return [float(f) for f in np.sort(phonon.get_qpoints_dict()['frequencies'][0])]


def phonons(code, model, atoms, born_charges=None, **overrides) -> tuple[dict, float]:
    """Outputs of one moderate phonon work chain (relaxation included) run in this process, and its wall time (s)."""
    builder = PhononWorkChain.get_builder_from_protocol(
        code, StructureData(ase=atoms), model, protocol='moderate', overrides=overrides
    )
    if born_charges is not None:
        builder.born_charges = born_charges
    start = time.perf_counter()
    results, node = run_get_node(builder)
    if not node.is_finished_ok:
        raise SystemExit(f'PhononWorkChain<{node.pk}> failed: {node.exit_message}')
    return results, time.perf_counter() - start


def dft_cost(workchain: WorkChainNode) -> dict[str, float]:
    """Wall seconds pw.x and ph.x ran for this work chain's finished jobs (as each reported; a cached job's first
    run), and how many jobs it ran."""
    jobs = [node for node in workchain.called_descendants if isinstance(node, CalcJobNode)]
    seconds = [job.outputs.output_parameters['wall_time_seconds'] for job in jobs if job.is_finished_ok]
    return {'jobs': len(jobs), 'finished_jobs': len(seconds), 'wall_seconds': float(sum(seconds))}


def run_summary(results: dict, seconds: float) -> dict:
    diagnostics = results['diagnostics'].get_dict()
    return {
        'wall_seconds': seconds,
        'space_group': diagnostics['space_group'],
        'space_group_kept': diagnostics['space_group_kept'],
        'gamma_acoustic_thz_max': max(abs(f) for f in diagnostics['gamma_acoustic_thz']),
        'degenerate_splitting_thz_max': max(diagnostics['degenerate_splitting_thz'].values()),
        'imaginary_modes': diagnostics['imaginary_modes']['count'],
    }


def cubic_card(results: dict, seconds: float, dfpt: dict, dfpt_volume: float) -> dict:
    """Gamma TO/LO, X and L of one 3C run against DFPT (LO from DFPT's TO and the run's charges)."""
    phonon = from_yaml_text(results['phonopy_yaml'].get_content(), nac=True)
    bands = labelled_frequencies(results['band_structure'])
    to_lo = gamma_frequencies(phonon, DIRECTIONS['100'])[3:]
    summary = {'GAMMA': to_lo, 'X': bands['X'], 'L': bands['L'], **run_summary(results, seconds)}
    summary['lattice_constant_angstrom'] = float((4 * phonon.primitive.volume) ** (1 / 3))
    if not phonon.nac_params:
        return summary
    born = float(phonon.nac_params['born'][0][0][0])
    epsilon = float(phonon.nac_params['dielectric'][0][0])
    masses = tuple(float(m) for m in phonon.primitive.masses)
    # The formula against phonopy's own LO for the model's TO, so that the DFPT LO below is phonopy's too.
    formula_error = abs(cubic_lo_frequency(to_lo[0], born, epsilon, phonon.primitive.volume, masses) - to_lo[2])
    if formula_error > 1e-3:
        raise SystemExit(f'cubic_lo_frequency differs from phonopy by {formula_error} THz')
    dfpt_to = dfpt['GAMMA'][3]
    dfpt_gamma = [dfpt_to, dfpt_to, cubic_lo_frequency(dfpt_to, born, epsilon, dfpt_volume, masses)]
    reference = {'GAMMA': dfpt_gamma, 'X': dfpt['X'], 'L': dfpt['L']}
    errors = [abs(a - b) for label in reference for a, b in zip(summary[label], reference[label], strict=True)]
    summary['mae_vs_dfpt_thz'] = float(np.mean(errors))
    summary['lo_to_splitting_thz'] = {'model': to_lo[2] - to_lo[0], 'dfpt': dfpt_gamma[2] - dfpt_gamma[0]}
    summary['dfpt'] = reference
    return summary


def hexagonal_card(results: dict, seconds: float, dfpt_gamma: list[float]) -> dict:
    """Gamma of one 2H run against DFPT, both without the correction, and the LO along a and c."""
    phonon = from_yaml_text(results['phonopy_yaml'].get_content(), nac=True)
    analytic = gamma_frequencies(phonon, None)[3:]
    errors = [abs(a - b) for a, b in zip(analytic, dfpt_gamma[3:], strict=True)]
    return {
        'GAMMA': analytic,
        **{f'GAMMA_LO_along_{name}': gamma_frequencies(phonon, q)[3:] for name, q in DIRECTIONS.items()},
        'mae_vs_dfpt_thz': float(np.mean(errors)),
        'max_error_vs_dfpt_thz': float(np.max(errors)),
        **run_summary(results, seconds),
    }


def main() -> None:
    model = shipped_model_node(sys.argv[1] if len(sys.argv) > 1 else 'pet-sic-pbe')
    code = load_code('unconmlip-engine@localhost')
    dfpt_runs = {name: reference_workchain(f'silicon-carbide-{name}-dfpt') for name in ('3c', '2h')}
    dfpt = {
        name: {label: sorted(values) for label, values in run.outputs.frequencies['frequencies_thz'].items()}
        for name, run in dfpt_runs.items()
    }
    card = {
        'model': {'name': model.model_name, 'sha256': model.sha256},
        'metatrain_errors': model.creator.outputs.errors.get_dict(),
    }
    with model.as_path() as path:
        potential = load_potential(path, 'metatomic', device='cpu', dtype='float64')
        for name in ('3c', '2h'):
            frames = [
                frame
                for frame in reference_workchain(f'silicon-carbide-{name}-set').outputs.training_set.get_frames()
                if frame.info['split'] == 'test'
            ]
            card[f'test_set_{name}'] = {'frames': len(frames), **prediction_errors(potential, frames)}

    average = {'restoration': {'rotational_average': {'l_max': 3, 'inversion': True}}}
    charges = {name: run.outputs.born_charges for name, run in dfpt_runs.items()}
    cubic_runs = {
        'nac': phonons(code, model, CUBIC, charges['3c']),
        'nac_l_max_3': phonons(code, model, CUBIC, charges['3c'], **average),
        'no_nac': phonons(code, model, CUBIC),
    }
    hexagonal_runs = {'nac': phonons(code, model, HEXAGONAL, charges['2h'])}
    dfpt_volume = dfpt_runs['3c'].outputs.relaxed_structure.get_ase().get_volume()
    card['3c'] = {
        'lattice_constant_dft_angstrom': float((4 * dfpt_volume) ** (1 / 3)),
        **{name: cubic_card(*run, dfpt['3c'], dfpt_volume) for name, run in cubic_runs.items()},
    }
    card['2h'] = {'dfpt_gamma_thz': dfpt['2h']['GAMMA'][3:]}
    card['2h'].update({name: hexagonal_card(*run, dfpt['2h']['GAMMA']) for name, run in hexagonal_runs.items()})
    card['dft_cost'] = {
        label: dft_cost(reference_workchain(label))
        for label in (
            'silicon-carbide-3c-set',
            'silicon-carbide-2h-set',
            'silicon-carbide-3c-dfpt',
            'silicon-carbide-2h-dfpt',
        )
    }
    card['machine'] = {'cpu': cpu_model(), 'cores': os.cpu_count(), 'torch_threads': torch.get_num_threads()}
    output = REPO / 'benchmarks' / 'results' / 'sic-model-card-cpu.json'
    output.write_text(json.dumps(card, indent=2) + '\n')

    with_nac, without_nac = cubic_runs['nac'][0], cubic_runs['no_nac'][0]
    plot_phonons(
        with_nac['band_structure'],
        with_nac['total_dos'],
        REPO / 'docs' / '_static' / 'sic-3c-phonons.png',
        title=f'3C-SiC, {model.model_name}: with NAC (DFPT charges), without, and DFPT (points)',
        compare=(without_nac['band_structure'], without_nac['total_dos'], 'without NAC'),
        label='with NAC',
        reference=card['3c']['nac']['dfpt'],
    )
    hexagonal = hexagonal_runs['nac'][0]
    plot_phonons(
        hexagonal['band_structure'],
        hexagonal['total_dos'],
        REPO / 'docs' / '_static' / 'sic-2h-phonons.png',
        title=f'2H-SiC, {model.model_name} with NAC, and DFPT at Gamma (points, without NAC)',
        label='with NAC',
        reference={'GAMMA': dfpt['2h']['GAMMA'][3:]},
    )
    print(json.dumps(card, indent=2))


main()
