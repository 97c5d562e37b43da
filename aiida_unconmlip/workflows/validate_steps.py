"""What ``unconmlip.validate`` reads from a finished run and from a model's provenance, and its calcfunctions."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from aiida import orm
from aiida.engine import calcfunction

from ..data import ForceSetData, StructureSetData
from ..data.training_set import TrainingSetData
from ..dft_checks.cells import displacement_cells, run_cells
from ..dft_checks.errors import compare
from ..dft_checks.verdict import DEFAULT_FACTOR, card_errors, verdict
from ..engine.restoration import DEFAULT_SYMPREC
from ..phonons.parameters import parse_displacements

PARAMETERS = {
    'samples': 4,
    'max_atoms': 16,
    'amplitude': 0.01,
    'plus_minus': True,
    'symprec': DEFAULT_SYMPREC,
    'domain_factor': DEFAULT_FACTOR,
}
DISPLACEMENT_RUNS = ('PhononWorkChain', 'ThermalConductivityWorkChain')
CHECKABLE = (*DISPLACEMENT_RUNS, 'QhaWorkChain', 'RelaxWorkChain', 'EvaluateWorkChain', 'EvaluateCalculation')


def parse_parameters(given: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults merged with ``given``; unknown keys and impossible budgets refused."""
    given = dict(given or {})
    unknown = set(given) - set(PARAMETERS)
    if unknown:
        raise ValueError(f'unknown validate parameters {sorted(unknown)}; allowed: {", ".join(PARAMETERS)}')
    values = {**PARAMETERS, **given}
    if values['samples'] < 1 or values['max_atoms'] < 1:
        raise ValueError('samples and max_atoms must be at least 1')
    if values['amplitude'] <= 0 or values['domain_factor'] <= 1:
        raise ValueError('amplitude must be positive and domain_factor above 1')
    return values


def structures_of(node: orm.Data) -> list:
    """The ASE atoms of a StructureData or a StructureSetData."""
    return node.get_ase_list() if isinstance(node, StructureSetData) else [node.get_ase()]


@calcfunction
def validation_cells(parameters: orm.Dict, **sources: orm.Data) -> dict:
    """The cells to compute: the displacement pattern of ``sources['unitcell']`` in small cells, or the run's own
    structures (every other source, in key order) within the budget."""
    values = parse_parameters(parameters.get_dict())
    if 'unitcell' in sources:
        cells, plan = displacement_cells(
            sources['unitcell'].get_ase(),
            values['amplitude'],
            values['plus_minus'],
            values['max_atoms'],
            values['symprec'],
        )
    else:
        structures = [atoms for key in sorted(sources) for atoms in structures_of(sources[key])]
        cells, plan = run_cells(structures, values['samples'], values['max_atoms'])
    return {'structures': StructureSetData.from_ase(cells), 'plan': orm.Dict(plan)}


def dft_results(structures: StructureSetData, training_set: TrainingSetData) -> dict[str, Any]:
    """pw.x's energies, forces and stresses of the cells, in their order (each frame checked to be its cell)."""
    frames = training_set.get_frames()
    cells = structures.get_ase_list()
    if len(frames) != len(cells):
        raise ValueError(f'{len(frames)} DFT results for {len(cells)} cells')
    for index, (frame, atoms) in enumerate(zip(frames, cells, strict=True)):
        if not np.allclose(frame.positions, atoms.positions, atol=1e-6):
            raise ValueError(f'DFT result {index} is not of cell {index}')
    return {
        'energies': [frame.info['energy'] for frame in frames],
        'forces': [frame.arrays['forces'] for frame in frames],
        'stresses': [frame.info['stress'] for frame in frames],
    }


@calcfunction
def compare_with_dft(
    structures: StructureSetData,
    plan: orm.Dict,
    parameters: orm.Dict,
    energies: orm.ArrayData,
    forces: ForceSetData,
    stresses: orm.ArrayData,
    dft: TrainingSetData,
    card: orm.Dict | None = None,
) -> orm.Dict:
    """Model against pw.x on the same cells, and the verdict against the model card's test errors (``card``, the
    training job's ``errors``)."""
    model = {
        'energies': energies.get_array('energies'),
        'forces': forces.get_list(),
        'stresses': stresses.get_array('stresses'),
    }
    errors = compare(structures.get_ase_list(), plan.get_dict(), model, dft_results(structures, dft))
    card_numbers = card_errors(card.get_dict()) if card is not None else None
    errors['model_card'] = card_numbers
    errors['verdict'] = verdict(errors, card_numbers, parse_parameters(parameters.get_dict())['domain_factor'])
    return orm.Dict(errors)


def model_job(run: orm.ProcessNode) -> orm.CalcJobNode:
    """The run's first job that evaluated the model (its model, code, settings and options are the check's)."""
    jobs = [run] if isinstance(run, orm.CalcJobNode) else run.called_descendants
    for node in sorted(jobs, key=lambda node: node.pk):
        if isinstance(node, orm.CalcJobNode) and 'model' in node.inputs:
            return node
    raise ValueError(f'{run.process_label}<{run.pk}> ran no job with a model')


def restoration_of(run: orm.ProcessNode) -> dict[str, Any]:
    """Every restoration step as the run applied it to the forces it used."""
    for node in [run, *getattr(run, 'called_descendants', [])]:
        if node.process_label in DISPLACEMENT_RUNS and 'restoration' in node.inputs:
            return node.inputs.restoration.get_dict()
    job = model_job(run)
    return job.inputs.restoration.get_dict() if 'restoration' in job.inputs else {}


def run_sources(run: orm.ProcessNode) -> tuple[dict[str, orm.Data], dict[str, Any]]:
    """The structures of the run that the check starts from, and the displacement settings to repeat."""
    label = run.process_label
    if label in DISPLACEMENT_RUNS:
        displacements = parse_displacements(
            {key: value for key, value in run.inputs.displacements.get_dict().items() if key in PARAMETERS}
        )
        return {'unitcell': run.outputs.structure}, {
            'amplitude': displacements['amplitude'],
            'plus_minus': displacements['plus_minus'],
            'symprec': run.inputs.symprec.value,
        }
    if label == 'QhaWorkChain':
        phonons = sorted(
            (node for node in run.called if node.process_label == 'PhononWorkChain' and node.is_finished_ok),
            key=lambda node: node.pk,
        )
        return {f'volume_{index:02d}': node.outputs.structure for index, node in enumerate(phonons)}, {}
    if label == 'RelaxWorkChain':
        return {'relaxed': run.outputs.relaxed_structure}, {}
    if label in ('EvaluateWorkChain', 'EvaluateCalculation'):
        structures = run.inputs.evaluate.structures if label == 'EvaluateWorkChain' else run.inputs.structures
        return {'structures': structures}, {}
    raise ValueError(f'{label}<{run.pk}> cannot be validated; give a run of: {", ".join(CHECKABLE)}')


def checked_output(run: orm.ProcessNode) -> orm.Data:
    """An output of the run, the check's link to it in the graph (:func:`checked_run` follows it back)."""
    for name in ('structure', 'relaxed_structure', 'energies', 'forces'):
        if name in run.outputs:
            return run.outputs[name]
    raise ValueError(f'{run.process_label}<{run.pk}> has none of the outputs a check links to')


def reference_set_runs(training_set: orm.Data) -> list[orm.WorkflowNode]:
    """The reference-set work chains whose pw.x runs made the training set (through merges)."""
    creator = training_set.creator
    if creator is None:
        return []
    if creator.process_label == 'merge_training_sets':
        return [run for node in creator.inputs.values() for run in reference_set_runs(node)]
    caller = creator.caller
    return [caller] if caller is not None and caller.process_label == 'ReferenceSetWorkChain' else []


def training_dft_settings(model: orm.Data) -> dict[str, orm.Data] | None:
    """The pseudopotential family, pw.x overrides and job options the model's training data was computed with
    (the reference set's own input nodes), or None for a model without that provenance."""
    training = model.creator
    if training is None or 'training_set' not in training.inputs:
        return None
    runs = reference_set_runs(training.inputs.training_set)
    if not runs:
        return None
    recorded = {(run.inputs.pseudo_family.value, json.dumps(run.inputs.dft.get_dict(), sort_keys=True)) for run in runs}
    if len(recorded) > 1:
        raise ValueError(f'the training data of {model.label} mixes DFT settings: give them (dft namespace)')
    run = min(runs, key=lambda node: node.pk)
    return {'pseudo_family': run.inputs.pseudo_family, 'dft': run.inputs.dft, 'options': run.inputs.options}


def model_card(model: orm.Data) -> orm.Dict | None:
    """The training job's test errors of the model, or None for a model trained elsewhere."""
    training = model.creator
    return training.outputs.errors if training is not None and 'errors' in training.outputs else None


def checked_run(validation: orm.WorkflowNode) -> orm.ProcessNode:
    """The run a validate work chain checked: the one that returned or created its ``checked`` input."""
    checked = validation.inputs.checked
    query = orm.QueryBuilder().append(orm.Data, filters={'id': checked.pk}, tag='checked')
    query.append(orm.ProcessNode, with_outgoing='checked', filters={'attributes.process_label': {'in': CHECKABLE}})
    runs = query.all(flat=True)
    return runs[0] if runs else checked.creator


def validations_of(run: orm.ProcessNode) -> list[orm.WorkflowNode]:
    """The finished validate work chains that checked ``run``, oldest first."""
    query = orm.QueryBuilder().append(orm.ProcessNode, filters={'id': run.pk}, tag='run')
    query.append(orm.Data, with_incoming='run', tag='checked')
    query.append(
        orm.WorkflowNode,
        with_incoming='checked',
        edge_filters={'label': 'checked'},
        filters={'attributes.process_label': 'ValidateWorkChain', 'attributes.exit_status': {'in': [0, 410]}},
    )
    return sorted({node.pk: node for node in query.all(flat=True)}.values(), key=lambda node: node.pk)


def dft_calculations(validation: orm.WorkflowNode) -> list[orm.CalcJobNode]:
    """The pw.x calculations a validate work chain ran (or took from the cache), in order."""
    return sorted(
        (node for node in validation.called_descendants if node.process_type.endswith('quantumespresso.pw')),
        key=lambda node: node.pk,
    )
