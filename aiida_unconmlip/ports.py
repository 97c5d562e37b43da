"""Port validators built from the plain parsers that define what a Dict input may hold."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from aiida.orm import Dict, Float


def dict_validator(parse: Callable[[dict[str, Any]], Any]) -> Callable[[Dict, Any], str | None]:
    """A validator that returns ``parse``'s ValueError message, so submission fails with the parser's words."""

    def validate(node: Dict, _) -> str | None:
        try:
            parse(node.get_dict())
        except ValueError as exc:
            return str(exc)
        return None

    return validate


def validate_positive_length(node: Float, _) -> str | None:
    """A tolerance or length (Angstrom) must be a positive, finite number."""
    if not math.isfinite(node.value) or node.value <= 0:
        return f'must be a positive, finite length in Angstrom, not {node.value}'
    return None
