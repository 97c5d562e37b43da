"""``unconmlip.evaluate``: the evaluate CalcJob in a restart loop that keeps what each stopped job finished."""

from __future__ import annotations

import numpy as np
from aiida import orm
from aiida.common import AttributeDict
from aiida.engine import ProcessHandlerReport, calcfunction, process_handler, while_

from ..calcjobs.evaluate import EvaluateCalculation
from ..data import ForceSetData, StructureSetData
from ..data.ragged import unpack
from .engine_restart import EngineRestartWorkChain

FIRST_BUDGET = 128  # atoms per batch to halve from when the job's own budget was the device default


@calcfunction
def select_structures(structures: orm.Data, indices: orm.List) -> StructureSetData:
    """The structures at ``indices`` (in that order): what is left to evaluate."""
    atoms = structures.get_ase_list() if isinstance(structures, StructureSetData) else [structures.get_ase()]
    return StructureSetData.from_ase([atoms[index] for index in indices.get_list()])


@calcfunction
def merge_evaluations(count: orm.Int, **pieces: orm.Data) -> dict:
    """Energies (eV), forces (eV/A) and stresses (eV/A^3) of all ``count`` structures, from the pieces each job
    finished: ``indices_<k>`` (positions in the whole set) with ``partial_results_<k>`` (a stopped job's) or
    ``energies_<k>``, ``forces_<k>``, ``stresses_<k>`` (a finished job's outputs)."""
    energies, stresses, forces = np.zeros(count.value), np.zeros((count.value, 3, 3)), [None] * count.value
    for key in (key for key in pieces if key.startswith('indices_')):
        number = key[len('indices_') :]
        indices = pieces[key].get_list()
        if f'partial_results_{number}' in pieces:
            partial = pieces[f'partial_results_{number}']
            piece_energies, piece_stresses = partial.get_array('energies'), partial.get_array('stresses')
            piece_forces = unpack(partial.get_array('forces'), partial.get_array('atom_offsets'))
        else:
            piece_energies = pieces[f'energies_{number}'].get_array('energies')
            piece_stresses = pieces[f'stresses_{number}'].get_array('stresses')
            piece_forces = pieces[f'forces_{number}'].get_list()
        for position, index in enumerate(indices):
            energies[index], stresses[index], forces[index] = (
                piece_energies[position],
                piece_stresses[position],
                piece_forces[position],
            )
    energies_node, stresses_node = orm.ArrayData(), orm.ArrayData()
    energies_node.set_array('energies', energies)
    stresses_node.set_array('stresses', stresses)
    return {'energies': energies_node, 'forces': ForceSetData.from_list(forces), 'stresses': stresses_node}


class EvaluateWorkChain(EngineRestartWorkChain):
    """Evaluate a set of structures with ``unconmlip.evaluate``, resuming only what is missing when a job stops early.

    The engine keeps the structures it finishes as it goes. When a job is stopped (walltime, ``scancel``, a lost
    node, the engine killed or crashed, the host out of memory) the next job evaluates only the structures with no
    result yet, with half the atoms per batch where memory was the cause; the results are merged in order. NaN
    outputs are retried in float64. A single structure too large for the device is final (exit 411).
    """

    _process_class = EvaluateCalculation

    @classmethod
    def define(cls, spec):
        super().define(spec)
        spec.expose_inputs(EvaluateCalculation, namespace='evaluate')
        spec.outline(
            cls.setup,
            while_(cls.should_run_process)(cls.run_process, cls.inspect_process),
            cls.results,
        )
        spec.output('energies', valid_type=orm.ArrayData, help='Energies (eV), array `energies` (N,).')
        spec.output('forces', valid_type=ForceSetData, help='Forces (eV/A) of every structure, in order.')
        spec.output('stresses', valid_type=orm.ArrayData, help='Stresses (eV/A^3), array `stresses` (N, 3, 3).')

    def setup(self):
        super().setup()
        self.ctx.inputs = AttributeDict(self.exposed_inputs(EvaluateCalculation, 'evaluate'))
        structures = self.inputs.evaluate.structures
        self.ctx.count = len(structures) if isinstance(structures, StructureSetData) else 1
        self.ctx.missing = list(range(self.ctx.count))
        self.ctx.pieces = []  # what each job finished: {'indices': positions in the set, 'outputs': its nodes}

    def run_process(self):
        """Evaluate what is missing: the whole set the first time, the rest after a stop."""
        self.ctx.attempt_indices = list(self.ctx.missing)
        if len(self.ctx.missing) < self.ctx.count:
            self.ctx.inputs.structures = select_structures(
                self.inputs.evaluate.structures, orm.List(self.ctx.missing), metadata={'call_link_label': 'missing'}
            )
        return super().run_process()

    def _keep_piece(self, node, **outputs) -> None:
        """Record what ``node`` finished, and the structures still missing."""
        if 'partial_results' in outputs:
            local = outputs['partial_results'].get_array('indices')
            finished = [self.ctx.attempt_indices[position] for position in local]
        else:
            finished = list(self.ctx.attempt_indices)
        self.ctx.pieces.append({'indices': finished, 'outputs': outputs})
        self.ctx.missing = [index for index in self.ctx.missing if index not in set(finished)]

    def inspect_process(self):
        node = self.ctx.children[self.ctx.iteration - 1]
        if node.is_finished_ok:
            self._keep_piece(node, **{name: node.outputs[name] for name in ('energies', 'forces', 'stresses')})
        return super().inspect_process()

    @process_handler(priority=600, exit_codes=EvaluateCalculation.stopped_exit_codes())
    def handle_stopped(self, node):
        """Keep what the stopped job finished; evaluate the rest (with half the batch where host memory ran out)."""
        if 'partial_results' in node.outputs:
            self._keep_piece(node, partial_results=node.outputs.partial_results)
        change = ''
        if node.exit_status == EvaluateCalculation.exit_codes.ERROR_SCHEDULER_OUT_OF_MEMORY.status:
            budget = max(1, (self._settings().get('max_atoms_per_batch') or FIRST_BUDGET) // 2)
            self._update_settings(max_atoms_per_batch=budget)
            change = f', max_atoms_per_batch {budget}'
        self.report(
            f'{node.process_label}<{node.pk}> stopped ([{node.exit_status}] {node.exit_message}): '
            f'{self.ctx.count - len(self.ctx.missing)} of {self.ctx.count} structures done, '
            f'evaluating the {len(self.ctx.missing)} left{change}'
        )
        return ProcessHandlerReport(do_break=True)

    def results(self):
        """One job that finished everything: its outputs; several: their pieces merged in order."""
        node = self.ctx.children[self.ctx.iteration - 1]
        if len(self.ctx.children) == 1:
            outputs = {name: node.outputs[name] for name in ('energies', 'forces', 'stresses')}
        else:
            pieces = {}
            for number, piece in enumerate(self.ctx.pieces):
                pieces[f'indices_{number:02d}'] = orm.List(piece['indices'])
                pieces.update({f'{name}_{number:02d}': node for name, node in piece['outputs'].items()})
            outputs = merge_evaluations(
                orm.Int(self.ctx.count), **pieces, metadata={'call_link_label': 'merge_evaluations'}
            )
        for name, value in outputs.items():
            self.out(name, value)
        self.report(f'{self.ctx.count} structures evaluated in {len(self.ctx.children)} job(s)')
        return None
