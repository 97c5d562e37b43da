"""The restoration vocabulary both halves share: every step's name, where it runs, what it takes, and the record
it leaves.

A restoration request is one mapping from step name to value, the same for every process that applies steps::

    {"fix_symmetry": true,
     "forces_mode": "conservative",
     "rotational_average": {"l_max": 3, "inversion": true},
     "space_group_projection": true,
     "net_force_removal": true,
     "force_constant_symmetrization": true}

``forces_mode`` takes ``conservative`` or ``direct``; ``rotational_average`` takes ``false`` or ``{l_max, inversion}``;
``force_constant_symmetrization`` takes ``true`` (symfc's projector: sum rule, permutation and space group),
``"traditional"`` (phonopy's and phono3py's own iterations: sum rule and permutation only, what scripts written
against them, the Matbench Discovery kappa recipe among them, call) or ``false``; every other step takes ``true`` or
``false``. A process validates the steps it applies with
:func:`parse_restoration` (the engine: ``forces_mode``, ``rotational_average`` and, when relaxing,
``fix_symmetry``; the phonon work chain: all of them) and refuses the others by name.

Wherever a step runs, it leaves one :class:`StepRecord` ``{name, parameters, effect}``; the AiiDA side stores each
as a ``Dict`` under the output namespace ``restoration_steps``, so the provenance query, ``show`` and the command
line read records and know no step by name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..step_record import StepRecord

MAX_L = 20
# spglib's tolerance (Angstrom) wherever symmetry is found: FixSymmetry, refinement, displacements, projections.
DEFAULT_SYMPREC = 1e-5
FORCES_MODES = ('conservative', 'direct')
DEFAULT_FORCES_MODE = 'conservative'
# force_constant_symmetrization's value -> how: symfc's projector for true, phonopy's iterations for "traditional".
FC_SYMMETRIZATIONS = {True: 'symfc', 'traditional': 'traditional', False: None}


@dataclass(frozen=True)
class StepDefinition:
    """A restoration step: its one name, the stage of the calculation it acts on, its default and what it does."""

    name: str
    stage: str
    default: Any
    description: str


STEPS = (
    StepDefinition(
        'fix_symmetry', 'relaxation', True, "ASE's FixSymmetry keeps the space group of the input during relaxation."
    ),
    StepDefinition(
        'forces_mode',
        'inference',
        DEFAULT_FORCES_MODE,
        'Forces and stress from autograd of the energy (conservative) or from the model heads (direct).',
    ),
    StepDefinition(
        'rotational_average',
        'inference',
        False,
        'Average of the model over an O(3) quadrature that integrates components up to l_max exactly.',
    ),
    StepDefinition(
        'space_group_projection', 'forces', True, "Forces and stress projected onto each structure's space group."
    ),
    StepDefinition('net_force_removal', 'forces', True, 'The mean force of each structure subtracted.'),
    StepDefinition(
        'force_constant_symmetrization',
        'force_constants',
        True,
        'Translational acoustic sum rule, index permutation and space group imposed on the force constants '
        '("traditional": phonopy\'s iterations, sum rule and permutation only).',
    ),
)
STEP_NAMES = tuple(step.name for step in STEPS)
INFERENCE_STEPS = ('forces_mode', 'rotational_average')
RELAXATION_STEPS = ('fix_symmetry', *INFERENCE_STEPS)
# The raw side of a raw-versus-restored comparison: every step that can be switched off, off.
RESTORATION_OFF = {step.name: False for step in STEPS if step.name != 'forces_mode'}


def _parse_rotational_average(value: Any) -> dict[str, Any] | bool:
    if value is False:
        return False
    if not isinstance(value, dict):
        raise ValueError('rotational_average must be false or a mapping such as {"l_max": 3, "inversion": true}')
    unknown = set(value) - {'l_max', 'inversion'}
    if unknown:
        raise ValueError(f'unknown rotational_average keys {sorted(unknown)}; allowed: l_max, inversion')
    l_max = value.get('l_max')
    if isinstance(l_max, bool) or not isinstance(l_max, int) or not 1 <= l_max <= MAX_L:
        raise ValueError(
            f'rotational_average.l_max must be an integer from 1 to {MAX_L}, not {l_max!r} '
            '(rotational_average: false switches the average off)'
        )
    inversion = value.get('inversion', False)
    if not isinstance(inversion, bool):
        raise ValueError(f'rotational_average.inversion must be true or false, not {inversion!r}')
    return {'l_max': l_max, 'inversion': inversion}


def _parse_value(name: str, value: Any) -> Any:
    if name == 'forces_mode':
        if value not in FORCES_MODES:
            raise ValueError(f'forces_mode must be one of {list(FORCES_MODES)}, not {value!r}')
        return value
    if name == 'rotational_average':
        return _parse_rotational_average(value)
    if name == 'force_constant_symmetrization':
        if not (isinstance(value, bool) or value == 'traditional'):
            raise ValueError(f'force_constant_symmetrization is true, "traditional" or false, not {value!r}')
        return value
    if not isinstance(value, bool):
        raise ValueError(f'{name} is switched on or off with true or false, not {value!r}')
    return value


def fc_symmetrization(value: bool | str) -> str | None:
    """How the force constants are symmetrised for the step's value: ``symfc``, ``traditional`` or None (off);
    ``ValueError`` for any other value."""
    return FC_SYMMETRIZATIONS[_parse_value('force_constant_symmetrization', value)]


def parse_restoration(data: dict[str, Any] | None, applicable: Iterable[str] = INFERENCE_STEPS) -> dict[str, Any]:
    """Every step in ``applicable`` with its value (defaults filled in); ``ValueError`` says what to fix."""
    data = dict(data or {})
    applicable = tuple(applicable)
    unknown = set(data) - set(STEP_NAMES)
    if unknown:
        raise ValueError(f'unknown restoration steps {sorted(unknown)}; the steps are: {", ".join(STEP_NAMES)}')
    elsewhere = [name for name in STEP_NAMES if name in data and name not in applicable]
    if elsewhere:
        raise ValueError(
            f'restoration step {", ".join(elsewhere)} is not applied by this process; '
            f'it applies: {", ".join(applicable)}'
        )
    return {
        step.name: _parse_value(step.name, data.get(step.name, step.default))
        for step in STEPS
        if step.name in applicable
    }


@dataclass(frozen=True)
class Restoration:
    """The inference steps the engine applies around the model: how forces are obtained, the rotational average."""

    forces_mode: str = DEFAULT_FORCES_MODE
    l_max: int = 0  # no average; in restoration mappings that is ``rotational_average: false``
    inversion: bool = False

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> Restoration:
        """From the values :func:`parse_restoration` returned (other stages' steps are not the engine's)."""
        average = values.get('rotational_average') or {'l_max': 0, 'inversion': False}
        return cls(forces_mode=values['forces_mode'], l_max=average['l_max'], inversion=average['inversion'])

    def as_steps(self) -> dict[str, Any]:
        """The restoration mapping of these steps, as written into job.json."""
        average = {'l_max': self.l_max, 'inversion': self.inversion} if self.l_max else False
        return {'forces_mode': self.forces_mode, 'rotational_average': average}


def combine_records(per_structure: list[list[StepRecord]]) -> list[StepRecord]:
    """One record per step for all structures: per-structure lists in the effects are concatenated."""
    combined: dict[str, StepRecord] = {}
    for records in per_structure:
        for record in records:
            if record.name not in combined:
                combined[record.name] = StepRecord(record.name, record.parameters, dict(record.effect))
                continue
            effect = combined[record.name].effect
            for key, value in record.effect.items():
                if isinstance(value, list):
                    effect[key] = effect[key] + value
    return list(combined.values())
