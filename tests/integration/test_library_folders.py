"""Library folders (issue 12, item 9): a catalog inside its photo folder indexes none of its own files; a renamed
library folder, or its parent indexed, keeps one row per photo with the user's tags and labels on it; a folder that
cannot be listed is unavailable, not deleted; `tagger folders` lists, removes and relinks library folders."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from tagger.cli import main
from tagger.library import indexer as indexer_mod
from tagger.library.catalog import Catalog
from tagger.library.indexer import Indexer


@pytest.fixture
def library(tmp_path, caltech_library):
    """lib/photos with two folders of six photos each."""
    root = tmp_path / "lib" / "photos"
    shutil.copytree(caltech_library / "kangaroo", root / "kangaroo")
    shutil.copytree(caltech_library / "pizza", root / "pizza")
    return root


def _rows(cat: Catalog) -> int:
    return cat.db.execute("SELECT COUNT(*) FROM photos").fetchone()[0]


def _tag_and_label(cat: Catalog, root):
    pid = cat.find_photo(sorted((root / "kangaroo").glob("*.jpg"))[0])
    cat.add_user_tag(pid, "skippy")
    cat.set_label(root / "kangaroo", "roo")
    return pid


def _json(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


# ------------------------------------------------------------------ the catalog's own files


def test_a_catalog_inside_the_library_never_indexes_its_own_files(tmp_path, engine, library):
    db = library / "catalog.db"
    cat = Catalog.open(db)
    (library / "catalog.models" / "v1").mkdir(parents=True)
    shutil.copy(next((library / "pizza").glob("*.jpg")), library / "catalog.models" / "v1" / "preview.jpg")
    shutil.copy(next((library / "pizza").glob("*.jpg")), library / "catalog.backup-schema2-20240101-000000.db")
    for _ in range(3):
        stats = Indexer(cat, engine).index([library])
        assert cat.counts() == {"indexed": 12, "failed": 0, "gone": 0}, stats
        assert _rows(cat) == 12
    assert any(cat.thumbnail_dir.rglob("*.jpg"))
    assert len(list(cat.thumbnail_dir.rglob("*.jpg"))) == 12  # no thumbnails of thumbnails
    cat.close()


# ------------------------------------------------------------------ renamed library folders


def test_a_renamed_library_folder_keeps_its_photos_tags_and_labels(tmp_path, engine, library, monkeypatch):
    cat = Catalog.open(tmp_path / "c.db")
    Indexer(cat, engine).index([library])
    pid = _tag_and_label(cat, library)
    renamed = library.with_name("pictures")
    library.rename(renamed)
    monkeypatch.setattr(indexer_mod, "decode_photo", _explode)
    stats = Indexer(cat, engine).index([renamed])
    assert stats.new == 0 and stats.unchanged == 12 and stats.relinked == [(str(library), str(renamed))]
    assert [r.path for r in cat.roots()] == [renamed]
    assert _rows(cat) == 12 and cat.counts() == {"indexed": 12, "failed": 0, "gone": 0}
    assert cat.find_photo(sorted((renamed / "kangaroo").glob("*.jpg"))[0]) == pid
    assert cat.user_tags([pid]) == {pid: ["skippy"]}
    assert [(r["label"], r["folder"], r["photos"]) for r in cat.labels()] == [("roo", renamed / "kangaroo", 6)]


def test_a_renamed_subfolder_moves_its_photos_and_its_label(tmp_path, engine, library):
    cat = Catalog.open(tmp_path / "c.db")
    Indexer(cat, engine).index([library])
    pid = _tag_and_label(cat, library)
    (library / "kangaroo").rename(library / "roos")
    stats = Indexer(cat, engine).index([library])
    assert stats.moved == 6 and stats.indexed == 0 and cat.counts() == {"indexed": 12, "failed": 0, "gone": 0}
    assert cat.user_tags([pid]) == {pid: ["skippy"]}
    assert [(r["label"], r["folder"], r["photos"]) for r in cat.labels()] == [("roo", library / "roos", 6)]


def test_indexing_the_parent_keeps_one_row_per_photo(tmp_path, engine, library, monkeypatch):
    cat = Catalog.open(tmp_path / "c.db")
    Indexer(cat, engine).index([library / "kangaroo"])
    pid = _tag_and_label(cat, library)
    monkeypatch.setattr(indexer_mod, "decode_photo", lambda *a, **k: _count(a))
    _count.n = 0
    Indexer(cat, engine).index([library])
    assert _count.n == 6  # only pizza is new
    assert [r.path for r in cat.roots()] == [library]
    assert _rows(cat) == 12 and cat.counts() == {"indexed": 12, "failed": 0, "gone": 0}
    assert cat.user_tags([pid]) == {pid: ["skippy"]}
    assert [(r["label"], r["folder"], r["photos"]) for r in cat.labels()] == [("roo", library / "kangaroo", 6)]


def test_a_folder_and_its_parent_in_one_run_make_one_library_folder(tmp_path, engine, library):
    cat = Catalog.open(tmp_path / "c.db")
    stats = Indexer(cat, engine).index([library / "kangaroo", library, library / "pizza"])
    assert stats.indexed == 12 and [r.path for r in cat.roots()] == [library] and _rows(cat) == 12


def _explode(*a, **k):
    raise AssertionError("a photo the catalog knows was decoded again")


def _count(args):
    from tagger.engine.imageio import decode_photo

    _count.n += 1
    return decode_photo(*args)


# ------------------------------------------------------------------ unavailable folders


def test_a_folder_that_cannot_be_listed_is_unavailable_not_gone(tmp_path, engine, library, monkeypatch, capsys):
    db = tmp_path / "c.db"
    cat = Catalog.open(db)
    Indexer(cat, engine).index([library])
    real = os.scandir
    locked = {os.fsencode(library / "pizza")}

    def scandir(path):
        if os.fsencode(path) in locked:
            raise PermissionError(13, "Permission denied", os.fsdecode(path))
        return real(path)

    monkeypatch.setattr(indexer_mod.os, "scandir", scandir)
    stats = Indexer(cat, engine).index([library])
    assert stats.gone == 0 and cat.counts() == {"indexed": 12, "failed": 0, "gone": 0}
    assert stats.skipped_dirs == [(str(library / "pizza"), "Permission denied")]
    locked.add(os.fsencode(library))  # now the library folder itself
    stats = Indexer(cat, engine).index([library])
    assert stats.gone == 0 and cat.counts() == {"indexed": 12, "failed": 0, "gone": 0}
    listed = _json(capsys, "folders", "--db", str(db), "--json")
    assert listed == [{"path": str(library), "available": False, "reason": "permission denied",
                       "indexed": 12, "failed": 0, "gone": 0, "labels": 0}]
    monkeypatch.undo()
    library.rename(library.with_name("unplugged"))
    listed = _json(capsys, "folders", "--db", str(db), "--json")
    assert listed[0]["available"] is False and listed[0]["reason"].startswith("not found")
    cat.close()


# ------------------------------------------------------------------ tagger index --exclude


def test_index_exclude_option(tmp_path, library, capsys):
    db = str(tmp_path / "c.db")
    shutil.copy(next((library / "pizza").glob("*.jpg")), library / "pizza" / "scan.png")
    summary = _json(capsys, "index", str(library), "--exclude", "kangaroo", "--exclude", "*.PNG", "--db", db, "--json")
    assert summary["excluded"] == 2 and summary["counts"] == {"indexed": 6, "failed": 0, "gone": 0}
    assert main(["index", str(library), "--exclude", "*.png", "--db", db]) == 0
    assert "left out by name: 1 files or folders" in capsys.readouterr().out  # kangaroo is back, scan.png is not
    with Catalog.open(db) as cat:
        assert cat.counts() == {"indexed": 12, "failed": 0, "gone": 0}


# ------------------------------------------------------------------ tagger folders


def test_folders_lists_removes_and_relinks(tmp_path, engine, library, caltech_library, capsys):
    db = str(tmp_path / "c.db")
    other = tmp_path / "other"
    shutil.copytree(caltech_library / "okapi", other)
    assert main(["index", str(library), str(other), "--db", db]) == 0
    with Catalog.open(db) as cat:
        pid = _tag_and_label(cat, library)
    capsys.readouterr()
    listed = _json(capsys, "folders", "--db", db, "--json")
    assert [(f["path"], f["available"], f["indexed"], f["labels"]) for f in listed] == [
        (str(library), True, 12, 1), (str(other), True, 6, 0)]
    assert main(["folders", "--db", db]) == 0
    assert str(library) in capsys.readouterr().out

    assert main(["folders", "--remove", str(other), "--db", db]) == 0
    assert "6 photos" in capsys.readouterr().out
    assert [f["path"] for f in _json(capsys, "folders", "--db", db, "--json")] == [str(library)]
    assert main(["folders", "--remove", str(library / "pizza"), "--db", db]) == 2
    assert "not a library folder" in capsys.readouterr().err

    # the state the old indexer left after a rename: the old folder's rows (with the tag and the label) point at a
    # missing path, and a second copy of every photo lives under the new name
    moved = library.with_name("renamed")
    shutil.copytree(library, moved)
    assert main(["index", str(moved), "--db", db]) == 0
    shutil.rmtree(library)
    with Catalog.open(db) as cat:
        assert _rows(cat) == 24
    capsys.readouterr()
    assert main(["folders", "--relink", str(library), str(moved), "--db", db]) == 0
    assert "12 photos" in capsys.readouterr().out
    with Catalog.open(db) as cat:
        assert [r.path for r in cat.roots()] == [moved] and _rows(cat) == 12
        live = cat.find_photo(sorted((moved / "kangaroo").glob("*.jpg"))[0])
        assert cat.user_tags([live]) == {live: ["skippy"]}
        assert [(r["label"], r["folder"], r["photos"]) for r in cat.labels()] == [("roo", moved / "kangaroo", 6)]
    summary = _json(capsys, "index", str(moved), "--db", db, "--json")
    assert summary["unchanged"] == 12 and summary["counts"] == {"indexed": 12, "failed": 0, "gone": 0}
    assert pid  # the old row's tag lives on the live row now

    assert main(["folders", "--relink", str(tmp_path / "nowhere"), str(moved), "--db", db]) == 2
    assert "not a library folder" in capsys.readouterr().err
    assert main(["folders", "--relink", str(moved), str(tmp_path / "nowhere"), "--db", db]) == 2
    assert "not a folder" in capsys.readouterr().err
