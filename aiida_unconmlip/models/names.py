"""Model names: what ``--model NAME`` finds. One model per name, and the names of shipped models are theirs.

A model's name is the label of its node (the one property of a stored node that may change, so a name can be moved
on purpose). The file a node holds never changes: its sha256 is its identity. The rules:

- a name belongs to at most one model; importing another file under a taken name is refused, unless the owner
  moves the name on purpose (``models import FILE --name NAME --replace``, ``models rename``);
- the name of a shipped model always means the shipped file (found by the registry's sha256, whatever labels say)
  and can be given to no other file; shipped models cannot be renamed.
"""

from __future__ import annotations

from aiida.orm import QueryBuilder

from ..data.model import ModelData, ModelImportError, RemoteModelData
from . import shipped_models

MODEL_TYPES = (ModelData, RemoteModelData)


def shipped_sha256(name: str) -> str | None:
    """The sha256 of the shipped model called ``name``, if there is one."""
    return next((model.sha256 for model in shipped_models() if model.name == name), None)


def named(name: str):
    """The model called ``name``: a shipped model by its hash, any other by its label; None if there is none."""
    sha256 = shipped_sha256(name)
    if sha256 is not None:
        return ModelData.find(sha256)  # shipped models are files here: the one whose file has the hash
    holders = QueryBuilder().append(MODEL_TYPES, filters={'label': name}).all(flat=True)
    if len(holders) > 1:
        raise ModelImportError(
            f'several models are called `{name}` (PKs {", ".join(str(node.pk) for node in holders)}); '
            f'keep one name each with `aiida-unconmlip models rename`'
        )
    return holders[0] if holders else None


def check_name(name: str) -> None:
    if not name or name != name.strip() or name.isdigit():
        raise ModelImportError(f'`{name}` is not a usable model name: give a non-empty name that is not a number')


def claim(node, name: str, replace: bool = False) -> None:
    """Give ``name`` to ``node`` (stored or not); refuse a name that is shipped or taken, unless ``replace`` moves a
    taken (not shipped) name from the model that has it."""
    check_name(name)
    shipped = shipped_sha256(name)
    if shipped is not None and shipped != node.sha256:
        raise ModelImportError(
            f'`{name}` is the name of a model shipped with aiida-unconmlip (sha256 {shipped[:12]}...); '
            'it cannot be given to another file: choose another name'
        )
    own = _shipped_name_of(node)
    if own is not None and name != own:
        raise ModelImportError(f'this is the shipped model `{own}`: its name cannot change')
    holder = named(name) if shipped is None else None
    if holder is not None and holder.uuid != node.uuid:
        if not replace:
            raise ModelImportError(
                f'the name `{name}` is taken by model PK {holder.pk} (sha256 {holder.sha256[:12]}...); choose another '
                'name, or move it to this file with --replace'
            )
        holder.label = ''
    node.label = name


def _shipped_name_of(node) -> str | None:
    return next((model.name for model in shipped_models() if model.sha256 == node.sha256), None)


def free_name(preferred: str, node) -> str:
    """``preferred`` if no other model has it and it is no shipped model's, else ``preferred`` with a short hash."""
    holder = None if shipped_sha256(preferred) else named(preferred)
    if shipped_sha256(preferred) in (None, node.sha256) and (holder is None or holder.uuid == node.uuid):
        return preferred
    return f'{preferred}-{node.sha256[:8]}'
