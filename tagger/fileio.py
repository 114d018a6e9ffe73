"""Files written so that a kill, a full disk or a second process never leaves half of one; content identity by hash.

Every file Tagger writes next to the user's data (manifests, caches, thumbnails, ONNX graphs) goes through
``atomic_path``: write a temporary file in the same folder, flush it to disk, then ``os.replace`` it over the target.
Readers see the old file or the new one, never a torn one, and a failure removes the temporary file instead of
leaving litter in the user's folders.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CONTENT_HASH_CHARS = 32  # 128 bits of SHA-256: the photo identity the catalog stores


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks (model artefacts are hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def content_hash(data: bytes) -> str:
    """A photo's identity: what its bytes are, not where they live, so a moved or renamed photo keeps its tags."""
    return hashlib.sha256(data).hexdigest()[:CONTENT_HASH_CHARS]


@contextmanager
def atomic_path(path: Path, *, suffix: str = ".tmp", fsync: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; when the block ends without error it replaces ``path`` atomically.

    ``suffix`` lets writers that insist on an extension (``np.savez`` appends ``.npz``) keep it. With ``fsync`` the
    data reaches the disk before the rename, so a power cut cannot leave an empty file under the real name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: Path, data: bytes, *, fsync: bool = True) -> None:
    with atomic_path(path, fsync=fsync) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_json(path: Path, data: Any) -> None:
    """Pretty, key-sorted JSON (manifests are read by people too), written atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
