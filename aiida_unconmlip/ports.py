"""Port validators built from the plain parsers that define what a Dict input may hold."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiida.orm import Dict


def dict_validator(parse: Callable[[dict[str, Any]], Any]) -> Callable[[Dict, Any], str | None]:
    """A validator that returns ``parse``'s ValueError message, so submission fails with the parser's words."""

    def validate(node: Dict, _) -> str | None:
        try:
            parse(node.get_dict())
        except ValueError as exc:
            return str(exc)
        return None

    return validate
