"""The measurements behind the thermal-expansion part of docs/thermal-conductivity.rst, with the shipped default PET.

Usage: ``verdi run benchmarks/qha_silicon.py [MODEL]`` on a profile set up with ``aiida-unconmlip setup`` (the work
chains run in this process, no daemon needed); MODEL is a shipped model's name, the default without one.
Diamond Si, the ``moderate`` QHA protocol (7 volumes, lattice strained up to
1 %, the moderate phonon protocol at each): the linear thermal expansion beta/3 against T, where it is negative,
B(T), the static equation of state, the Grüneisen parameters of the acoustic modes at X and L, the wall time.
Writes ``benchmarks/results/qha-silicon-cpu.json`` and ``docs/_static/qha-silicon.png``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
from aiida.engine import run_get_node
from aiida.orm import StructureData, load_code
from ase.build import bulk

import aiida_unconmlip
from aiida_unconmlip.models import default_model_name
from aiida_unconmlip.models.importing import shipped_model_node
from aiida_unconmlip.plotting import plot_qha
from aiida_unconmlip.workflows.qha import QhaWorkChain

REPO = Path(aiida_unconmlip.__file__).resolve().parent.parent  # `verdi run` does not set __file__ to this script


def main() -> None:
    model = shipped_model_node(sys.argv[1] if len(sys.argv) > 1 else None)
    # Another shipped model than the default (a candidate) writes files of its own.
    suffix = '' if model.model_name == default_model_name() else f'-{model.model_name}'
    code = load_code('unconmlip-engine@localhost')
    builder = QhaWorkChain.get_builder_from_protocol(
        code, StructureData(ase=bulk('Si', 'diamond', a=5.475)), model, protocol='moderate'
    )
    start = time.perf_counter()
    results, node = run_get_node(builder)
    seconds = time.perf_counter() - start
    if not node.is_finished_ok:
        raise SystemExit(f'QhaWorkChain<{node.pk}> failed: {node.exit_message}')
    qha = results['qha']
    temperatures = qha.get_array('temperatures')
    linear = qha.get_array('volumetric_thermal_expansion') / 3
    negative = temperatures[linear < 0]
    gruneisen = results['gruneisen']
    gamma, qpoints = gruneisen.get_array('gamma'), gruneisen.get_array('qpoints')
    labelled = {
        'X': [0.5, 0.0, 0.5],
        'L': [0.5, 0.5, 0.5],
    }
    acoustic = {}
    for label, q in labelled.items():
        index = int(np.abs(qpoints - q).sum(axis=1).argmin())
        acoustic[label] = np.sort(gamma[index])[:3].round(3).tolist()
    payload = {
        'model': {'name': model.model_name, 'sha256': model.sha256},
        'pk': node.pk,
        'wall_seconds': seconds,
        'linear_expansion_per_k': {
            f'{t:g}': float(value) for t, value in zip(temperatures, linear, strict=True) if t % 50 == 0
        },
        'negative_below_k': float(negative.max()) if len(negative) else None,
        'most_negative_per_k': float(linear.min()),
        'most_negative_at_k': float(temperatures[linear.argmin()]),
        'extrapolated_from_k': float(temperatures[qha.get_array('extrapolated')].min())
        if qha.get_array('extrapolated').any()
        else None,
        'bulk_modulus_300k_gpa': float(qha.get_array('bulk_modulus')[np.abs(temperatures - 300).argmin()]),
        'equation_of_state': results['equation_of_state'].get_dict(),
        'scan_volumes_angstrom3': qha.get_array('scan_volumes').tolist(),
        'scan_energies_ev': qha.get_array('scan_energies').tolist(),
        'lowest_gruneisen_at': acoustic,
        'machine': {'cores': os.cpu_count()},
    }
    plot_qha(
        qha, gruneisen, REPO / 'docs' / '_static' / f'qha-silicon{suffix}.png', f'Si — {model.model_name} (moderate)'
    )
    output = REPO / 'benchmarks' / 'results' / f'qha-silicon{suffix}-cpu.json'
    output.write_text(json.dumps(payload, indent=2) + '\n')
    print(json.dumps(payload, indent=2))


main()
