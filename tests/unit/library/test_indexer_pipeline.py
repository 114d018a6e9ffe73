"""The indexing pipeline: decoding runs on while the model works, every photo is indexed exactly once, and a model
failure or a cancel mid-run still ends cleanly."""

from __future__ import annotations

import threading

import pytest

from tagger.library import indexer as indexer_mod
from tagger.library.catalog import Catalog
from tagger.library.indexer import Indexer


class _SlowModel:
    """The real engine, whose model call can be held until the test lets it go (or made to fail)."""

    def __init__(self, engine, *, hold_until=None, fail_on: int | None = None):
        self._engine = engine
        self.hold_until = hold_until  # callable: True when the first model call may return
        self.fail_on = fail_on
        self.calls = 0

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def infer(self, pixels):
        self.calls += 1
        if self.fail_on is not None and self.calls >= self.fail_on:
            raise RuntimeError("model exploded")
        if self.calls == 1 and self.hold_until is not None:
            for _ in range(400):
                if self.hold_until():
                    break
                threading.Event().wait(0.025)
        return self._engine.infer(pixels)


def _counting_decodes(monkeypatch) -> dict[str, int]:
    decoded = {"n": 0}
    lock = threading.Lock()
    real = indexer_mod._read_and_decode

    def counted(*args, **kwargs):
        out = real(*args, **kwargs)
        with lock:
            decoded["n"] += 1
        return out

    monkeypatch.setattr(indexer_mod, "_read_and_decode", counted)
    return decoded


def _rows(cat: Catalog) -> tuple[int, int, int]:
    photos = cat.db.execute("SELECT COUNT(*), COUNT(DISTINCT path_key) FROM photos").fetchone()
    vecs = cat.db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    return photos[0], photos[1], vecs


def test_decoding_runs_ahead_while_the_model_is_busy(tmp_path, engine, caltech_library, monkeypatch):
    """With the model call held, decoders keep filling photos well past one batch and its look-ahead window: the
    model no longer gates decoding (before: at most 3 batches' worth were decoded while a model call ran)."""
    decoded = _counting_decodes(monkeypatch)
    batch = 4
    seen_while_held: list[int] = []

    def enough():
        seen_while_held.append(decoded["n"])
        return decoded["n"] >= 5 * batch

    slow = _SlowModel(engine, hold_until=enough)
    with Catalog.open(tmp_path / "c.db") as cat:
        stats = Indexer(cat, slow, batch_size=batch, workers=2, people=False, text=False).index([caltech_library])
        assert stats.indexed == 48 and _rows(cat) == (48, 48, 48)
    assert max(seen_while_held) >= 5 * batch


def test_every_photo_is_indexed_exactly_once_with_odd_batches(tmp_path, engine, caltech_library):
    with Catalog.open(tmp_path / "c.db") as cat:
        stats = Indexer(cat, engine, batch_size=5, workers=3, people=False, text=False).index([caltech_library])
        assert (stats.indexed, stats.failed) == (48, 0)
        assert _rows(cat) == (48, 48, 48)
        again = Indexer(cat, engine, batch_size=5, people=False, text=False).index([caltech_library])
        assert (again.indexed, again.unchanged) == (0, 48)


def test_a_model_failure_stops_the_run_and_keeps_what_was_committed(tmp_path, engine, caltech_library):
    slow = _SlowModel(engine, fail_on=3)
    with Catalog.open(tmp_path / "c.db") as cat:
        with pytest.raises(RuntimeError, match="model exploded"):
            Indexer(cat, slow, batch_size=4, people=False, text=False).index([caltech_library])
        n, distinct, vecs = _rows(cat)
        assert n == distinct == vecs and n <= 8  # whole batches only, nothing half written
        stats = Indexer(cat, engine, batch_size=4, people=False, text=False).index([caltech_library])
        assert stats.indexed == 48 - n and _rows(cat) == (48, 48, 48)


def test_cancel_while_the_model_is_busy_commits_whole_batches_and_resumes(tmp_path, engine, caltech_library):
    stop = threading.Event()
    slow = _SlowModel(engine, hold_until=lambda: stop.set() or True)  # cancel from inside the first model call
    with Catalog.open(tmp_path / "c.db") as cat:
        first = Indexer(cat, slow, batch_size=4, people=False, text=False).index(
            [caltech_library], should_stop=stop.is_set)
        assert first.cancelled and first.indexed < 48
        n, distinct, vecs = _rows(cat)
        assert n == distinct == vecs == first.indexed
        second = Indexer(cat, engine, batch_size=4, people=False, text=False).index([caltech_library])
        assert second.indexed == 48 - first.indexed and _rows(cat) == (48, 48, 48)
