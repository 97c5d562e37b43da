"""An ASE calculator around a potential with the in-engine restoration applied, so ASE optimisers, filters
and constraints compose around restored predictions like around any other calculator."""

from __future__ import annotations

from ase.calculators.calculator import Calculator, all_changes

from ..step_record import StepRecord
from .evaluate import evaluate_structures
from .potentials import Potential
from .restoration import Restoration


class RestoredCalculator(Calculator):
    """Energy, forces and stress of ``potential`` after ``restoration`` (forces mode, rotational average)."""

    implemented_properties = ('energy', 'free_energy', 'forces', 'stress')

    def __init__(
        self,
        potential: Potential,
        restoration: Restoration | None = None,
        max_atoms_per_batch: int | None = None,
    ):
        super().__init__()
        self.potential = potential
        self.restoration = restoration or Restoration()
        self.max_atoms_per_batch = max_atoms_per_batch
        self.model_seconds = 0.0
        self.last_records: list[StepRecord] = []

    def calculate(self, atoms=None, properties=('energy',), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        result = evaluate_structures(self.potential, [self.atoms.copy()], self.restoration, self.max_atoms_per_batch)
        self.model_seconds += result.timing['model_seconds']
        self.last_records = result.restoration_steps
        energy = float(result.energies[0])
        self.results = {'energy': energy, 'free_energy': energy, 'forces': result.forces[0]}
        if self.atoms.pbc.all():
            self.results['stress'] = result.stresses[0]
