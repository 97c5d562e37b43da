"""Walk the provenance graph back from any result to the restoration steps, the model and the input structure,
and from a model back to its training job and DFT data.

Step names are those of the design's table: ``fix_symmetry``, ``forces_mode``, ``rotational_average``,
``space_group_projection``, ``net_force_removal``, ``force_constant_symmetrization``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiida.orm import CalcJobNode, CalculationNode, Node, QueryBuilder, StructureData

from .data.model import ModelData, RemoteModelData


@dataclass
class RestorationStep:
    name: str
    pk: int
    parameters: dict[str, Any]
    effect: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {'name': self.name, 'pk': self.pk, 'parameters': self.parameters, 'effect': self.effect}


@dataclass
class RestorationChain:
    """The restoration steps behind a result, in the order they were applied, with the model and structure."""

    model: ModelData | RemoteModelData | None
    structure: StructureData | None
    steps: list[RestorationStep] = field(default_factory=list)


def _relax_steps(node: CalculationNode) -> list[RestorationStep]:
    parameters = node.inputs.parameters.get_dict() if 'parameters' in node.inputs else {}
    report = node.outputs.relaxation_report['structures'] if 'relaxation_report' in node.outputs else []
    return [
        RestorationStep(
            name='fix_symmetry',
            pk=node.pk,
            parameters={'enabled': parameters.get('fix_symmetry', True), 'symprec': parameters.get('symprec', 1e-5)},
            effect={
                'space_group_input': [entry['space_group_input'] for entry in report],
                'space_group_output': [entry['space_group_output'] for entry in report],
            },
        )
    ]


def _evaluate_steps(node: CalculationNode) -> list[RestorationStep]:
    if 'restoration_report' not in node.outputs:
        return []
    report = node.outputs.restoration_report.get_dict()
    steps = [
        RestorationStep(
            name='forces_mode',
            pk=node.pk,
            parameters={'forces_mode': report['forces_mode']},
            effect={'forces_mode': report['forces_mode']},
        )
    ]
    average = report['rotational_average']
    if average['l_max'] > 0:
        spread = report['rotational_std']
        steps.append(
            RestorationStep(
                name='rotational_average',
                pk=node.pk,
                parameters=average,
                effect={
                    'n_rotations': report['n_rotations'],
                    'forces_std_max_ev_per_angstrom': max(spread['forces_max_ev_per_angstrom']),
                    'energy_std_max_ev': max(spread['energy_ev']),
                },
            )
        )
    return steps


def _calcfunction_step(name: str, node: CalculationNode) -> list[RestorationStep]:
    effect = node.outputs.effect.get_dict()
    if name == 'space_group_projection':
        parameters = {'symprec': node.inputs.symprec.value}
    elif name == 'force_constant_symmetrization':
        if not node.inputs.symmetrize.value:
            return []
        parameters = node.inputs.parameters.get_dict()
    else:
        parameters = {}
    return [RestorationStep(name=name, pk=node.pk, parameters=parameters, effect=effect)]


STEP_READERS = {
    'unconmlip.relax': _relax_steps,
    'unconmlip.evaluate': _evaluate_steps,
    'space_group_projection': lambda node: _calcfunction_step('space_group_projection', node),
    'net_force_removal': lambda node: _calcfunction_step('net_force_removal', node),
    'symmetrized_force_constants': lambda node: _calcfunction_step('force_constant_symmetrization', node),
}


def _step_key(node: CalculationNode) -> str | None:
    process_type = node.process_type or ''
    for key in STEP_READERS:
        if process_type.endswith(f':{key}') or process_type.endswith(f'.{key}'):
            return key
    return None


def restoration_chain(node: Node) -> RestorationChain:
    """The restoration steps that produced ``node`` (oldest first), the model and the original structure."""
    ancestors = QueryBuilder().append(Node, filters={'id': node.pk}, tag='result')
    ancestors.append(CalculationNode, with_descendants='result', tag='calc', project='*')
    ancestors.order_by({'calc': {'ctime': 'asc'}})
    calculations = ancestors.distinct().all(flat=True)
    if isinstance(node, CalculationNode):
        calculations.append(node)

    steps, model = [], None
    for calculation in calculations:
        key = _step_key(calculation)
        if key is None:
            continue
        steps += STEP_READERS[key](calculation)
        if model is None and 'model' in calculation.inputs:
            model = calculation.inputs.model

    originals = QueryBuilder().append(Node, filters={'id': node.pk}, tag='result')
    originals.append(StructureData, with_descendants='result', tag='structure', project='*')
    originals.order_by({'structure': {'ctime': 'asc'}})
    training_structures = _structures_behind(model) if model is not None else set()
    structure = next(
        (s for s in originals.distinct().all(flat=True) if s.creator is None and s.pk not in training_structures),
        None,
    )
    return RestorationChain(model=model, structure=structure, steps=steps)


def _structures_behind(model: Node) -> set[int]:
    """PKs of the structures in the model's own history (its DFT data), which are not inputs of the result."""
    query = QueryBuilder().append(Node, filters={'id': model.pk}, tag='model')
    query.append(StructureData, with_descendants='model', project='id')
    return set(query.all(flat=True))


PSEUDO_KEYS = ('element', 'filename', 'md5')


def model_origin(model: ModelData | RemoteModelData) -> dict[str, Any]:
    """Where a model came from: its training job, training set, and the DFT runs and pseudopotentials behind it.

    Empty values for a model imported from a file, whose history before the import is not on record.
    """
    from aiida_pseudo.data.pseudo import PseudoPotentialData

    creator = model.creator
    training_set = creator.inputs.training_set if creator is not None and 'training_set' in creator.inputs else None
    dft = QueryBuilder().append(Node, filters={'id': model.pk}, tag='model')
    dft.append(CalcJobNode, with_descendants='model', filters={'process_type': {'like': '%quantumespresso.pw'}})
    pseudos = QueryBuilder().append(Node, filters={'id': model.pk}, tag='model')
    pseudos.append(CalcJobNode, with_descendants='model', tag='calc')
    pseudos.append(PseudoPotentialData, with_outgoing='calc', project=[f'attributes.{key}' for key in PSEUDO_KEYS])
    return {
        'training_job': creator.pk if creator is not None else None,
        'training_set': training_set.pk if training_set is not None else None,
        'dft_calculations': dft.distinct().count(),
        'pseudopotentials': [dict(zip(PSEUDO_KEYS, row, strict=True)) for row in pseudos.distinct().all()],
    }
