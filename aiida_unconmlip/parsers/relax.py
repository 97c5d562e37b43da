"""Parser of ``unconmlip.relax``."""

from __future__ import annotations

from aiida.engine import ExitCode
from aiida.orm import Dict, StructureData, TrajectoryData
from ase import Atoms

from ..calcjobs.base import input_structures
from ..data import StructureSetData
from ..data.ragged import unpack
from ..engine import io as engine_io
from .base import EngineParser


class RelaxParser(EngineParser):
    """Final geometries, trajectories and per-structure report; exit 350 (outputs kept) if any did not converge."""

    def parse(self, **kwargs) -> ExitCode | None:
        outputs = self.read_outputs()
        if isinstance(outputs, ExitCode):
            return outputs
        arrays, report = outputs
        self.output_predictions(arrays, report)

        originals = input_structures(self.node.inputs.structures)
        positions = unpack(arrays['positions'], arrays['atom_offsets'])
        relaxed = [
            Atoms(numbers=original.numbers, positions=p, cell=cell, pbc=original.pbc)
            for original, p, cell in zip(originals, positions, arrays['cells'], strict=True)
        ]
        self.out('relaxed_structures', StructureSetData.from_ase(relaxed))
        if len(relaxed) == 1:
            self.out('relaxed_structure', StructureData(ase=relaxed[0]))

        frames = self.read_npz(engine_io.TRAJECTORIES_FILE)
        for index, original in enumerate(originals):
            trajectory = TrajectoryData()
            trajectory.set_trajectory(
                symbols=original.get_chemical_symbols(),
                positions=frames[f'positions_{index}'],
                stepids=frames[f'steps_{index}'].astype(int),
                cells=frames[f'cells_{index}'],
                pbc=[bool(periodic) for periodic in original.pbc],
            )
            trajectory.set_array('energies', frames[f'energies_{index}'])
            self.out(f'trajectories.structure_{index}', trajectory)

        relaxation = report['relaxation']
        self.out('relaxation_report', Dict({'structures': relaxation}))
        unconverged = [index for index, entry in enumerate(relaxation) if not entry['converged']]
        if unconverged:
            steps = [relaxation[index]['steps'] for index in unconverged]
            return self.exit_codes.ERROR_NOT_CONVERGED.format(message=f'structures {unconverged} after {steps} steps')
        return None
