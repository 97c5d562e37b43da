"""Wait for submitted processes from a recipe script, printing their states, and stop if one failed."""

from __future__ import annotations

import time
from pathlib import Path

from aiida.engine import submit
from aiida.orm import ProcessNode
from aiida.tools.archive import create_archive


def wait_until_finished(nodes: list[ProcessNode], interval: float = 30) -> None:
    """Block until every node terminated; ``SystemExit`` with the exit message of the first that failed."""
    start = time.perf_counter()
    while not all(node.is_terminated for node in nodes):
        time.sleep(interval)
        print(
            f'[{(time.perf_counter() - start) / 60:5.1f} min] '
            + ', '.join(f'{node.process_label}<{node.pk}> {node.process_state.value}' for node in nodes)
        )
    for node in nodes:
        if not node.is_finished_ok:
            raise SystemExit(f'{node.process_label}<{node.pk}> failed: [{node.exit_status}] {node.exit_message}')


def submit_and_archive(builder, archive: Path) -> ProcessNode:
    """Submit, wait until it finished well, and write it with its whole provenance to ``archive``."""
    node = submit(builder)
    print(f'submitted {node.process_label}<{node.pk}>')
    wait_until_finished([node])
    archive.parent.mkdir(exist_ok=True)
    create_archive([node], filename=archive, overwrite=True)
    return node
