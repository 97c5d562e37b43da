"""Calcfunctions of the reference-set work chain: reproducible structures in, a training set out."""

from __future__ import annotations

import numpy as np
from aiida.engine import calcfunction
from aiida.orm import Dict, StructureData, TrajectoryData
from ase import units
from ase.build import make_supercell

from ..data import StructureSetData
from ..data.training_set import TrainingSetData, assign_split

GENERATOR_DEFAULTS = {
    'supercells': [[[1, 0, 0], [0, 1, 0], [0, 0, 1]]],
    'samples': [10],
    'strain_max': 0.03,
    'shear_max': 0.02,
    'rattle_min': 0.01,
    'rattle_max': 0.1,
    'seed': 0,
}


# Ranges that may be one number for every supercell or a list with one value per supercell (a group of samples).
PER_GROUP = ('strain_max', 'shear_max', 'rattle_min', 'rattle_max')


def parse_generator(given: dict) -> dict:
    """Defaults merged with ``given``, the ranges of :data:`PER_GROUP` expanded to one value per supercell."""
    unknown = set(given) - set(GENERATOR_DEFAULTS)
    if unknown:
        raise ValueError(f'unknown generator keys {sorted(unknown)}; allowed: {", ".join(GENERATOR_DEFAULTS)}')
    values = {**GENERATOR_DEFAULTS, **given}
    groups = len(values['supercells'])
    if groups != len(values['samples']):
        raise ValueError('generator: give one number of samples per supercell')
    for key in PER_GROUP:
        if not isinstance(values[key], list):
            values[key] = [values[key]] * groups
        if len(values[key]) != groups:
            raise ValueError(f'generator: {key} takes one number, or a list with one value per supercell')
    for low, high in zip(values['rattle_min'], values['rattle_max'], strict=True):
        if not 0 < low <= high:
            raise ValueError('generator: need 0 < rattle_min <= rattle_max (Angstrom)')
    return values


@calcfunction
def generate_reference_structures(base: StructureData, parameters: Dict) -> StructureSetData:
    """Strained and rattled supercells of ``base``, reproducible from the seed.

    Each sample gets an isotropic strain uniform in +-strain_max, a symmetric shear uniform in +-shear_max and a
    Gaussian rattle whose amplitude is log-uniform between rattle_min and rattle_max (so most are small, the
    regime force constants live in); each range may differ per supercell, e.g. a group held near equilibrium.
    """
    values = parse_generator(parameters.get_dict())
    rng = np.random.default_rng(values['seed'])
    atoms = base.get_ase()
    structures = []
    for group, (matrix, samples) in enumerate(zip(values['supercells'], values['samples'], strict=True)):
        supercell = make_supercell(atoms, np.array(matrix))
        strain_max, shear_max, rattle_min, rattle_max = (values[key][group] for key in PER_GROUP)
        for _ in range(samples):
            shear = rng.uniform(-shear_max, shear_max, size=3)
            deformation = np.eye(3) * (1 + rng.uniform(-strain_max, strain_max))
            deformation[[0, 0, 1], [1, 2, 2]] += shear
            deformation[[1, 2, 2], [0, 0, 1]] += shear
            sample = supercell.copy()
            sample.set_cell(supercell.cell.array @ deformation, scale_atoms=True)
            amplitude = np.exp(rng.uniform(np.log(rattle_min), np.log(rattle_max)))
            sample.positions += rng.normal(scale=amplitude, size=sample.positions.shape)
            structures.append(sample)
    return StructureSetData.from_ase(structures)


def frame_from_dft(structure: StructureData, parameters: Dict, trajectory: TrajectoryData):
    """One training frame from aiida-quantumespresso's parsed outputs, in eV, eV/A and eV/A^3 (ASE sign)."""
    atoms = structure.get_ase()
    atoms.info['energy'] = float(parameters['energy'])
    atoms.arrays['forces'] = np.array(trajectory.get_array('forces')[-1])
    # aiida-quantumespresso gives QE's stress in GPa; QE's sign is the opposite of ASE's and metatrain's.
    atoms.info['stress'] = -np.array(trajectory.get_array('stress')[-1]) * units.GPa
    return atoms


@calcfunction
def collect_training_set(split: Dict, failures: Dict, **dft_outputs) -> dict:
    """The training set from each successful DFT calculation's structure, parameters and trajectory.

    ``dft_outputs`` holds ``structure_<i>``, ``parameters_<i>`` and ``trajectory_<i>`` per calculation, so the
    training set's provenance reaches every DFT calculation and, through them, the pseudopotentials.
    """
    indices = sorted(int(key.rpartition('_')[2]) for key in dft_outputs if key.startswith('structure_'))
    frames = []
    for index in indices:
        frame = frame_from_dft(
            dft_outputs[f'structure_{index:04d}'],
            dft_outputs[f'parameters_{index:04d}'],
            dft_outputs[f'trajectory_{index:04d}'],
        )
        frame.info['dft_calculation'] = dft_outputs[f'parameters_{index:04d}'].creator.uuid
        frames.append(frame)
    labels = assign_split(len(frames), split['validation'], split['test'], split['seed'])
    for frame, label in zip(frames, labels, strict=True):
        frame.info['split'] = label
    summary = {
        'succeeded': len(frames),
        'failed': failures['failed'],
        'split_counts': {name: labels.count(name) for name in ('train', 'validation', 'test')},
    }
    return {'training_set': TrainingSetData.from_frames(frames, source='dft'), 'summary': Dict(summary)}


@calcfunction
def merge_training_sets(**training_sets: TrainingSetData) -> TrainingSetData:
    """One training set from several, in the order of their keys, each frame keeping its own split.

    Keeping the splits means a merged set tests on what each set held back, and a model trained on the merged set
    can be compared with one trained on a part of it on the same test frames. Every set's provenance stays linked.
    """
    if len(training_sets) < 2:
        raise ValueError('merge_training_sets takes two or more training sets')
    frames = []
    for key in sorted(training_sets):
        for frame in training_sets[key].get_frames():
            frame.info['from_set'] = key
            frames.append(frame)
    return TrainingSetData.from_frames(frames, source='dft')
