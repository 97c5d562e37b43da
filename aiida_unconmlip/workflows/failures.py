"""The root cause of a failed process: the deepest failed process it called, in one line."""

from __future__ import annotations

from aiida.orm import ProcessNode


def root_cause(node: ProcessNode) -> str:
    """``Label<pk> [status] message`` of the last failed process at the bottom of ``node``'s failed calls."""
    failed = sorted((child for child in node.called if child.is_failed or child.is_excepted), key=lambda n: n.ctime)
    if failed:
        return root_cause(failed[-1])
    exception = (node.exception or '').strip().splitlines()
    message = node.exit_message or (exception[-1] if exception else 'no message')
    return f'{node.process_label}<{node.pk}> [{node.exit_status}] {message}'
