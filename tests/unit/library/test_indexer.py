"""The indexer on real files: bad input, orientation, incremental runs (add, change, delete, move), resume."""

from __future__ import annotations

import os
import shutil

import pytest

from tagger.library import indexer as indexer_mod
from tagger.library.catalog import Catalog
from tagger.library.indexer import Indexer, scan
from tests.shared import digests as _digests

EXPECTED_FAILED = {
    "broken-synthetic/zero_bytes.jpg": "empty file",
    "broken-synthetic/text_not_image.jpg": "not an image",
    "broken-synthetic/truncated_half_DSCN0010.jpg": "truncated or corrupt",
    "broken-synthetic/header_only_DSCN0010.jpg": "truncated or corrupt",
    "pillow-samples/broken.png": "truncated or corrupt",
    "pillow-samples/broken_data_stream.png": "truncated or corrupt",
    "pillow-samples/decompression_bomb.gif": "decompression bomb refused",
}


@pytest.fixture(scope="module")
def indexed_photo_folder(engine, photo_folder_copy, tmp_path_factory):
    before = _digests(photo_folder_copy)
    cat = Catalog.open(tmp_path_factory.mktemp("db") / "catalog.db")
    stats = Indexer(cat, engine).index([photo_folder_copy])
    return cat, stats, before


def test_every_file_is_indexed_or_failed_with_a_reason(indexed_photo_folder, photo_folder_copy):
    cat, stats, _ = indexed_photo_folder
    assert stats.scanned == 147 and stats.indexed + stats.failed == 147
    failed = {p.relative_to(photo_folder_copy).as_posix(): r for p, r in cat.failures()}
    assert set(failed) == set(EXPECTED_FAILED)
    for name, reason in failed.items():
        assert reason.startswith(EXPECTED_FAILED[name]), (name, reason)
    assert cat.counts() == {"indexed": 140, "failed": 7, "gone": 0}


def test_the_photo_folder_is_byte_identical_after_indexing(indexed_photo_folder, photo_folder_copy):
    _, _, before = indexed_photo_folder
    assert _digests(photo_folder_copy) == before


def test_thumbnails_are_cached_upright(indexed_photo_folder, photo_folder_copy):
    from PIL import Image

    cat, _, _ = indexed_photo_folder
    for i in range(1, 9):
        pid = cat.find_photo(photo_folder_copy / f"exif-orientation-examples/Portrait_{i}.jpg")
        thumb = Image.open(cat.thumbnail_path(cat.photo(pid)["hash"]))
        assert thumb.height > thumb.width and max(thumb.size) <= 320


@pytest.mark.parametrize("kind", ["Landscape", "Portrait"])
def test_exif_orientations_come_out_upright(indexed_photo_folder, photo_folder_copy, engine, kind):
    cat, _, _ = indexed_photo_folder
    ids = [cat.find_photo(photo_folder_copy / f"exif-orientation-examples/{kind}_{i}.jpg") for i in range(1, 9)]
    table = cat.embedding_table(engine.model_id, engine.backbone, ids)
    assert len(table.ids) == 8
    cos = table.vectors @ table.vectors.T
    print(f"{kind}: min pairwise cosine {cos.min():.4f}")
    assert cos.min() >= 0.95


def test_unchanged_library_is_skipped_without_decoding(indexed_photo_folder, photo_folder_copy, engine, monkeypatch):
    cat, _, _ = indexed_photo_folder
    monkeypatch.setattr(indexer_mod, "decode_photo", _explode)
    stats = Indexer(cat, engine).index([photo_folder_copy])
    assert stats.unchanged == 147 and stats.indexed == stats.failed == 0


def _explode(*a, **k):
    raise AssertionError("an unchanged file was decoded")


# ------------------------------------------------------------------ incremental logic on a small library


@pytest.fixture
def library(tmp_path, caltech_library):
    root = tmp_path / "photos"
    shutil.copytree(caltech_library / "kangaroo", root / "kangaroo")
    shutil.copytree(caltech_library / "pizza", root / "pizza")
    return root


def test_add_change_delete_move(library, engine, tmp_path, monkeypatch):
    cat = Catalog.open(tmp_path / "c.db")
    ix = Indexer(cat, engine, batch_size=4)
    first = ix.index([library])
    assert (first.new, first.indexed) == (12, 12)
    kangaroo = sorted((library / "kangaroo").glob("*.jpg"))
    pid = cat.find_photo(kangaroo[0])
    cat.add_user_tag(pid, "skippy")

    # add one, change one (new content), delete one, move+rename one
    shutil.copy(kangaroo[1], library / "pizza" / "new.jpg")
    shutil.copy(sorted((library / "pizza").glob("image_*.jpg"))[0], kangaroo[2])
    kangaroo[3].unlink()
    (library / "elsewhere").mkdir()
    kangaroo[0].rename(library / "elsewhere" / "renamed.jpg")

    decoded = []
    real = indexer_mod.decode_photo
    monkeypatch.setattr(indexer_mod, "decode_photo", lambda data, prep: decoded.append(1) or real(data, prep))
    second = ix.index([library])
    assert (second.new, second.changed, second.moved, second.gone) == (2, 1, 1, 2)
    # the copy of kangaroo[1] reuses... nothing: its twin still exists, so it is decoded; the moved file is not
    assert len(decoded) == 2
    assert cat.find_photo(library / "elsewhere" / "renamed.jpg") == pid
    assert cat.user_tags([pid]) == {pid: ["skippy"]}
    assert cat.counts() == {"indexed": 12, "failed": 0, "gone": 1}

    # touching a file (same content, new mtime) costs a hash, not a decode
    os.utime(library / "pizza" / "new.jpg", ns=(1, 1))
    decoded.clear()
    third = ix.index([library])
    assert third.changed == 1 and not decoded


def test_odd_names_links_and_loops(tmp_path, engine, caltech_library):
    root = tmp_path / "odd"
    root.mkdir()
    src = sorted((caltech_library / "ketch").glob("*.jpg"))
    shutil.copy(src[0], root / "ünïcödé 🐨.jpg")
    shutil.copy(src[1], os.fsencode(root) + b"/latin1-\xe9t\xe9.jpg")  # not valid UTF-8
    shutil.copy(src[2], root / "line\nbreak.jpg")
    shutil.copy(src[3], root / "no_extension")  # found by content
    (root / "notes.txt").write_text("not a photo")
    (root / "loop").symlink_to(root)  # a symlink loop
    (root / "dangling.jpg").symlink_to(root / "missing.jpg")
    (root / ".hidden.jpg").write_bytes(src[4].read_bytes())
    found = sorted(f.path_key for f in scan(root))
    assert found == sorted([os.fsencode("ünïcödé 🐨.jpg"), b"latin1-\xe9t\xe9.jpg", b"line\nbreak.jpg",
                            b"no_extension"])
    cat = Catalog.open(tmp_path / "c.db")
    stats = Indexer(cat, engine).index([root])
    assert stats.indexed == 4 and cat.counts()["indexed"] == 4
    path = cat.photo_paths([cat.find_photo(os.fsdecode(os.fsencode(root) + b"/latin1-\xe9t\xe9.jpg"))])
    assert os.path.exists(next(iter(path.values())))


def test_vanishing_and_unreadable_files(tmp_path, engine, caltech_library, monkeypatch):
    root = tmp_path / "lib"
    shutil.copytree(caltech_library / "okapi", root)
    files = sorted(root.glob("*.jpg"))
    real_open = open

    def flaky_open(path, *a, **k):
        name = os.fsdecode(path)
        if name.endswith(files[0].name):
            raise PermissionError(13, "Permission denied")
        if name.endswith(files[1].name):
            files[1].unlink(missing_ok=True)  # deleted between the scan and the read
        return real_open(path, *a, **k)

    monkeypatch.setattr(indexer_mod, "open", flaky_open, raising=False)
    cat = Catalog.open(tmp_path / "c.db")
    stats = Indexer(cat, engine).index([root])
    assert stats.indexed == 4
    assert [(p.name, r) for p, r in cat.failures()] == [(files[0].name, "permission denied")]
    monkeypatch.undo()
    again = Indexer(cat, engine).index([root])
    assert again.gone == 0 and cat.counts() == {"indexed": 4, "failed": 1, "gone": 0}


def test_stop_then_resume_equals_a_clean_run(tmp_path, engine, caltech_library):
    cat = Catalog.open(tmp_path / "c.db")
    calls = {"n": 0}

    def stop_after_two_checks():
        calls["n"] += 1
        return calls["n"] > 10

    first = Indexer(cat, engine, batch_size=4).index([caltech_library], should_stop=stop_after_two_checks)
    assert first.cancelled and 0 < first.indexed < 48
    second = Indexer(cat, engine, batch_size=4).index([caltech_library])
    assert not second.cancelled and second.unchanged == first.indexed
    assert cat.counts() == {"indexed": 48, "failed": 0, "gone": 0}
    n_rows = cat.db.execute("SELECT COUNT(*) FROM photos").fetchone()[0]
    n_vecs = cat.db.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
    assert n_rows == n_vecs == 48


def test_subfolder_index_only_touches_that_subfolder(tmp_path, engine, caltech_library):
    cat = Catalog.open(tmp_path / "c.db")
    Indexer(cat, engine).index([caltech_library])
    stats = Indexer(cat, engine).index([caltech_library / "pizza"])
    assert stats.scanned == 6 and stats.unchanged == 6 and stats.gone == 0
    assert len(cat.roots()) == 1


def test_faces_are_found_while_indexing_and_photos_indexed_before_get_theirs_from_thumbnails(tmp_path, engine):
    from tests.shared import caltech_files

    lib = tmp_path / "lib"
    lib.mkdir()
    for f in caltech_files("Faces", 2) + caltech_files("pizza", 2):
        shutil.copy(f, lib / f"{f.parent.name}_{f.name}")
    with Catalog.open(tmp_path / "c.db") as cat:
        stats = Indexer(cat, engine, text=False).index([lib])
        assert stats.indexed == 4 and stats.faces == 0  # found in the decode, not by the pass after it
        names = {pid: p.name for pid, p in cat.photo_paths(cat.indexed_ids()).items()}
        assert sorted(names[pid] for pid in cat.faces()) == sorted(n for n in names.values() if n.startswith("Faces"))
        assert Indexer(cat, engine, text=False).index([lib]).faces == 0  # nothing is looked at twice
        # a catalog from before faces were looked for: the next run finds them from the stored thumbnails
        with cat.transaction():
            cat.db.execute("DELETE FROM faces")
            cat.db.execute("DELETE FROM detections")
        again = Indexer(cat, engine, text=False).index([lib])
        assert (again.indexed, again.faces) == (0, 4)
        assert sorted(names[pid] for pid in cat.faces()) == sorted(n for n in names.values() if n.startswith("Faces"))
        # --no-people: nothing is looked for
        with cat.transaction():
            cat.db.execute("DELETE FROM detections")
        assert Indexer(cat, engine, people=False, text=False).index([lib]).faces == 0
