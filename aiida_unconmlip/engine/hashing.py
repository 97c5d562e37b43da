"""Content hash of model files: the identity of a model on both sides of the folder contract."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import BinaryIO

from .errors import ModelHashMismatch

CHUNK_BYTES = 1 << 20


def sha256_of_stream(handle: BinaryIO) -> str:
    """The hex sha256 of what ``handle`` reads, in chunks so GB-sized models do not fill memory."""
    digest = hashlib.sha256()
    while chunk := handle.read(CHUNK_BYTES):
        digest.update(chunk)
    return digest.hexdigest()


def sha256_of_file(path: str | Path) -> str:
    """Return the hex sha256 of a file."""
    with open(path, 'rb') as handle:
        return sha256_of_stream(handle)


def verify_sha256(path: str | Path, expected: str) -> None:
    """Refuse a model file whose content differs from the recorded hash."""
    actual = sha256_of_file(path)
    if actual != expected:
        raise ModelHashMismatch(
            f'model file {path} has sha256 {actual}, but {expected} was recorded: '
            'the file changed or is not the model that was imported; re-import the intended file'
        )
