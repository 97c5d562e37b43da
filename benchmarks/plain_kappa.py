"""The plain script a user would write instead of ``aiida-unconmlip kappa``: ASE, phono3py, metatomic-ase.

Relax diamond Si (FIRE, FrechetCellFilter, FixSymmetry, fmax 1e-4 eV/A), standardise with spglib, displace by
0.03 A in opposite pairs for fc3 and fc2, both in the 2x2x2 conventional supercell (phono3py), forces one supercell
at a time, ``produce_fc3(symmetrize_fc3r=True)`` and ``produce_fc2(symmetrize_fc2=True)`` as phono3py's
documentation shows them first, and kappa(T) by the RTA on an 11x11x11 mesh at 100-1000 K with the tetrahedron
method: the settings of ``aiida-unconmlip kappa si.cif --supercell 2 2 2 --fc2-supercell 2 2 2 --mesh 11 11 11``,
in float64. Prints one JSON line: kappa at 300 K and the seconds each part took.

It names the model file by its path and imports nothing from this project (as a user's script would): run it as a
whole process, ``python benchmarks/plain_kappa.py MODEL.pt``; its imports are part of what a user waits for.
"""

from __future__ import annotations

import argparse
import json
import time

START = time.perf_counter()

import numpy as np  # noqa: E402
import spglib  # noqa: E402
import torch  # noqa: E402
from ase import Atoms  # noqa: E402
from ase.constraints import FixSymmetry  # noqa: E402
from ase.filters import FrechetCellFilter  # noqa: E402
from ase.io import read  # noqa: E402
from ase.optimize import FIRE  # noqa: E402
from metatomic.torch import AtomisticModel, ModelCapabilities, load_atomistic_model  # noqa: E402
from metatomic_ase import MetatomicCalculator  # noqa: E402
from phono3py import Phono3py  # noqa: E402
from phonopy.structure.atoms import PhonopyAtoms  # noqa: E402


def float64_calculator(path: str, device: str) -> MetatomicCalculator:
    """metatomic's ASE calculator on the model cast to float64."""
    model = load_atomistic_model(path)
    capabilities = model.capabilities()
    cast = ModelCapabilities(
        outputs=capabilities.outputs,
        atomic_types=capabilities.atomic_types,
        interaction_range=capabilities.interaction_range,
        length_unit=capabilities.length_unit,
        supported_devices=capabilities.supported_devices,
        dtype='float64',
    )
    return MetatomicCalculator(AtomisticModel(model.module.to(torch.float64), model.metadata(), cast), device=device)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('model', help='the model file (.pt)')
    parser.add_argument('--structure', default='docs/examples/si.cif')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()
    seconds = {'imports': time.perf_counter() - START}

    start = time.perf_counter()
    calculator = float64_calculator(args.model, args.device)
    seconds['model_load'] = time.perf_counter() - start

    atoms = read(args.structure)
    start = time.perf_counter()
    atoms.calc = calculator
    atoms.set_constraint(FixSymmetry(atoms, symprec=1e-5))
    FIRE(FrechetCellFilter(atoms), logfile=None).run(fmax=1e-4, steps=2000)
    atoms.set_constraint()
    seconds['relax'] = time.perf_counter() - start

    start = time.perf_counter()
    lattice, positions, numbers = spglib.standardize_cell(
        (atoms.cell.array, atoms.get_scaled_positions(), atoms.numbers), symprec=1e-5
    )
    unitcell = PhonopyAtoms(numbers=numbers, cell=lattice, scaled_positions=positions)
    ph3 = Phono3py(
        unitcell, supercell_matrix=[2, 2, 2], phonon_supercell_matrix=[2, 2, 2], primitive_matrix='auto', symprec=1e-5
    )
    ph3.generate_displacements(distance=0.03, is_plusminus=True)
    ph3.generate_fc2_displacements(distance=0.03, is_plusminus=True)
    seconds['setup'] = time.perf_counter() - start

    def forces_of(supercells) -> np.ndarray:
        forces = []
        for cell in supercells:
            supercell = Atoms(cell.symbols, cell=cell.cell, positions=cell.positions, pbc=True)
            supercell.calc = calculator
            forces.append(supercell.get_forces())
        return np.array(forces)

    start = time.perf_counter()
    ph3.forces = forces_of(ph3.supercells_with_displacements)
    ph3.phonon_forces = forces_of(ph3.phonon_supercells_with_displacements)
    seconds['forces'] = time.perf_counter() - start

    start = time.perf_counter()
    ph3.produce_fc3(symmetrize_fc3r=True)
    ph3.produce_fc2(symmetrize_fc2=True)
    ph3.mesh_numbers = [11, 11, 11]
    ph3.init_phph_interaction()
    ph3.run_thermal_conductivity(temperatures=np.arange(100, 1001, 100), log_level=0)
    seconds['phono3py'] = time.perf_counter() - start
    seconds['total'] = time.perf_counter() - START
    kappa = ph3.thermal_conductivity.kappa[0][2]  # 300 K
    supercells = len(ph3.supercells_with_displacements) + len(ph3.phonon_supercells_with_displacements)
    print(json.dumps({'supercells': supercells, 'kappa_300K': kappa[:3].tolist(), 'seconds': seconds}))


if __name__ == '__main__':
    main()
