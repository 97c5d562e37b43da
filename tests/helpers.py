"""Test helpers: a real small model (a PET trained in seconds with metatrain on Tersoff-labelled silicon), the
engine processes of a running job."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import ase.io
import numpy as np
from ase.build import bulk

from aiida_unconmlip.engine.reference_potentials import TersoffSi1988

PET_OPTIONS = """
seed: 0
architecture:
  name: pet
  model: {cutoff: 4.5, d_pet: 16, d_head: 16, d_node: 32, d_feedforward: 32, num_heads: 2,
          num_attention_layers: 1, num_gnn_layers: 1}
  training: {batch_size: 4, num_epochs: 2, learning_rate: 1.0e-3}
training_set:
  systems: {read_from: train.xyz, length_unit: angstrom}
  targets:
    energy: {key: energy, unit: eV, forces: {key: forces}, stress: {key: stress}}
    non_conservative_forces:
      key: forces
      type: {cartesian: {rank: 1}}
      per_atom: true
      quantity: force
      unit: eV/A
    non_conservative_stress:
      key: stress
      type: {cartesian: {rank: 2}}
      per_atom: false
      quantity: pressure
      unit: eV/A^3
validation_set: 0.1
test_set: 0.1
"""


def tersoff_labelled_si(count: int, seed: int = 0) -> list:
    """Rattled, strained diamond-Si cells with Tersoff energies, forces and stresses."""
    rng = np.random.default_rng(seed)
    frames = []
    for index in range(count):
        atoms = bulk('Si', a=5.43 * (1 + rng.uniform(-0.02, 0.02)), cubic=True)
        atoms.rattle(0.05, seed=seed + index)
        atoms.calc = TersoffSi1988()
        atoms.info['energy'] = atoms.get_potential_energy()
        atoms.arrays['forces'] = atoms.get_forces()
        atoms.info['stress'] = atoms.get_stress(voigt=False)
        atoms.calc = None
        frames.append(atoms)
    return frames


def train_tiny_pet(folder: Path) -> Path:
    """Train a tiny PET (energy, conservative and direct force/stress heads) for two epochs; return the .pt."""
    ase.io.write(folder / 'train.xyz', tersoff_labelled_si(24))
    (folder / 'options.yaml').write_text(PET_OPTIONS)
    mtt = Path(sys.executable).parent / 'mtt'
    subprocess.run([str(mtt), 'train', 'options.yaml', '-o', 'pet.pt'], cwd=folder, check=True, capture_output=True)
    return folder / 'pet.pt'


def engine_processes_in(folder: str) -> list[int]:
    """The pids of the Python processes whose working directory is ``folder``: the engine of one job."""
    pids = []
    for entry in Path('/proc').iterdir():
        try:
            if (
                entry.name.isdigit()
                and os.readlink(entry / 'cwd') == str(folder)
                and 'python' in (entry / 'cmdline').read_text()
            ):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def ase_forces(cells, calculator) -> np.ndarray:
    """Forces (eV/A) of phonopy's or phono3py's supercells with an ASE calculator: what a plain script does."""
    from ase import Atoms

    forces = []
    for cell in cells:
        atoms = Atoms(cell.symbols, cell=cell.cell, positions=cell.positions, pbc=True)
        atoms.calc = calculator
        forces.append(atoms.get_forces())
    return np.array(forces)


def phonopy_atoms(unitcell):
    """phonopy's unit cell of an ASE structure."""
    from phonopy.structure.atoms import PhonopyAtoms

    return PhonopyAtoms(
        symbols=unitcell.get_chemical_symbols(),
        cell=unitcell.cell.array,
        scaled_positions=unitcell.get_scaled_positions(),
    )


def rattled_copper(count: int) -> list:
    """``count`` 32-atom fcc Cu cells, each rattled by 0.05 A with its own seed."""
    cells = []
    for seed in range(count):
        atoms = bulk('Cu', cubic=True).repeat(2)
        atoms.rattle(0.05, seed=seed)
        cells.append(atoms)
    return cells


def process_has_ended(pid: int) -> bool:
    """Gone, or a zombie that nobody reaps (PID 1 of a container need not)."""
    try:
        return Path(f'/proc/{pid}/stat').read_bytes().rsplit(b')', 1)[1].split()[0] == b'Z'
    except FileNotFoundError:
        return True
