"""The catalog: schema versions and migrations, atomic batches, exact paths, moves, refusal of newer catalogs."""

from __future__ import annotations

import os
import sqlite3

import numpy as np
import pytest

from tagger.library import catalog as C
from tagger.library import schema as S
from tagger.library.catalog import Catalog, CatalogError, PhotoRecord


def _record(root_id, key, status="indexed", seed=0, **kw):
    rng = np.random.default_rng(seed)
    vec = rng.standard_normal(8).astype(np.float32)
    return PhotoRecord(root_id, key, 100 + seed, 1_000 + seed, status, hash=f"h{seed}",
                       features=rng.standard_normal(16), top_classes=np.arange(3, dtype=np.int16),
                       top_probs=np.array([0.5, 0.3, 0.2]), embedding=vec / np.linalg.norm(vec),
                       auto_tags=[("cat", 0.9), ("pet", 0.5)], **kw)


def test_fresh_catalog_has_the_latest_schema_and_wal(tmp_path):
    with Catalog.open(tmp_path / "c.db") as cat:
        assert cat.schema_version == C.SCHEMA_VERSION
        assert cat.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert ({"roots", "photos", "features", "embeddings", "auto_tags", "user_tags", "settings"}
                <= set(cat.db.table_names()))


@pytest.mark.parametrize("start", range(0, C.SCHEMA_VERSION + 1))
def test_migrates_from_every_earlier_version(tmp_path, start):
    """A catalog left at any earlier version (with data where the schema allows) migrates to the latest."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    _migrate_to(conn, start)
    if start >= 1:
        _one_tagged_photo(conn)
    conn.close()
    with Catalog.open(path) as cat:
        assert cat.schema_version == C.SCHEMA_VERSION
        if start >= 1:
            assert cat.user_tags([1]) == {1: ["grandma"]}


def _one_tagged_photo(conn) -> None:
    """A photo with the user tag 'grandma', in any schema since version 1."""
    conn.execute("INSERT INTO roots (path, path_bytes, added_at) VALUES ('/x', X'2f78', 0)")
    conn.execute("INSERT INTO photos (root_id, path_key, rel_path, size, mtime_ns, status, indexed_at) "
                 "VALUES (1, X'61', 'a', 1, 1, 'indexed', 0)")
    conn.execute("INSERT INTO user_tags (photo_id, tag, source, added_at) VALUES (1, 'grandma', 'user', 0)")


def _migrate_to(conn, version):
    for target in range(1, version + 1):
        S.MIGRATIONS[target - 1](conn)
        conn.execute(f"PRAGMA user_version = {target}")


def test_newer_catalog_is_refused_untouched(tmp_path):
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {C.SCHEMA_VERSION + 1}")
    conn.execute("CREATE TABLE future (x)")
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(CatalogError, match="newer Tagger"):
        Catalog.open(path)
    assert path.read_bytes() == before


def test_garbage_file_is_refused_clearly(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CatalogError, match="damaged or not a Tagger catalog"):
        Catalog.open(path)


def test_failed_migration_rolls_back(tmp_path, monkeypatch):
    def broken(conn):
        conn.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("boom")

    monkeypatch.setattr(S, "MIGRATIONS", [S.MIGRATIONS[0], broken])
    monkeypatch.setattr(S, "SCHEMA_VERSION", 2)
    monkeypatch.setattr(C, "SCHEMA_VERSION", 2)
    path = tmp_path / "c.db"
    with pytest.raises(RuntimeError):
        Catalog.open(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1  # the good step stays, the bad one is undone
    assert "half_done" not in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}


def test_batch_roundtrip_and_embedding_table(tmp_path):
    with Catalog.open(tmp_path / "c.db") as cat:
        root = cat.add_root(tmp_path)
        ids = cat.write_batch([_record(root.id, b"a.jpg", seed=1), _record(root.id, b"b.jpg", seed=2),
                               PhotoRecord(root.id, b"bad.jpg", 5, 5, "failed", reason="empty file (0 bytes)")],
                              backbone="lite0", model="m1")
        assert cat.counts() == {"indexed": 2, "failed": 1, "gone": 0}
        table = cat.embedding_table("m1", "lite0")
        assert table.ids.tolist() == ids[:2]
        assert table.vectors.shape == (2, 8) and table.top_classes.shape == (2, 3)
        assert cat.embedding_table("other-model", "lite0").ids.size == 0
        got, feats = cat.features(ids[:1], "lite0")
        assert feats.shape == (1, 16) and feats.dtype == np.float32
        assert cat.auto_tags(ids[:1], "m1") == {ids[0]: [("cat", 0.9), ("pet", 0.5)]}
        assert [(p.name, r) for p, r in cat.failures()] == [("bad.jpg", "empty file (0 bytes)")]


def test_a_failed_batch_writes_nothing(tmp_path):
    with Catalog.open(tmp_path / "c.db") as cat:
        root = cat.add_root(tmp_path)
        bad = _record(root.id, b"b.jpg", seed=2)
        bad.status = "exploded"  # violates the CHECK constraint mid-batch
        with pytest.raises(sqlite3.IntegrityError):
            cat.write_batch([_record(root.id, b"a.jpg", seed=1), bad], "lite0", "m1")
        assert cat.counts() == {"indexed": 0, "failed": 0, "gone": 0}


def test_non_utf8_paths_survive_exactly(tmp_path):
    with Catalog.open(tmp_path / "c.db") as cat:
        root = cat.add_root(tmp_path)
        key = b"caf\xe9/\xff\xfe photo.jpg"  # Latin-1 bytes: not valid UTF-8
        pid = cat.write_batch([_record(root.id, key)], "lite0", "m")[0]
        assert cat.photo_paths([pid])[pid] == root.absolute(key)
        assert os.fsencode(cat.photo_paths([pid])[pid]).endswith(key)
        assert "\ufffd" in cat.photo(pid)["rel_path"]


def test_move_keeps_row_and_tags_and_gone_is_recorded(tmp_path):
    with Catalog.open(tmp_path / "c.db") as cat:
        root = cat.add_root(tmp_path)
        pid, other = cat.write_batch([_record(root.id, b"old/a.jpg", seed=1), _record(root.id, b"b.jpg", seed=2)],
                                     "lite0", "m")
        cat.add_user_tag(pid, "grandma")
        cat.move(pid, root.id, b"new/a.jpg", 101, 2_000)
        assert cat.find_photo(tmp_path / "new/a.jpg") == pid
        assert cat.user_tags([pid]) == {pid: ["grandma"]}
        cat.mark_gone([other])
        assert cat.counts() == {"indexed": 1, "failed": 0, "gone": 1}


def test_photos_under_a_folder_uses_path_prefixes(tmp_path):
    with Catalog.open(tmp_path / "c.db") as cat:
        root = cat.add_root(tmp_path)
        keys = [b"a/1.jpg", b"a/b/2.jpg", b"ab/3.jpg", b"a.jpg"]
        ids = cat.write_batch([_record(root.id, k, seed=i) for i, k in enumerate(keys)], "lite0", "m")
        assert cat.photos_under(tmp_path / "a") == ids[:2]
        assert cat.photos_under(tmp_path) == ids
        assert cat.photos_under(tmp_path / "a.jpg") == [ids[3]]
        assert cat.photos_under(tmp_path.parent) == []


def test_photos_under_a_folder_reads_only_that_folder(tmp_path):
    """Speed (issue 16): a labelled folder's photos come from the path index, not a scan of every indexed photo --
    retraining asks once per label, and a 100k-photo library with 100 labels spent seconds here."""
    with Catalog.open(tmp_path / "c.db") as cat:
        root = cat.add_root(tmp_path)
        ids = cat.write_batch([_record(root.id, b"a/1.jpg", seed=1), _record(root.id, b"a/2.jpg", seed=2)],
                              "lite0", "m")
        with cat.transaction():
            cat.db.conn.executemany(
                "INSERT INTO photos (root_id, path_key, rel_path, size, mtime_ns, hash, status, indexed_at) "
                "VALUES (?, ?, ?, 1, 1, ?, 'indexed', 0)",
                [(root.id, f"z/{i}.jpg".encode(), f"z/{i}.jpg", f"x{i}") for i in range(5000)])
        steps = []
        cat.db.conn.set_progress_handler(lambda: steps.append(1), 100)
        try:
            assert cat.photos_under(tmp_path / "a") == ids
        finally:
            cat.db.conn.set_progress_handler(None, 100)
        assert len(steps) < 20  # a scan of the 5,000 other photos takes ~250


def test_user_tags_and_settings(tmp_path):
    with Catalog.open(tmp_path / "c.db") as cat:
        root = cat.add_root(tmp_path)
        pid = cat.write_batch([_record(root.id, b"a.jpg")], "lite0", "m")[0]
        cat.add_user_tag(pid, "beach")
        cat.add_user_tag(pid, "beach")
        cat.add_user_tag(pid, "Robert'); DROP TABLE photos;--")
        assert cat.user_tags([pid])[pid] == ["Robert'); DROP TABLE photos;--", "beach"]
        assert cat.remove_user_tag(pid, "beach") and not cat.remove_user_tag(pid, "beach")
        cat.set_setting("k", "v")
        assert cat.get_setting("k") == "v" and cat.get_setting("missing", "d") == "d"


def test_the_catalog_is_backed_up_before_each_migration(tmp_path):
    path = tmp_path / "catalog.db"
    conn = sqlite3.connect(path, isolation_level=None)
    _migrate_to(conn, 2)
    _one_tagged_photo(conn)
    conn.close()
    with Catalog.open(path) as cat:
        assert cat.schema_version == C.SCHEMA_VERSION
        assert cat.db.execute("SELECT sidecar_sig FROM photos").fetchone()[0] is None  # keywords never read yet
    backups = C.catalog_backups(path)
    assert len(backups) == 1 and backups[0].name.startswith("catalog.backup-schema2-")
    old = sqlite3.connect(backups[0])
    assert old.execute("PRAGMA user_version").fetchone()[0] == 2
    assert old.execute("SELECT tag FROM user_tags").fetchall() == [("grandma",)]
    with Catalog.open(path):
        pass
    assert len(C.catalog_backups(path)) == 1  # up to date: no new backup
    Catalog.open(tmp_path / "fresh.db").close()
    assert C.catalog_backups(tmp_path / "fresh.db") == []  # a new catalog has nothing to back up


def test_a_failed_backup_stops_the_migration(tmp_path, monkeypatch):
    path = tmp_path / "catalog.db"
    conn = sqlite3.connect(path, isolation_level=None)
    _migrate_to(conn, 1)
    conn.close()
    before = path.read_bytes()
    monkeypatch.setattr(C.time, "strftime", lambda fmt: "20000101-000000")
    (tmp_path / "catalog.backup-schema1-20000101-000000.db").mkdir()  # the backup cannot be written there
    monkeypatch.setattr(C.Path, "exists", lambda self: False if "backup" in self.name else os.path.exists(self))
    with pytest.raises(CatalogError, match="could not back up"):
        Catalog.open(path)
    assert path.read_bytes() == before
