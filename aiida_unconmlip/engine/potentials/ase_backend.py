"""Backend for any ASE calculator, named by its import path in a small JSON spec file.

The spec file is the "model file" of this backend, so ASE potentials get a content hash and a node in the
provenance graph like any trained model::

    {"calculator": "ase.calculators.emt.EMT", "kwargs": {}, "elements": ["Cu", "Al"], "name": "emt"}

``calculator`` is a dotted path to a class or factory returning an ASE calculator. ``elements`` is optional:
when given, the engine refuses other elements before calling the calculator.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator

from ..errors import ModelUnreadable, UnsupportedCapability
from .base import ModelDescription, Prediction


def import_object(dotted_path: str) -> Any:
    """Import ``package.module.Name`` (or ``package.module:Name``) and return ``Name``."""
    module_name, _, attribute = dotted_path.replace(':', '.').rpartition('.')
    if not module_name:
        raise ModelUnreadable(f'`{dotted_path}` is not a dotted import path such as ase.calculators.emt.EMT')
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attribute)
    except (ImportError, AttributeError) as exc:
        raise ModelUnreadable(f'cannot import `{dotted_path}`: {exc}') from exc


def read_spec(path: str | Path) -> dict[str, Any]:
    """Read and check an ASE calculator spec file."""
    try:
        spec = json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelUnreadable(f'{path} is not a readable ASE calculator spec (JSON): {exc}') from exc
    if not isinstance(spec, dict) or not isinstance(spec.get('calculator'), str):
        raise ModelUnreadable(f'{path} must be a JSON object with a "calculator" import path')
    unknown = set(spec) - {'calculator', 'kwargs', 'elements', 'name'}
    if unknown:
        raise ModelUnreadable(f'{path} has unknown keys {sorted(unknown)}')
    return spec


class AsePotential:
    """An ASE calculator behind the engine's batch interface (evaluated one structure after another)."""

    def __init__(self, path: str | Path):
        spec = read_spec(path)
        factory = import_object(spec['calculator'])
        try:
            self._calculator: Calculator = factory(**spec.get('kwargs', {}))
        except Exception as exc:
            raise ModelUnreadable(f'could not build the ASE calculator `{spec["calculator"]}`: {exc}') from exc
        self.device = 'cpu'
        self.description = ModelDescription(
            backend='ase',
            architecture=spec['calculator'],
            name=spec.get('name') or spec['calculator'].rpartition('.')[2],
            elements=sorted(spec['elements']) if spec.get('elements') else None,
            cutoff=None,
            dtype='float64',
            capabilities={'conservative': True, 'direct_forces': False, 'direct_stress': False},
        )

    def predict(self, structures: list[Atoms], forces_mode: str) -> list[Prediction]:
        if forces_mode != 'conservative':
            raise UnsupportedCapability('ASE calculators give conservative forces only; use forces_mode conservative')
        predictions = []
        for atoms in structures:
            atoms = atoms.copy()
            atoms.calc = self._calculator
            stress = atoms.get_stress(voigt=False) if atoms.pbc.all() else None
            predictions.append(
                Prediction(
                    energy=float(atoms.get_potential_energy()),
                    forces=np.array(atoms.get_forces(), dtype=float),
                    stress=None if stress is None else np.array(stress, dtype=float),
                )
            )
        return predictions
