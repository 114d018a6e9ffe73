"""Batch tag edits (issue 13): one catalog transaction adds and removes words on many photos, reports what really
changed (a tag already there is not counted), and can be undone to exactly the state before."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from tagger.library.catalog import Catalog, PhotoRecord


def _record(root_id: int, key: bytes, seed: int) -> PhotoRecord:
    rng = np.random.default_rng(seed)
    vec = rng.standard_normal(8).astype(np.float32)
    return PhotoRecord(root_id, key, 100 + seed, 1_000 + seed, "indexed", hash=f"h{seed}",
                       features=rng.standard_normal(16), top_classes=np.arange(3, dtype=np.int16),
                       top_probs=np.array([0.5, 0.3, 0.2]), embedding=vec / np.linalg.norm(vec),
                       auto_tags=[("cat", 0.9)])


@pytest.fixture
def cat(tmp_path):
    with Catalog.open(tmp_path / "c.db") as catalog:
        yield catalog


def _photos(cat: Catalog, root, n: int) -> list[int]:
    root_id = cat.add_root(root).id
    return cat.write_batch([_record(root_id, f"p{i}.jpg".encode(), i) for i in range(n)], "lite0", "m")


def _rows(cat: Catalog) -> list[tuple]:
    return cat.db.execute("SELECT photo_id, tag, source, added_at FROM user_tags ORDER BY photo_id, tag").fetchall()


def test_adds_to_every_photo_and_counts_only_what_changed(cat, tmp_path):
    a, b, c, d = _photos(cat, tmp_path, 4)
    cat.add_user_tag(c, "beach", source="xmp")  # already there, read from the file: stays exactly as it is
    before_c = [r for r in _rows(cat) if r[0] == c]

    edit = cat.edit_user_tags([a, b, c], add=["beach", "sea"])

    assert edit.added_per_tag() == {"beach": 2, "sea": 3} and edit.removed_per_tag() == {}
    assert edit.photo_ids == (a, b, c) and edit.changed_ids == [a, b, c]
    assert cat.user_tags([a, b, c, d]) == {a: ["beach", "sea"], b: ["beach", "sea"], c: ["beach", "sea"]}
    assert [r for r in _rows(cat) if r[0] == c and r[1] == "beach"] == before_c  # source and date kept


def test_removes_from_the_photos_that_have_it(cat, tmp_path):
    a, b, c, d = _photos(cat, tmp_path, 4)
    cat.edit_user_tags([a, b, c], add=["beach"])

    edit = cat.edit_user_tags([a, b, d], remove=["beach", "never"])

    assert edit.removed_per_tag() == {"beach": 2} and edit.added_per_tag() == {}
    assert edit.changed_ids == [a, b]
    assert cat.user_tags([a, b, c, d]) == {c: ["beach"]}


def test_a_big_edit_is_one_transaction(cat, tmp_path):
    ids = _photos(cat, tmp_path, 1_200)  # more than one 500-id chunk
    statements: list[str] = []
    cat.db.conn.set_trace_callback(statements.append)
    edit = cat.edit_user_tags(ids, add=["beach"], remove=["old"])
    cat.db.conn.set_trace_callback(None)
    assert edit.added_per_tag() == {"beach": 1_200}
    assert sum(s.startswith("BEGIN") for s in statements) == 1
    assert sum(s.startswith("COMMIT") for s in statements) == 1


def test_all_or_nothing_when_the_catalog_refuses_part_of_it(cat, tmp_path):
    a, b, c = _photos(cat, tmp_path, 3)
    cat.edit_user_tags([a, b, c], add=["old"])
    before = _rows(cat)
    cat.db.execute(f"CREATE TRIGGER refuse BEFORE INSERT ON user_tags WHEN NEW.photo_id = {c} "
                   "BEGIN SELECT RAISE(ABORT, 'disk trouble'); END")
    with pytest.raises(sqlite3.DatabaseError):
        cat.edit_user_tags([a, b, c], add=["beach"], remove=["old"])
    assert _rows(cat) == before  # neither the removals nor the first additions stayed


def test_undo_restores_exactly_the_previous_state(cat, tmp_path):
    a, b, c = _photos(cat, tmp_path, 3)
    cat.add_user_tag(a, "old", source="xmp")
    cat.add_user_tag(c, "beach")
    before = _rows(cat)

    edit = cat.edit_user_tags([a, b, c], add=["beach"], remove=["old"])
    assert cat.user_tags([a, b, c]) == {a: ["beach"], b: ["beach"], c: ["beach"]}
    back = cat.undo_tag_edit(edit)

    assert _rows(cat) == before  # c keeps its beach; a gets its 'old' back with its source and date
    assert back.changed_ids == [a, b]  # c was not changed by the edit, nor by its undo
    cat.undo_tag_edit(back)  # undoing the undo is the edit again
    assert cat.user_tags([a, b, c]) == {a: ["beach"], b: ["beach"], c: ["beach"]}


def test_photos_no_longer_in_the_catalog_are_skipped(cat, tmp_path):
    a, b = _photos(cat, tmp_path, 2)
    edit = cat.edit_user_tags([a, b, 9_999], add=["beach"])
    assert edit.photo_ids == (a, b) and edit.added_per_tag() == {"beach": 2}
    cat.db.execute("DELETE FROM photos WHERE id = ?", [b])
    cat.undo_tag_edit(edit)  # b went away meanwhile: the undo still does the rest
    assert cat.user_tags([a, b]) == {}


def test_a_word_both_added_and_removed_is_refused(cat, tmp_path):
    (a,) = _photos(cat, tmp_path, 1)
    with pytest.raises(ValueError, match="both"):
        cat.edit_user_tags([a], add=["beach"], remove=["beach"])
    assert cat.user_tags([a]) == {}
