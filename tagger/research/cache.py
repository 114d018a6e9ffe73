"""Where research analyses keep what is slow to recompute (patch features, whole-photo embeddings of a data set).

Never in a product folder: the model folders and the catalog are what the app ships and reads, and an analysis must
not change them or fill them with files the app never cleans up. ``TAGGER_RESEARCH_CACHE`` chooses the folder (tests,
a bigger disk); otherwise it is ``research`` in the user cache folder, which the system may clear: everything here
can be recomputed.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from tagger.paths import APP_NAME

RESEARCH_CACHE_ENV = "TAGGER_RESEARCH_CACHE"


def research_cache_dir() -> Path:
    """The research cache root (not created here: writers create what they fill)."""
    env = os.environ.get(RESEARCH_CACHE_ENV)
    return Path(env) if env else Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)) / "research"
