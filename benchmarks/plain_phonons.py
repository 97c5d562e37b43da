"""The plain script a user would write instead of the main job: ASE + phonopy + metatomic's ASE calculator.

Relax diamond Si (FIRE, FrechetCellFilter, FixSymmetry, fmax 1e-4 eV/A), standardise with spglib, displace in
opposite pairs in a supercell of at least 15 A (phonopy), forces one supercell at a time, force constants, band
structure on seekpath's path, DOS and thermal properties on a Gamma-centred mesh of length 50: the moderate
protocol's settings, in float64. ``--no-relax`` skips the relaxation; ``--random N`` uses N random displacements
and symfc instead; ``--supercell N`` takes N x N x N the standardised cell. Prints one JSON line: the frequencies at
Gamma and the seconds each part took.

Run as a whole process (``python benchmarks/plain_phonons.py``): its imports are part of what a user waits for.
"""

from __future__ import annotations

import argparse
import json
import time

START = time.perf_counter()

import numpy as np  # noqa: E402
import phonopy  # noqa: E402
import spglib  # noqa: E402
from ase import Atoms  # noqa: E402
from ase.build import bulk  # noqa: E402
from ase.constraints import FixSymmetry  # noqa: E402
from ase.filters import FrechetCellFilter  # noqa: E402
from ase.optimize import FIRE  # noqa: E402
from metatomic.torch import AtomisticModel, ModelCapabilities, load_atomistic_model  # noqa: E402
from metatomic_ase import MetatomicCalculator  # noqa: E402
from phonopy.phonon.band_structure import get_band_qpoints_by_seekpath  # noqa: E402
from phonopy.structure.atoms import PhonopyAtoms  # noqa: E402

from aiida_unconmlip.models import default_model_name, shipped_model  # noqa: E402


def float64_model(path):
    """The model cast to float64, as the protocol evaluates it."""
    import torch

    model = load_atomistic_model(str(path))
    capabilities = model.capabilities()
    cast = ModelCapabilities(
        outputs=capabilities.outputs,
        atomic_types=capabilities.atomic_types,
        interaction_range=capabilities.interaction_range,
        length_unit=capabilities.length_unit,
        supported_devices=capabilities.supported_devices,
        dtype='float64',
    )
    return AtomisticModel(model.module.to(torch.float64), model.metadata(), cast)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--no-relax', action='store_true')
    parser.add_argument('--random', type=int, default=0, help='random displacements (symfc) instead of finite ones')
    parser.add_argument('--supercell', type=int, help='n x n x n the standardised cell instead of 15 A')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()
    seconds = {'imports': time.perf_counter() - START}

    start = time.perf_counter()
    calculator = MetatomicCalculator(float64_model(shipped_model(default_model_name()).path), device=args.device)
    seconds['model_load'] = time.perf_counter() - start

    atoms = bulk('Si', 'diamond', a=5.431)
    start = time.perf_counter()
    if not args.no_relax:
        atoms.calc = calculator
        atoms.set_constraint(FixSymmetry(atoms, symprec=1e-5))
        FIRE(FrechetCellFilter(atoms), logfile=None).run(fmax=1e-4, steps=2000)
        atoms.set_constraint()
    seconds['relax'] = time.perf_counter() - start

    start = time.perf_counter()
    lattice, positions, numbers = spglib.standardize_cell(
        (atoms.cell.array, atoms.get_scaled_positions(), atoms.numbers), symprec=1e-5
    )
    conventional = PhonopyAtoms(numbers=numbers, cell=lattice, scaled_positions=positions)
    repeats = [args.supercell or int(np.ceil(15.0 / length - 1e-9)) for length in np.linalg.norm(lattice, axis=1)]
    phonon = phonopy.Phonopy(conventional, supercell_matrix=np.diag(repeats), primitive_matrix='auto', symprec=1e-5)
    if args.random:
        phonon.generate_displacements(distance=0.01, number_of_snapshots=args.random, random_seed=1, is_plusminus=True)
    else:
        phonon.generate_displacements(distance=0.01, is_plusminus=True)
    seconds['setup'] = time.perf_counter() - start

    start = time.perf_counter()
    forces = []
    for cell in phonon.supercells_with_displacements:
        supercell = Atoms(cell.symbols, cell=cell.cell, positions=cell.positions, pbc=True)
        supercell.calc = calculator
        forces.append(supercell.get_forces())
    phonon.forces = forces
    seconds['forces'] = time.perf_counter() - start

    start = time.perf_counter()
    phonon.produce_force_constants(fc_calculator='symfc' if args.random else None)
    phonon.symmetrize_force_constants(use_symfc_projector=True)
    bands, labels, connections = get_band_qpoints_by_seekpath(phonon.primitive, 101)
    phonon.run_band_structure(bands, labels=labels, path_connections=connections)
    phonon.run_mesh(50.0, is_gamma_center=True)
    phonon.run_total_dos()
    phonon.run_thermal_properties(t_min=0, t_max=1000, t_step=10)
    seconds['phonopy'] = time.perf_counter() - start
    seconds['total'] = time.perf_counter() - START
    gamma = sorted(float(f) for f in phonon.get_frequencies([0, 0, 0]))
    print(json.dumps({'supercells': len(forces), 'atoms': len(forces[0]), 'gamma_thz': gamma, 'seconds': seconds}))


if __name__ == '__main__':
    main()
