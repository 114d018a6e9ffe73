"""Where Tagger keeps things: shipped resources, built models, the catalog.

Built models go to ``models/`` of a source checkout (the layout the developers use) and to the user data directory
for an installed copy, because site-packages may not be writable. ``TAGGER_MODELS`` overrides both, so tests and
benchmarks can build into a temporary folder.
"""

from __future__ import annotations

import os
from importlib import resources as _resources
from pathlib import Path

import platformdirs

APP_NAME = "Tagger"


def resource_path(name: str) -> Path:
    """Path of a file shipped in ``resources/`` (installed as the ``tagger.resources`` package)."""
    return Path(str(_resources.files("tagger.resources").joinpath(name)))


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_db_path() -> Path:
    return user_data_dir() / "catalog.db"


def source_checkout() -> Path | None:
    """The repository root when Tagger runs from a source checkout, else None."""
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").is_file() and (root / "models").is_dir():
        return root
    return None


def models_dir() -> Path:
    env = os.environ.get("TAGGER_MODELS")
    if env:
        path = Path(env)
    elif (root := source_checkout()) is not None:
        path = root / "models"
    else:
        path = user_data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path
