"""`tagger doctor`: each problem it checks for is made on purpose, found, and repaired only when that loses nothing."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tagger.cli import main
from tagger.fileio import content_hash
from tagger.library.catalog import Catalog, PhotoRecord
from tagger.library.doctor import diagnose


def _photo(path, color) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "JPEG")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())
    return out.getvalue()


def _record(root_id, key, data, seed):
    rng = np.random.default_rng(seed)
    return PhotoRecord(root_id, key, len(data), 1, "indexed", hash=content_hash(data), features=rng.standard_normal(8),
                       top_classes=np.arange(3, dtype=np.int16), top_probs=np.array([0.5, 0.3, 0.2]),
                       embedding=np.ones(4, np.float32) / 2, auto_tags=[("cat", 0.9)])


@pytest.fixture
def library(tmp_path):
    """A catalog of three real files with thumbnails, a user tag and a label: healthy."""
    photos = tmp_path / "photos"
    datas = {name: _photo(photos / name, color) for name, color in
             (("a/red.jpg", "red"), ("a/green.jpg", "green"), ("b/blue.jpg", "blue"))}
    cat = Catalog.open(tmp_path / "c.db")
    root = cat.add_root(photos)
    ids = cat.write_batch([_record(root.id, k.encode(), d, i) for i, (k, d) in enumerate(datas.items())], "b", "m")
    for data in datas.values():
        thumb = cat.thumbnail_path(content_hash(data))
        thumb.parent.mkdir(parents=True, exist_ok=True)
        thumb.write_bytes(data)
    cat.add_user_tag(ids[0], "grandma")
    cat.set_label(photos / "a", "colours")
    return cat, photos, ids


def _checks(report) -> dict[str, object]:
    return {f.check: f for f in report.findings}


def test_a_healthy_catalog(library):
    cat, _, _ = library
    report = diagnose(cat)
    assert report.healthy and report.findings == []
    assert report.checks == ["integrity", "orphan_rows", "files", "thumbnails", "labels", "versions", "moved_photos"]


def test_missing_files_are_marked_gone_keeping_tags(library):
    cat, photos, ids = library
    (photos / "a/red.jpg").unlink()
    f = _checks(diagnose(cat))["missing_files"]
    assert f.count == 1 and f.repairable and not f.repaired
    assert cat.counts()["gone"] == 0  # checking changes nothing
    report = diagnose(cat, repair=True)
    assert _checks(report)["missing_files"].repaired and report.healthy
    assert cat.counts() == {"indexed": 2, "failed": 0, "gone": 1}
    assert cat.user_tags([ids[0]]) == {ids[0]: ["grandma"]}


def test_an_unplugged_library_folder_is_reported_never_repaired(library, tmp_path):
    cat, photos, _ = library
    photos.rename(tmp_path / "unplugged")
    report = diagnose(cat, repair=True)
    checks = _checks(report)
    assert checks["missing_roots"].count == 1 and not checks["missing_roots"].repaired
    assert "missing_files" not in checks and cat.counts()["gone"] == 0  # photos on the missing disk stay
    assert "labels" in checks and not report.healthy


def test_orphan_rows_and_thumbnails_are_removed(library):
    cat, _, _ = library
    cat.db.conn.execute("PRAGMA foreign_keys = OFF")
    cat.db.conn.execute("INSERT INTO user_tags (photo_id, tag, source, added_at) VALUES (999, 'lost', 'user', 0)")
    cat.db.conn.execute("INSERT INTO embeddings (photo_id, model, vector) VALUES (998, 'm', x'00')")
    cat.db.conn.execute("PRAGMA foreign_keys = ON")
    stray = cat.thumbnail_path("f" * 32)
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_bytes(b"old")
    tmp = cat.thumbnail_dir / "ab" / "tmpx1y2.tmp"
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_bytes(b"half")
    keep = cat.thumbnail_dir / "notes.txt"  # not ours: never deleted
    keep.write_text("mine")
    for p in (stray, tmp):  # left long ago: younger ones may belong to an index in flight (test_full_disk.py)
        os.utime(p, (1, 1))
    checks = _checks(diagnose(cat))
    assert checks["orphan_rows"].count == 2 and checks["orphan_thumbnails"].count == 2
    report = diagnose(cat, repair=True)
    assert report.healthy and not stray.exists() and not tmp.exists() and keep.exists()
    assert cat.orphan_rows() == {}


def test_missing_thumbnails_are_remade_from_unchanged_photos(library):
    cat, photos, ids = library
    thumbs = [cat.thumbnail_path(cat.photo(i)["hash"]) for i in ids]
    thumbs[0].unlink()
    thumbs[2].unlink()
    _photo(photos / "b/blue.jpg", "yellow")  # changed since indexing: not re-made, `tagger index` will
    report = diagnose(cat, repair=True)
    f = _checks(report)["missing_thumbnails"]
    assert f.count == 2 and not f.repaired and "1 could not be re-made" in f.message
    assert thumbs[0].is_file() and Image.open(thumbs[0]).size == (64, 48) and not thumbs[2].exists()


def test_index_corruption_is_rebuilt_and_other_damage_points_to_backups(library):
    cat, _, ids = library
    conn = cat.db.conn
    conn.execute("CREATE INDEX dummy ON photos(hash) WHERE 0")
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'dummy'").fetchone()[0]
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute("UPDATE sqlite_master SET rootpage = ? WHERE name = 'photos_hash'", [root])
    conn.execute("DELETE FROM sqlite_master WHERE name = 'dummy'")
    conn.execute("PRAGMA writable_schema = OFF")
    path = cat.path
    cat.close()
    cat = Catalog.open(path)
    f = _checks(diagnose(cat))["integrity"]
    assert f.repairable and any("missing from index photos_hash" in p for p in f.items)
    report = diagnose(cat, repair=True)
    assert _checks(report)["integrity"].repaired and report.healthy
    assert cat.integrity_problems() == [] and cat.user_tags([ids[0]]) == {ids[0]: ["grandma"]}


def test_cli_doctor_json_and_exit_codes(library, capsys):
    cat, photos, _ = library
    db = str(cat.path)
    assert main(["doctor", "--db", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["healthy"] is True
    (photos / "b/blue.jpg").unlink()
    assert main(["doctor", "--db", db]) == 1
    assert "missing_files" in capsys.readouterr().out
    assert main(["doctor", "--db", db, "--repair", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["healthy"] and out["findings"][0]["repaired"]


def test_doctor_on_a_damaged_file_says_so(tmp_path, capsys):
    db = tmp_path / "junk.db"
    db.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 20)
    assert main(["doctor", "--db", str(db)]) == 2
    assert "damaged or not a Tagger catalog" in capsys.readouterr().err


# ------------------------------------------------------------------ trained versions and moved photos (issue 12)


def test_an_active_version_whose_folder_is_gone_is_an_error(library, tmp_path):
    """Issue 12: a training's cleanup deleted the active version's folder; search fell back to the untrained model
    and doctor said healthy."""
    cat, _, _ = library
    cat.add_version(1, "m", "m+v1", tmp_path / "c.models" / "v1", ["colours"], {})
    report = diagnose(cat, repair=True)
    f = _checks(report)["active_version"]
    assert f.severity == "error" and not f.repairable and not report.healthy
    assert "version 1" in f.message and "tagger models --use" in f.message
    cat.use_version(0)  # rolled back: the lost version is only a note now (it cannot be used again)
    report = diagnose(cat)
    assert report.healthy and _checks(report)["versions"].severity == "info"


def test_photos_without_the_active_versions_vectors_are_found_and_reprojected(engine, caltech_catalog, tmp_path):
    from tagger.training.retrain import train_version
    from tagger.training.trainer import TrainConfig

    db = tmp_path / "catalog.db"
    shutil.copy(caltech_catalog, db)
    cat = Catalog.open(db)
    library = Path(cat.roots()[0].path)
    for folder in ("kangaroo", "okapi"):
        cat.set_label(library / folder, folder)
    model = train_version(cat, engine.twin(), config=TrainConfig(epochs=3, patience=3, batch_size=16)).model
    before = cat.embedding_table(model, engine.backbone)
    lost = before.ids[:5].tolist()
    with cat.transaction():
        cat.db.execute(f"DELETE FROM embeddings WHERE model = ? AND photo_id IN ({','.join('?' * 5)})", [model, *lost])
    f = _checks(diagnose(cat))["version_vectors"]
    assert f.count == 5 and f.repairable and f.severity == "warning"
    report = diagnose(cat, repair=True)
    assert _checks(report)["version_vectors"].repaired and report.healthy
    after = cat.embedding_table(model, engine.backbone)
    np.testing.assert_allclose(after.vectors, before.vectors, atol=1e-6)

    shutil.rmtree(db.parent / "catalog.models" / "v1")  # the active version's folder is gone
    assert main(["doctor", "--db", str(db)]) == 1
    assert _checks(diagnose(cat))["active_version"].severity == "error"
    cat.close()


def test_photos_whose_file_is_gone_but_whose_content_is_elsewhere_are_reported(library):
    """A renamed library folder or a re-added parent left rows at dead paths, the user's tags on them."""
    cat, photos, ids = library
    data = (photos / "a/red.jpg").read_bytes()
    (photos / "c").mkdir()
    (photos / "a/red.jpg").rename(photos / "c/red.jpg")
    cat.write_batch([_record(cat.roots()[0].id, b"c/red.jpg", data, 0)], "b", "m")
    f = _checks(diagnose(cat))["moved_photos"]
    assert f.count == 1 and f.severity == "warning" and not f.repairable
    assert f.items == [f"{photos / 'a/red.jpg'} -> {photos / 'c/red.jpg'} (1 tag)"]
