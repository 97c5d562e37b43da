"""Geometry optimisation on the compute node: ASE optimisers with FrechetCellFilter and FixSymmetry around
the restored calculator; several structures one after another with the model loaded once."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import spglib
from ase import Atoms, units
from ase.constraints import FixSymmetry
from ase.filters import FrechetCellFilter
from ase.optimize import BFGS, FIRE, LBFGS

from ..step_record import StepRecord
from .calculator import RestoredCalculator
from .errors import NonFiniteOutput
from .potentials import Potential
from .relax_parameters import RelaxParameters
from .restoration import Restoration, combine_records
from .structures import check_structures

OPTIMIZERS = {'FIRE': FIRE, 'BFGS': BFGS, 'LBFGS': LBFGS}
REPORTED_SYMPRECS = (1e-5, 1e-3, 1e-1)


def space_groups(atoms: Atoms, symprec: float) -> dict[str, str | None]:
    """International symbol and number at each reported symprec and at ``symprec``, e.g. {'1e-05': 'Fd-3m (227)'}."""
    cell = (atoms.cell.array, atoms.get_scaled_positions(), atoms.numbers)
    tolerances = sorted({*REPORTED_SYMPRECS, symprec})
    return {f'{tolerance:g}': spglib.get_spacegroup(cell, symprec=tolerance) for tolerance in tolerances}


@dataclass
class Trajectory:
    steps: list[int] = field(default_factory=list)
    positions: list[np.ndarray] = field(default_factory=list)
    cells: list[np.ndarray] = field(default_factory=list)
    energies: list[float] = field(default_factory=list)

    def record(self, step: int, atoms: Atoms) -> None:
        if self.steps and self.steps[-1] == step:
            return
        self.steps.append(step)
        self.positions.append(atoms.positions.copy())
        self.cells.append(atoms.cell.array.copy())
        self.energies.append(float(atoms.get_potential_energy()))


@dataclass
class RelaxationResult:
    atoms: Atoms
    energy: float
    forces: np.ndarray
    stress: np.ndarray | None
    converged: bool
    steps: int
    space_group_input: dict[str, str | None]
    space_group_output: dict[str, str | None]
    trajectory: Trajectory
    seconds: float
    inference_records: list[StepRecord]


NORMAL_STRAINS = [True, True, True, False, False, False]  # FrechetCellFilter's Voigt mask: xx, yy, zz free


def _dynamic_system(atoms: Atoms, parameters: RelaxParameters):
    """What the optimiser moves: the atoms alone, or atoms and cell through FrechetCellFilter."""
    if parameters.cell == 'positions':
        return atoms
    return FrechetCellFilter(
        atoms,
        mask=NORMAL_STRAINS if parameters.cell == 'normal_strains' else None,
        constant_volume=parameters.cell == 'fixed_volume',
        scalar_pressure=parameters.pressure_gpa * units.GPa,
    )


def relax_structure(
    atoms: Atoms, calculator: RestoredCalculator, parameters: RelaxParameters, fix_symmetry: bool
) -> RelaxationResult:
    """Relax one structure; a run that reaches max_steps returns its last geometry with converged False."""
    start = time.perf_counter()
    atoms = atoms.copy()
    space_group_input = space_groups(atoms, parameters.symprec)
    atoms.calc = calculator
    if fix_symmetry:
        atoms.set_constraint(FixSymmetry(atoms, symprec=parameters.symprec))
    optimizer = OPTIMIZERS[parameters.optimizer](_dynamic_system(atoms, parameters), logfile=None)
    trajectory = Trajectory()
    optimizer.attach(lambda: trajectory.record(optimizer.nsteps, atoms), interval=parameters.trajectory_interval)
    converged = bool(optimizer.run(fmax=parameters.fmax, steps=parameters.max_steps))
    trajectory.record(optimizer.nsteps, atoms)
    energy = float(atoms.get_potential_energy())
    forces = atoms.get_forces()
    stress = atoms.get_stress(voigt=False) if atoms.pbc.all() else None
    if not (np.isfinite(energy) and np.isfinite(forces).all()):
        raise NonFiniteOutput('the relaxation reached NaN or infinite energies or forces; try dtype float64')
    final = Atoms(numbers=atoms.numbers, positions=atoms.positions, cell=atoms.cell.array, pbc=atoms.pbc)
    return RelaxationResult(
        atoms=final,
        energy=energy,
        forces=forces,
        stress=stress,
        converged=converged,
        steps=int(optimizer.nsteps),
        space_group_input=space_group_input,
        space_group_output=space_groups(final, parameters.symprec),
        trajectory=trajectory,
        seconds=time.perf_counter() - start,
        inference_records=calculator.last_records,
    )


def relax_structures(
    potential: Potential,
    structures: list[Atoms],
    restoration: Restoration,
    fix_symmetry: bool,
    parameters: RelaxParameters,
    max_atoms_per_batch: int | None,
) -> tuple[list[RelaxationResult], list[StepRecord]]:
    """Relax each structure in turn with the same loaded model; return the results and the restoration records."""
    check_structures(structures, potential.description.elements)
    calculator = RestoredCalculator(potential, restoration, max_atoms_per_batch)
    results = [relax_structure(atoms, calculator, parameters, fix_symmetry) for atoms in structures]
    records = combine_records([result.inference_records for result in results])
    if fix_symmetry:
        records.insert(0, fix_symmetry_record(results, parameters.symprec))
    return results, records


def fix_symmetry_record(results: list[RelaxationResult], symprec: float) -> StepRecord:
    """FixSymmetry's effect: the space group of each structure at its tolerance, before and after relaxation."""
    key = f'{symprec:g}'
    return StepRecord(
        name='fix_symmetry',
        parameters={'symprec': symprec},
        effect={
            'space_group_input': [result.space_group_input[key] for result in results],
            'space_group_output': [result.space_group_output[key] for result in results],
        },
    )
