"""Where the project's shared, read-only data sets are (``../shared/data`` next to the checkout, or
``TAGGER_SHARED_DATA``); tests that need them skip cleanly when they are absent."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

SHARED = Path(os.environ["TAGGER_SHARED_DATA"]) if os.environ.get("TAGGER_SHARED_DATA") else (
    Path(__file__).resolve().parents[1].parent / "shared" / "data")
CALTECH = SHARED / "caltech101"
PHOTO_FOLDER = SHARED / "photo_folder"


def digests(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, by relative path: proof that nothing was written."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}
