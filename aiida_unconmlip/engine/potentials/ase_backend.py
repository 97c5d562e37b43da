"""Backend for an ASE calculator, named by its import path in a small JSON spec file.

The spec file is the "model file" of this backend, so ASE potentials get a content hash and a node in the
provenance graph like any trained model::

    {"calculator": "ase.calculators.emt.EMT", "kwargs": {}, "elements": ["Cu", "Al"], "name": "emt"}

A spec is data from whoever wrote the file, so it may only name an allowed calculator class: ASE's in-process
potentials and the project's reference potentials (:data:`BUILT_IN_CALCULATORS`), plus the modules or classes the
user lists in the environment variable ``UNCONMLIP_ALLOWED_CALCULATORS`` (comma-separated, e.g.
``chgnet.model.dynamics,sevenn.calculator``), on the machine that imports the model and on the compute node. The
name is checked before its module is imported, and the object found must be a subclass of ASE's
``BaseCalculator`` before it is called. ASE calculators that run an external program (those taking a ``command``,
such as ``Vasp`` or ``CP2K``) are not built in: allowing them runs what their spec says. ``elements`` is
optional: when given, the engine refuses other elements before calling the calculator.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import BaseCalculator
from ase.neighborlist import neighbor_list

from ..errors import ModelUnreadable, UnsupportedCapability
from ..structures import MIN_DISTANCE
from .base import BatchTooLarge, ModelDescription, OverlappingAtoms, Prediction

ALLOW_VARIABLE = 'UNCONMLIP_ALLOWED_CALCULATORS'
BUILT_IN_CALCULATORS = (
    'ase.calculators.eam.EAM',
    'ase.calculators.emt.EMT',
    'ase.calculators.idealgas.IdealGas',
    'ase.calculators.lj.LennardJones',
    'ase.calculators.morse.MorsePotential',
    'ase.calculators.tip3p.TIP3P',
    'ase.calculators.tip4p.TIP4P',
    'aiida_unconmlip.engine.reference_potentials.TersoffSi1988',
)
SPEC_KEYS = ('calculator', 'kwargs', 'elements', 'name')


def allowed_by_user() -> list[str]:
    """Modules or classes the user allowed in ``UNCONMLIP_ALLOWED_CALCULATORS``."""
    return [entry.strip() for entry in os.environ.get(ALLOW_VARIABLE, '').split(',') if entry.strip()]


def is_allowed(dotted_path: str) -> bool:
    """Whether ``dotted_path`` is a built-in calculator or lies in a module (or is a class) the user allowed."""
    if dotted_path in BUILT_IN_CALCULATORS:
        return True
    return any(dotted_path == entry or dotted_path.startswith(f'{entry}.') for entry in allowed_by_user())


def calculator_class(dotted_path: str) -> type[BaseCalculator]:
    """The calculator class at ``dotted_path``, checked against the allowed names before anything is imported."""
    dotted_path = dotted_path.replace(':', '.')
    if not is_allowed(dotted_path):
        raise ModelUnreadable(
            f'`{dotted_path}` is not an allowed ASE calculator: a spec may name {", ".join(BUILT_IN_CALCULATORS)}, '
            f'or a module or class you allow in the environment variable {ALLOW_VARIABLE} (comma-separated)'
        )
    module_name, _, attribute = dotted_path.rpartition('.')
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise ModelUnreadable(f'cannot import `{dotted_path}`: {exc}') from exc
    if not (isinstance(found, type) and issubclass(found, BaseCalculator)):
        raise ModelUnreadable(f'`{dotted_path}` is not an ASE calculator class (a subclass of BaseCalculator)')
    return found


def read_spec(path: str | Path) -> dict[str, Any]:
    """Read and check an ASE calculator spec file."""
    try:
        spec = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelUnreadable(f'{path} is not a readable ASE calculator spec (JSON): {exc}') from exc
    if not isinstance(spec, dict) or not isinstance(spec.get('calculator'), str):
        raise ModelUnreadable(f'{path} must be a JSON object with a "calculator" import path')
    unknown = set(spec) - set(SPEC_KEYS)
    if unknown:
        raise ModelUnreadable(f'{path} has unknown keys {sorted(unknown)}; allowed: {", ".join(SPEC_KEYS)}')
    if not isinstance(spec.get('kwargs', {}), dict):
        raise ModelUnreadable(f'{path}: "kwargs" must be a JSON object of keyword arguments')
    return spec


def check_distances(position: int, atoms: Atoms) -> None:
    """Overlapping atoms, with ASE's neighbour list (an ASE calculator builds its own, out of reach)."""
    first, second, distance = neighbor_list('ijd', atoms, MIN_DISTANCE, self_interaction=False)
    if len(distance):
        closest = int(np.argmin(distance))
        raise OverlappingAtoms(position, int(first[closest]), int(second[closest]), float(distance[closest]))


class AsePotential:
    """An ASE calculator behind the engine's batch interface (evaluated one structure after another: a calculator
    object keeps state between calls, so calls never run at once)."""

    max_concurrent_calls = 1

    def __init__(self, path: str | Path):
        spec = read_spec(path)
        calculator = calculator_class(spec['calculator'])
        try:
            self._calculator = calculator(**spec.get('kwargs', {}))
        except Exception as exc:
            raise ModelUnreadable(f'could not build the ASE calculator `{spec["calculator"]}`: {exc}') from exc
        self.device = 'cpu'
        self.phase_seconds: dict[str, float] = {}
        self.description = ModelDescription(
            backend='ase',
            architecture=spec['calculator'],
            name=spec.get('name') or spec['calculator'].rpartition('.')[2],
            elements=sorted(spec['elements']) if spec.get('elements') else None,
            cutoff=None,
            dtype='float64',
            capabilities={'conservative': True, 'direct_forces': False, 'direct_stress': False},
        )

    def concurrent(self, calls: int) -> AbstractContextManager[None]:
        return nullcontext()

    def predict(self, structures: list[Atoms], forces_mode: str) -> list[Prediction]:
        if forces_mode != 'conservative':
            raise UnsupportedCapability('ASE calculators give conservative forces only; use forces_mode conservative')
        predictions = []
        start = time.perf_counter()
        for position, atoms in enumerate(structures):
            check_distances(position, atoms)
            atoms = atoms.copy()
            atoms.calc = self._calculator
            try:
                stress = atoms.get_stress(voigt=False) if atoms.pbc.all() else None
                energy, forces = float(atoms.get_potential_energy()), np.array(atoms.get_forces(), dtype=float)
            except MemoryError as exc:
                raise BatchTooLarge(f'the ASE calculator ran out of memory: {exc}') from exc
            predictions.append(
                Prediction(energy=energy, forces=forces, stress=None if stress is None else np.array(stress, float))
            )
        self.phase_seconds['calculator'] = self.phase_seconds.get('calculator', 0.0) + time.perf_counter() - start
        return predictions
