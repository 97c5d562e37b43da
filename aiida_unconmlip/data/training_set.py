"""A training set: structures with reference energies, forces and stresses, as extxyz that metatrain reads.

Units and sign are fixed and recorded on the node: energy eV, forces eV/A, stress eV/A^3 with ASE's and
metatrain's sign (sigma = (1/V) dE/d(strain): positive is tensile, negative for a compressed cell). Each frame
carries ``split`` (train, validation or test) in its info; the node's ``split`` attribute lists the indices.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import ase.io
import numpy as np
from aiida.orm import SinglefileData
from ase import Atoms

UNITS = {'energy': 'eV', 'forces': 'eV/Angstrom', 'stress': 'eV/Angstrom^3'}
STRESS_SIGN = 'ASE/metatrain: sigma = (1/V) dE/d(strain); positive is tensile'
SPLITS = ('train', 'validation', 'test')


def assign_split(count: int, validation: float, test: float, seed: int) -> list[str]:
    """A fixed, seeded split: the same inputs always give the same labels."""
    order = np.random.default_rng(seed).permutation(count)
    n_test, n_validation = round(test * count), round(validation * count)
    labels = ['train'] * count
    for position, index in enumerate(order):
        if position < n_test:
            labels[index] = 'test'
        elif position < n_test + n_validation:
            labels[index] = 'validation'
    return labels


class TrainingSetData(SinglefileData):
    """Reference data for training, stored as one extxyz file (see the module docstring for units and sign)."""

    @classmethod
    def from_frames(cls, frames: Sequence[Atoms], source: str, filename: str = 'training_set.extxyz'):
        """Frames carry ``info['energy']``, ``info['stress']`` (3x3), ``arrays['forces']`` and ``info['split']``."""
        for index, atoms in enumerate(frames):
            missing = [key for key in ('energy', 'stress', 'split') if key not in atoms.info]
            if 'forces' not in atoms.arrays:
                missing.append('forces')
            if missing:
                raise ValueError(f'frame {index} lacks {", ".join(missing)}')
            if atoms.info['split'] not in SPLITS:
                raise ValueError(f'frame {index} has split {atoms.info["split"]!r}; use one of {SPLITS}')
        buffer = io.StringIO()
        ase.io.write(buffer, list(frames), format='extxyz')
        node = cls(io.BytesIO(buffer.getvalue().encode()), filename=filename)
        node.base.attributes.set('count', len(frames))
        node.base.attributes.set('units', UNITS)
        node.base.attributes.set('stress_sign', STRESS_SIGN)
        node.base.attributes.set('source', source)
        node.base.attributes.set(
            'split', {name: [i for i, a in enumerate(frames) if a.info['split'] == name] for name in SPLITS}
        )
        node.base.attributes.set('formulas', sorted({a.get_chemical_formula() for a in frames}))
        return node

    @property
    def split(self) -> dict[str, list[int]]:
        return self.base.attributes.get('split')

    def get_frames(self) -> list[Atoms]:
        """The frames with ``info['energy']``, ``info['stress']`` (3x3), ``arrays['forces']`` and ``info['split']``."""
        return read_frames(io.StringIO(self.get_content()))


def read_frames(source) -> list[Atoms]:
    """Read extxyz; ASE puts energy, forces and stress into a calculator, which is moved back to info/arrays."""
    frames = []
    for atoms in ase.io.read(source, index=':', format='extxyz'):
        if atoms.calc is not None:
            atoms.info['energy'] = float(atoms.get_potential_energy())
            atoms.arrays['forces'] = atoms.get_forces()
            atoms.info['stress'] = atoms.get_stress(voigt=False)
            atoms.calc = None
        frames.append(atoms)
    return frames
