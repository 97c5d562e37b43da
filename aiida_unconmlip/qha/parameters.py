"""Validated parameters of the quasi-harmonic volume scan: what the ``volumes`` Dict may hold and its defaults."""

from __future__ import annotations

from typing import Any

from ..phonons.parameters import with_defaults
from .calculation import EQUATIONS_OF_STATE, volume_scale_factors

VOLUMES = {'n_volumes': 7, 'max_linear_strain': 0.01, 'eos': 'vinet'}


def parse_volumes(given: dict[str, Any] | None) -> dict[str, Any]:
    values = with_defaults('volumes', VOLUMES, given)
    volume_scale_factors(values['n_volumes'], values['max_linear_strain'])  # raises with what to fix
    if values['eos'] not in EQUATIONS_OF_STATE:
        raise ValueError(f'volumes.eos must be one of {", ".join(EQUATIONS_OF_STATE)}, not {values["eos"]!r}')
    return values
