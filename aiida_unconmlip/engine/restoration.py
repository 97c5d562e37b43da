"""The in-engine symmetry-restoration request: parsed and validated in one place.

The AiiDA side validates the CalcJob's ``restoration`` Dict with :func:`parse_restoration`, so a request is
rejected at submission with the same message the engine would give.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from .potentials.base import FORCES_MODES

MAX_L = 20


@dataclass(frozen=True)
class Restoration:
    """Restoration steps that need the model: how forces are obtained and the O(3) rotational average."""

    forces_mode: str = 'conservative'
    l_max: int = 0
    inversion: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The canonical dict form, as stored in provenance and in the job's settings."""
        data = asdict(self)
        return {
            'forces_mode': data['forces_mode'],
            'rotational_average': {'l_max': data['l_max'], 'inversion': data['inversion']},
        }


def parse_restoration(data: dict[str, Any] | None) -> Restoration:
    """Build a :class:`Restoration` from its dict form, raising ``ValueError`` that says what to fix."""
    data = dict(data or {})
    unknown = set(data) - {'forces_mode', 'rotational_average'}
    if unknown:
        raise ValueError(
            f'unknown restoration keys {sorted(unknown)}; allowed: forces_mode, rotational_average '
            '(space_group_projection and net_force_removal are separate calcfunctions)'
        )
    forces_mode = data.get('forces_mode', 'conservative')
    if forces_mode not in FORCES_MODES:
        raise ValueError(f'forces_mode must be one of {list(FORCES_MODES)}, not {forces_mode!r}')
    average = data.get('rotational_average') or {}
    if not isinstance(average, dict):
        raise ValueError('rotational_average must be a mapping such as {"l_max": 3, "inversion": true}')
    unknown = set(average) - {'l_max', 'inversion'}
    if unknown:
        raise ValueError(f'unknown rotational_average keys {sorted(unknown)}; allowed: l_max, inversion')
    l_max = average.get('l_max', 0)
    if isinstance(l_max, bool) or not isinstance(l_max, int) or not 0 <= l_max <= MAX_L:
        raise ValueError(f'rotational_average.l_max must be an integer from 0 (no averaging) to {MAX_L}, not {l_max!r}')
    inversion = average.get('inversion', False)
    if not isinstance(inversion, bool):
        raise ValueError(f'rotational_average.inversion must be true or false, not {inversion!r}')
    return Restoration(forces_mode=forces_mode, l_max=l_max, inversion=inversion)
