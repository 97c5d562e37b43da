"""Restoration records as nodes: one ``Dict`` ``{name, parameters, effect}`` per step, under one output namespace.

Every process that applies a restoration step (the engine's CalcJobs, the restoration calcfunctions, the force
constants) outputs its records as ``restoration_steps.<step name>``, so the link label of every record starts with
``restoration_steps__`` and one query finds them all (:func:`aiida_unconmlip.provenance.restoration_chain`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiida.orm import Dict

from ..step_record import StepRecord

RECORDS_NAMESPACE = 'restoration_steps'
RECORD_LINK_PREFIX = f'{RECORDS_NAMESPACE}__'


def record_nodes(records: Iterable[StepRecord | dict[str, Any]]) -> dict[str, Dict]:
    """The outputs of a records namespace: ``{step name: Dict(record)}``."""
    nodes = {}
    for record in records:
        data = record.as_dict() if isinstance(record, StepRecord) else dict(record)
        nodes[data['name']] = Dict(data)
    return nodes


def record_outputs(*records: StepRecord) -> dict[str, dict[str, Dict]]:
    """What a calcfunction returns for the steps it applied: ``{'restoration_steps': {name: Dict}}``."""
    return {RECORDS_NAMESPACE: record_nodes(records)}
