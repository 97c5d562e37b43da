"""Phonons of diamond silicon through the daemon: the project's main job.

Run with ``verdi run docs/examples/silicon_phonons.py [MODEL] [PROTOCOL]`` after ``aiida-unconmlip setup`` and
``verdi daemon start``. Prints the summary and writes ``silicon-phonons.png`` in the current folder.
"""

import sys
import time
from pathlib import Path

from aiida.engine import submit
from aiida.orm import StructureData, load_code
from ase.build import bulk

from aiida_unconmlip.cli.show import echo_summary
from aiida_unconmlip.models import default_model_name
from aiida_unconmlip.models.resolve import resolve_model
from aiida_unconmlip.plotting import plot_phonons
from aiida_unconmlip.summaries import summarize
from aiida_unconmlip.workflows.phonons import PhononWorkChain

model_name = sys.argv[1] if len(sys.argv) > 1 else default_model_name()
protocol = sys.argv[2] if len(sys.argv) > 2 else 'moderate'
structure = StructureData(ase=bulk('Si', 'diamond', a=5.431))
builder = PhononWorkChain.get_builder_from_protocol(
    load_code('unconmlip-engine@localhost'), structure, resolve_model(model_name), protocol=protocol
)
node = submit(builder)
print(f'submitted PhononWorkChain<{node.pk}> (model {model_name}, protocol {protocol}) to the daemon')
start, seen = time.perf_counter(), 0
while not node.is_terminated:
    time.sleep(2)
    called = node.called_descendants
    if len(called) != seen:
        seen = len(called)
        latest = max(called, key=lambda n: n.ctime)
        print(
            f'[{time.perf_counter() - start:6.1f} s] {latest.process_label}<{latest.pk}> {latest.process_state.value}'
        )
if not node.is_finished_ok:
    raise SystemExit(f'PhononWorkChain<{node.pk}> failed: [{node.exit_status}] {node.exit_message}')

echo_summary(summarize(node))
plot = plot_phonons(
    node.outputs.band_structure,
    node.outputs.total_dos,
    Path('silicon-phonons.png'),
    f'Si (diamond) — {model_name}, {protocol} (run {node.pk})',
)
print(f'band structure plot: {plot.resolve()}')
