"""sha256 of files and folders: the one file hasher (encoder weights, cache keys, dataset checks)."""
from __future__ import annotations

import hashlib
from pathlib import Path


def hash_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """sha256 of a file's bytes, as hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def hash_tree(path: str | Path) -> str:
    """sha256 over a file or a folder's files (relative names and bytes), in a stable order.

    A single file hashes as :func:`hash_file`.
    """
    path = Path(path)
    if path.is_file():
        return hash_file(path)
    digest = hashlib.sha256()
    for child in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(child.relative_to(path).as_posix().encode())
        digest.update(hash_file(child).encode())
    return digest.hexdigest()
