"""Walk the provenance graph back from any result to the restoration steps, the model and the input structure,
and from a model back to its training job and DFT data.

Restoration steps are read from their records alone (:mod:`aiida_unconmlip.symmetry.records`): one query finds
every ``restoration_steps__<name>`` output of every calculation upstream of the result, so a new step needs no
change here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiida.orm import CalcJobNode, CalculationNode, Data, Dict, Node, ProcessNode, QueryBuilder, StructureData

from .data.model import ModelData, RemoteModelData
from .symmetry.records import RECORD_LINK_PREFIX


@dataclass
class RestorationStep:
    """One record as found in the graph: the step, the calculation that applied it, its parameters and effect."""

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


def _data_outputs(process: ProcessNode) -> list[int]:
    return [link.node.pk for link in process.base.links.get_outgoing().all() if isinstance(link.node, Data)]


def result_nodes(node: Node) -> list[int]:
    """The data a query starts from: the node itself, or the outputs of a process; for one that has not finished
    well (running, killed, failed), also what the processes it called have made so far."""
    if not isinstance(node, ProcessNode):
        return [node.pk]
    outputs = _data_outputs(node)
    if not node.is_finished_ok:
        outputs += [pk for child in node.called_descendants for pk in _data_outputs(child)]
    return sorted(set(outputs))


def restoration_steps(node: Node) -> list[RestorationStep]:
    """Every restoration record upstream of ``node`` (or of a process's outputs, which includes the process's own
    records when it is a calculation), in the order they were made: one query."""
    results = result_nodes(node)
    if not results:
        return []
    query = QueryBuilder()
    query.append(Data, filters={'id': {'in': results}}, tag='result')
    query.append(CalculationNode, with_descendants='result', tag='calculation', project='id')
    query.append(
        Dict,
        with_incoming='calculation',
        edge_filters={'label': {'like': f'{RECORD_LINK_PREFIX}%'}},
        tag='record',
        project=['attributes', 'ctime'],
    )
    rows = sorted(query.distinct().all(), key=lambda row: row[2])
    return [
        RestorationStep(name=record['name'], pk=pk, parameters=record['parameters'], effect=record['effect'])
        for pk, record, _ in rows
    ]


def restoration_chain(node: Node) -> RestorationChain:
    """The restoration steps that produced ``node`` (oldest first), the model and the original structure; for a run
    that has not finished well, those of what it did so far, with the model and structure of its inputs."""
    results = result_nodes(node)
    model, structure = None, None
    if results:
        models = QueryBuilder().append(Data, filters={'id': {'in': results}}, tag='result')
        models.append((ModelData, RemoteModelData), with_descendants='result', project='*')
        model = models.first(flat=True)
    if model is None and isinstance(node, ProcessNode):
        model = _input_model(node)
    if results:
        originals = QueryBuilder().append(Data, filters={'id': {'in': results}}, tag='result')
        originals.append(StructureData, with_descendants='result', tag='structure', project='*')
        originals.order_by({'structure': {'ctime': 'asc'}})
        training_structures = _structures_behind(model) if model is not None else set()
        structure = next(
            (s for s in originals.distinct().all(flat=True) if s.creator is None and s.pk not in training_structures),
            None,
        )
    if structure is None and isinstance(node, ProcessNode) and 'structure' in node.inputs:
        given = node.inputs['structure']
        structure = given if isinstance(given, StructureData) else None
    return RestorationChain(model=model, structure=structure, steps=restoration_steps(node))


def _input_model(process: ProcessNode) -> ModelData | RemoteModelData | None:
    """The model among a process's inputs, however deep in its namespaces (``evaluate.model``, ``relax.model``)."""
    query = QueryBuilder().append(ProcessNode, filters={'id': process.pk}, tag='process')
    query.append((ModelData, RemoteModelData), with_outgoing='process', project='*')
    return query.first(flat=True)


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


def born_charges_origin(node: Node) -> dict[str, Any] | None:
    """Where the Born charges of a run's non-analytical correction came from: their node, the process that made them
    (``born_charges_from_ph`` for ph.x's, none for a BORN file), and the ph.x calculations and pseudopotentials
    behind them. None for a run without the correction."""
    from aiida_pseudo.data.pseudo import PseudoPotentialData

    jobs = [step.pk for step in restoration_steps(node) if step.name == 'non_analytical_correction']
    if not jobs:
        return None
    charges = CalcJobNode.collection.get(pk=jobs[0]).inputs.born_charges
    creator = charges.creator
    ph = QueryBuilder().append(Node, filters={'id': charges.pk}, tag='charges')
    ph.append(
        CalcJobNode, with_descendants='charges', filters={'process_type': {'like': '%quantumespresso.ph'}}, project='id'
    )
    pseudos = QueryBuilder().append(Node, filters={'id': charges.pk}, tag='charges')
    pseudos.append(CalcJobNode, with_descendants='charges', tag='calc')
    pseudos.append(PseudoPotentialData, with_outgoing='calc', project=[f'attributes.{key}' for key in PSEUDO_KEYS])
    return {
        'pk': charges.pk,
        'created_by': f'{creator.process_label}<{creator.pk}>' if creator is not None else None,
        'ph_calculations': sorted(ph.distinct().all(flat=True)),
        'pseudopotentials': [dict(zip(PSEUDO_KEYS, row, strict=True)) for row in pseudos.distinct().all()],
    }
