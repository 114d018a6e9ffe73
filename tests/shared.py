"""Where the project's shared, read-only data sets are (``../shared/data`` next to the checkout, or
``TAGGER_SHARED_DATA``); tests that need them skip cleanly when they are absent."""

from __future__ import annotations

import os
from pathlib import Path

SHARED = Path(os.environ["TAGGER_SHARED_DATA"]) if os.environ.get("TAGGER_SHARED_DATA") else (
    Path(__file__).resolve().parents[1].parent / "shared" / "data")
CALTECH = SHARED / "caltech101"
PHOTO_FOLDER = SHARED / "photo_folder"
