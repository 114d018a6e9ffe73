"""Fixtures shared by the library tests."""

from __future__ import annotations

import shutil

import pytest

from tagger.library.catalog import Catalog


@pytest.fixture
def lib(engine, caltech_catalog, tmp_path):
    """A Library over a private copy of the shared small catalog: a test may write to it (tags, detections)."""
    from tagger.library.search import Library

    db = tmp_path / "catalog.db"
    shutil.copy(caltech_catalog, db)
    with Catalog.open(db) as catalog:
        yield Library(catalog, engine)
