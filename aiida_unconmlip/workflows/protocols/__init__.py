"""Protocols: named sets of inputs in YAML beside the code, merged with user overrides that are checked against
the process's ports so a mistyped key is an error, not silently ignored."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from aiida.engine.processes.ports import PortNamespace

PROTOCOL_FOLDER = Path(__file__).parent


def recursive_merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated with ``overrides``, nested dictionaries merged key by key."""
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = recursive_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_protocol(name: str, protocol: str | None) -> tuple[str, dict[str, Any]]:
    """The protocol's name and its inputs (defaults merged with the protocol's own values)."""
    data = yaml.safe_load((PROTOCOL_FOLDER / f'{name}.yaml').read_text())
    protocol = protocol or data['default_protocol']
    if protocol not in data['protocols']:
        raise ValueError(f'unknown protocol `{protocol}`; choose one of {", ".join(data["protocols"])}')
    specific = {key: value for key, value in data['protocols'][protocol].items() if key != 'description'}
    return protocol, recursive_merge(data['default_inputs'], specific)


def check_override_keys(overrides: dict[str, Any], namespace: PortNamespace, prefix: str = '') -> None:
    """Refuse override keys that name no input port, even in dynamic namespaces (a typo there would otherwise
    pass silently); the contents of Dict inputs are left to their validators."""
    for key, value in overrides.items():
        if key not in namespace:
            known = ', '.join(sorted(namespace))
            raise ValueError(f'unknown override `{prefix}{key}`; known inputs here: {known}')
        port = namespace[key]
        if isinstance(port, PortNamespace) and isinstance(value, dict):
            check_override_keys(value, port, prefix=f'{prefix}{key}.')
