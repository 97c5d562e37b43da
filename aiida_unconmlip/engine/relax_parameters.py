"""How a relaxation is asked for: the parameters of the relax task, checked where they are given.

Apart from :mod:`aiida_unconmlip.engine.relax`, which imports ASE's optimisers and constraints (half a second), so
that the AiiDA side checks and writes relax jobs without them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .restoration import DEFAULT_SYMPREC

OPTIMIZER_NAMES = ('FIRE', 'BFGS', 'LBFGS')  # ASE's optimisers of those names
# What the cell may do: nothing, anything, keep its volume, or only stretch along its axes (the three normal strains,
# no shear: the mask Matbench Discovery's kappa recipe relaxes with).
CELL_MODES = ('positions', 'full', 'fixed_volume', 'normal_strains')


@dataclass(frozen=True)
class RelaxParameters:
    """How to relax: optimiser, which degrees of freedom, convergence, symmetry tolerance, trajectory.

    These defaults are the only ones: the ``moderate`` protocol is them, the other protocols say what they change.
    Whether FixSymmetry is applied is the restoration step ``fix_symmetry``; ``symprec`` (Angstrom) is its tolerance.
    """

    optimizer: str = 'FIRE'
    cell: str = 'full'
    pressure_gpa: float = 0.0
    fmax: float = 1e-4
    max_steps: int = 2000
    symprec: float = DEFAULT_SYMPREC
    trajectory_interval: int = 10

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_relax_parameters(data: dict[str, Any] | None) -> RelaxParameters:
    """Build :class:`RelaxParameters`, raising ``ValueError`` that says what to fix."""
    data = dict(data or {})
    allowed = set(RelaxParameters.__dataclass_fields__)
    unknown = set(data) - allowed
    if unknown:
        raise ValueError(f'unknown relax parameters {sorted(unknown)}; allowed: {", ".join(sorted(allowed))}')
    parameters = RelaxParameters(**data)
    if parameters.optimizer not in OPTIMIZER_NAMES:
        raise ValueError(f'optimizer must be one of {sorted(OPTIMIZER_NAMES)}, not {parameters.optimizer!r}')
    if parameters.cell not in CELL_MODES:
        raise ValueError(f'cell must be one of {list(CELL_MODES)}, not {parameters.cell!r}')
    if parameters.pressure_gpa and parameters.cell not in ('full', 'normal_strains'):
        raise ValueError('a target pressure needs cell "full" or "normal_strains" (positions and cell relaxed)')
    for name in ('fmax', 'symprec'):
        value = getattr(parameters, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f'{name} must be a positive number, not {value!r}')
    for name in ('max_steps', 'trajectory_interval'):
        value = getattr(parameters, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f'{name} must be a positive integer, not {value!r}')
    return parameters
