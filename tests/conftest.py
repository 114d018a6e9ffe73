"""Fixtures shared across the test folders (unit/<layer>/ and integration/). Built models go to a per-session
temporary folder (TAGGER_MODELS), never into the checkout. Fixtures that one folder alone uses live in that folder's
conftest.py; plain helper functions in tests/shared.py."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["TAGGER_DEVICE"] = os.environ.get("TAGGER_TEST_DEVICE", "cpu")

from tests.shared import PHOTO_FOLDER, caltech_files


@pytest.fixture(scope="session")
def models_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("models")
    old = os.environ.get("TAGGER_MODELS")
    os.environ["TAGGER_MODELS"] = str(root)
    yield root
    if old is None:
        os.environ.pop("TAGGER_MODELS", None)
    else:
        os.environ["TAGGER_MODELS"] = old


@pytest.fixture(scope="session")
def engine(models_root):
    """The default model (lite0 + the default word space), built once per test session like a user's first run."""
    from tagger.engine.core import Engine

    return Engine.load("lite0")


@pytest.fixture(scope="session")
def caltech_library(tmp_path_factory) -> Path:
    """A small real library: six photos each of a few Caltech-101 classes, in one folder per class."""
    import shutil

    root = tmp_path_factory.mktemp("library") / "photos"
    for folder in ("airplanes", "kangaroo", "Leopards", "Motorbikes", "pizza", "ketch", "sunflower", "okapi"):
        (root / folder).mkdir(parents=True)
        for f in caltech_files(folder, 6):
            shutil.copy(f, root / folder / f.name)
    return root


@pytest.fixture(scope="session")
def caltech_catalog(engine, caltech_library, tmp_path_factory) -> Path:
    """`caltech_library` indexed once by the default model: the catalog that the search tests and the CLI tests read.
    A test that changes it puts it back, so that every test sees the same 48 indexed photos."""
    from tagger.library.catalog import Catalog
    from tagger.library.indexer import Indexer

    db = tmp_path_factory.mktemp("catalog") / "catalog.db"
    with Catalog.open(db) as cat:
        Indexer(cat, engine).index([caltech_library])
    return db


@pytest.fixture(scope="session")
def photo_folder_copy(tmp_path_factory) -> Path:
    """A private, writable copy of the shared real-world photo folder (the shared one is read-only)."""
    import shutil

    if not PHOTO_FOLDER.is_dir():
        pytest.skip(f"shared photo folder not available at {PHOTO_FOLDER}")
    copy = tmp_path_factory.mktemp("pf") / "photo_folder"
    shutil.copytree(PHOTO_FOLDER, copy)
    for p in copy.rglob("*"):
        p.chmod(0o755 if p.is_dir() else 0o644)
    return copy


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
