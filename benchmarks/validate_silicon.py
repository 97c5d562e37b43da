"""The examples of docs/validate.rst: ``unconmlip.validate`` on the default model, inside and outside its domain.

Usage: ``verdi run benchmarks/validate_silicon.py [MODEL]`` on a profile set up with ``aiida-unconmlip setup
--with-dft`` (the work chains run in this process; pw.x runs here, with caching on for ``quantumespresso.pw`` a
repeat reuses it); MODEL is a shipped model's name, the default without one.

Inside: the moderate phonon run of diamond Si (relaxed, 216-atom supercell) checked with the default budget (cells
of up to 16 atoms): its highest Gamma mode against the DFPT reference is the error the check should estimate.
Outside: four 8-atom cells of Si compressed by 10 % and rattled by 0.05 A, evaluated by the model, then checked.
Writes ``benchmarks/results/validate-silicon-cpu.json``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from aiida.engine import run_get_node
from aiida.orm import StructureData, load_code
from ase.build import bulk

import aiida_unconmlip
from aiida_unconmlip.data import StructureSetData
from aiida_unconmlip.models import default_model_name
from aiida_unconmlip.models.importing import shipped_model_node
from aiida_unconmlip.models.recipes.default_model import reference_workchain
from aiida_unconmlip.summaries import labelled_frequencies
from aiida_unconmlip.workflows.evaluate import EvaluateWorkChain
from aiida_unconmlip.workflows.phonons import PhononWorkChain
from aiida_unconmlip.workflows.validate import ValidateWorkChain

REPO = Path(aiida_unconmlip.__file__).resolve().parent.parent  # `verdi run` does not set __file__ to this script
LATTICE_CONSTANT = 5.475


def finished(builder_or_class, **inputs):
    results, node = run_get_node(builder_or_class, **inputs)
    if not node.is_finished_ok:
        raise SystemExit(f'{node.process_label}<{node.pk}> failed: {node.exit_message}')
    return results, node


def validated(run, pw_code, **parameters) -> dict:
    start = time.perf_counter()
    results, node = finished(ValidateWorkChain.get_builder_from_run(run, pw_code, parameters or None))
    errors = results['errors'].get_dict()
    for pattern in errors['displacement_patterns']:
        pattern.pop('frequencies_thz')
    return {'pk': node.pk, 'wall_seconds': time.perf_counter() - start, **errors}


def main() -> None:
    model = shipped_model_node(sys.argv[1] if len(sys.argv) > 1 else None)
    suffix = '' if model.model_name == default_model_name() else f'-{model.model_name}'
    code, pw_code = load_code('unconmlip-engine@localhost'), load_code('pw.x@localhost')
    dfpt = reference_workchain('silicon-dfpt-reference').outputs.frequencies['frequencies_thz']

    phonons, run = finished(
        PhononWorkChain.get_builder_from_protocol(
            code, StructureData(ase=bulk('Si', 'diamond', a=LATTICE_CONSTANT)), model, protocol='moderate'
        )
    )
    gamma_model = max(labelled_frequencies(phonons['band_structure'])['GAMMA'])
    inside = validated(run, pw_code)
    inside['actual_gamma_error_vs_dfpt_thz'] = gamma_model - max(dfpt['GAMMA'])
    inside['checked'] = {'pk': run.pk, 'gamma_highest_thz': gamma_model, 'dfpt_gamma_highest_thz': max(dfpt['GAMMA'])}

    compressed = []
    for seed in range(4):
        atoms = bulk('Si', 'diamond', a=0.9 * LATTICE_CONSTANT, cubic=True)
        atoms.rattle(0.05, seed=seed)
        compressed.append(atoms)
    _, evaluation = finished(
        EvaluateWorkChain,
        evaluate={'code': code, 'model': model, 'structures': StructureSetData.from_ase(compressed)},
    )
    outside = validated(evaluation, pw_code)

    payload = {'model': {'name': model.model_name, 'sha256': model.sha256}, 'inside': inside, 'outside': outside}
    output = REPO / 'benchmarks' / 'results' / f'validate-silicon{suffix}-cpu.json'
    output.write_text(json.dumps(payload, indent=2) + '\n')
    for name, result in (('inside', inside), ('outside', outside)):
        print(f'{name}: {result["verdict"]["message"]}; forces {result["forces_mev_per_angstrom"]}')
    print(f'Gamma: estimated {inside["gamma_highest"]}, actual {inside["actual_gamma_error_vs_dfpt_thz"]:.3f} THz')


main()
