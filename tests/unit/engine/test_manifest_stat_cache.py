"""Issue 16 ("speed"): an unchanged model file is not re-hashed on every start; a changed size or mtime is."""

from __future__ import annotations

import json
import os

import pytest

from tagger.engine import manifest as mf
from tagger.fileio import sha256_file


@pytest.fixture
def model(tmp_path, monkeypatch):
    (tmp_path / "w.bin").write_bytes(b"weights" * 100)
    (tmp_path / mf.MANIFEST_NAME).write_text(json.dumps(
        {"format": mf.MANIFEST_FORMAT, "artefacts": {"w.bin": sha256_file(tmp_path / "w.bin")}}))
    hashed = []

    def counting(path):
        hashed.append(path)
        return sha256_file(path)

    monkeypatch.setattr(mf, "sha256_file", counting)
    return tmp_path, hashed


def test_an_unchanged_file_is_hashed_once(model):
    folder, hashed = model
    mf.load_verified(folder)
    mf.load_verified(folder)
    assert len(hashed) == 1


def test_a_changed_size_or_mtime_is_hashed_again_and_refused(model):
    folder, hashed = model
    mf.load_verified(folder)
    w = folder / "w.bin"
    st = w.stat()
    w.write_bytes(b"Weights" * 100)  # same size...
    os.utime(w, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # ...another mtime
    with pytest.raises(mf.IntegrityError):
        mf.load_verified(folder)
    w.write_bytes(b"weights" * 101)  # another size
    with pytest.raises(mf.IntegrityError):
        mf.load_verified(folder)
    assert len(hashed) == 3


def test_a_damaged_cache_is_only_a_slower_start(model):
    folder, hashed = model
    mf.load_verified(folder)
    (folder / mf.STAT_CACHE_NAME).write_text("{not json")
    mf.load_verified(folder)
    assert len(hashed) == 2


def test_a_file_outside_the_artefacts_is_hashed_once_until_it_changes(model):
    """The int8 CPU variant is checked on every start (``sha256_by_stat``): read once, then by its stat."""
    folder, hashed = model
    path = folder / "w.bin"
    first = mf.sha256_by_stat(path)
    assert mf.sha256_by_stat(path) == first and len(hashed) == 1
    path.write_bytes(b"damaged")
    assert mf.sha256_by_stat(path) == sha256_file(path) != first and len(hashed) == 2
