"""A full disk (issue 12, item 10): reading still works, failures say "disk full", nothing half-written stays behind,
thumbnails that could not be written are counted, and `doctor --repair` never deletes a thumbnail an index is about to
use.

A full disk is simulated without root: a child process whose file size limit (RLIMIT_FSIZE) is below what SQLite needs
for its shared-memory file (writes past it fail, as ENOSPC makes them fail), or writes patched to raise ENOSPC and
SQLite's "database or disk is full"."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tagger import fileio
from tagger.cli import main
from tagger.errors import is_disk_full
from tagger.library import catalog as catalog_module
from tagger.library.catalog import Catalog, CatalogError
from tagger.library.doctor import diagnose
from tagger.library.indexer import Indexer

_LIMITED = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
limit = int(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
from tagger.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _tagger_on_a_full_disk(*argv: str, limit: int = 16 * 1024) -> subprocess.CompletedProcess:
    """`tagger ARGV` in a child that cannot make any file longer than ``limit`` bytes."""
    return subprocess.run([sys.executable, "-c", _LIMITED, str(limit), *argv], capture_output=True, text=True,
                          timeout=300, cwd=Path(__file__).resolve().parents[2])


@pytest.fixture
def catalog_copy(caltech_catalog, tmp_path) -> Path:
    """A private copy of the session's indexed catalog (48 photos) with its thumbnails, cleanly closed."""
    db = tmp_path / "disk" / "catalog.db"
    db.parent.mkdir()
    shutil.copy(caltech_catalog, db)
    shutil.copytree(caltech_catalog.parent / "catalog.thumbnails", db.parent / "catalog.thumbnails")
    assert not Path(f"{db}-wal").exists()
    return db


def _fill_disk(monkeypatch) -> None:
    """Every thumbnail write fails as it does on a full disk, after its temporary file was created."""
    def full(path, data, *, fsync=True):
        with fileio.atomic_path(path) as tmp:
            tmp.write_bytes(data[:100])
            raise OSError(errno.ENOSPC, "No space left on device", str(tmp))

    monkeypatch.setattr(catalog_module, "atomic_write_bytes", full)


# ------------------------------------------------------------------ reading a healthy catalog on a full disk


def test_read_only_commands_work_on_a_full_disk(catalog_copy, caltech_library):
    """SQLite must grow its -shm file to read a WAL catalog nobody has open; on a full disk that fails with
    'disk I/O error', which was reported as a damaged catalog."""
    db = str(catalog_copy)
    status = _tagger_on_a_full_disk("--db", db, "status", "--json")
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["indexed"] == 48
    search = _tagger_on_a_full_disk("--db", db, "search", "kangaroo", "--json")
    assert search.returncode == 0, search.stderr
    assert len(json.loads(search.stdout)) > 0
    tags = _tagger_on_a_full_disk("--db", db, "tags", str(caltech_library / "kangaroo"), "--json")
    assert tags.returncode == 0, tags.stderr
    doctor = _tagger_on_a_full_disk("--db", db, "doctor", "--json")
    assert json.loads(doctor.stdout)["catalog"] == db, doctor.stderr
    for done in (status, search, tags, doctor):
        assert "damaged" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    with Catalog.open(catalog_copy) as cat:  # and it is still a healthy catalog afterwards
        assert cat.integrity_problems() == [] and cat.counts()["indexed"] == 48


def _unshare_works() -> bool:
    if not shutil.which("unshare"):
        return False
    try:
        done = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                              capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


_REAL_DISK = r"""
set -e
mount -t tmpfs -o size=4m tmpfs "$DISK"
cp "$DB" "$DISK/catalog.db"
cp -r "$THUMBS" "$DISK/catalog.thumbnails"
dd if=/dev/zero of="$DISK/filler" bs=4k 2>/dev/null || true
run() { name=$1; shift; "$PY" -m tagger --db "$DISK/catalog.db" "$@" >"$OUT/$name.out" 2>"$OUT/$name.err" || true; }
run status status --json
run search search kangaroo --json
run doctor doctor --json
run index index "$NEW"
run repair doctor --repair
df -k "$DISK" | tail -1 >"$OUT/df"
find "$DISK" -type f ! -name filler ! -name 'catalog.db*' ! -name '*.jpg' >"$OUT/left"
"""


def test_a_real_full_disk(catalog_copy, caltech_library, tmp_path):
    """The same on a real 4 MB disk filled to the last block (a tmpfs in a user namespace, where available)."""
    if not _unshare_works():
        pytest.skip("no user namespaces here: cannot mount a small disk")
    new = tmp_path / "new"
    new.mkdir()
    for i, photo in enumerate(sorted((caltech_library / "okapi").glob("*.jpg"))[:2]):
        (new / photo.name).write_bytes(photo.read_bytes() + bytes(i + 1))  # content the catalog has not seen
    disk, out = tmp_path / "small-disk", tmp_path / "out"
    disk.mkdir()
    out.mkdir()
    env = {**os.environ, "DISK": str(disk), "OUT": str(out), "DB": str(catalog_copy), "NEW": str(new),
           "THUMBS": str(catalog_copy.parent / "catalog.thumbnails"), "PY": sys.executable}
    done = subprocess.run(["unshare", "-rm", "sh", "-c", _REAL_DISK], env=env, capture_output=True, text=True,
                          timeout=600, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert (out / "df").read_text().split()[3] == "0"  # not a block left
    read = {name: ((out / f"{name}.out").read_text(), (out / f"{name}.err").read_text())
            for name in ("status", "search", "doctor", "index", "repair")}
    assert json.loads(read["status"][0])["indexed"] == 48, read["status"]
    assert json.loads(read["search"][0]), read["search"]
    assert json.loads(read["doctor"][0])["healthy"], read["doctor"]
    assert "full disk" in read["index"][1] and "free some space" in read["index"][1], read["index"]
    assert "full disk" in read["repair"][0], read["repair"]
    for name, (_, stderr) in read.items():
        assert "damaged" not in stderr and "Traceback" not in stderr, (name, stderr)
    assert (out / "left").read_text() == ""  # no temporary file, no half-written thumbnail


def test_a_catalog_that_cannot_be_opened_on_a_full_disk_says_disk_full_never_damaged(catalog_copy, monkeypatch):
    real_connect = catalog_module._connect

    class FullDisk:
        def __init__(self, conn):
            self.conn = conn

        def execute(self, *args):
            raise sqlite3.OperationalError("database or disk is full")

        def close(self):
            self.conn.close()

    monkeypatch.setattr(catalog_module, "_connect", lambda *a, **k: FullDisk(real_connect(*a, **k)))
    with pytest.raises(CatalogError) as err:
        Catalog.open(catalog_copy)
    assert "disk is full" in str(err.value) and "damaged" not in str(err.value)


# ------------------------------------------------------------------ writing on a full disk


def test_thumbnails_that_cannot_be_written_are_counted_and_leave_no_temporary_files(engine, caltech_library,
                                                                                     tmp_path, monkeypatch, capsys):
    library = tmp_path / "photos"
    shutil.copytree(caltech_library / "pizza", library)
    db = tmp_path / "catalog.db"
    _fill_disk(monkeypatch)
    with Catalog.open(db) as cat:
        stats = Indexer(cat, engine).index([library])
        assert stats.indexed == 6 and stats.thumbnails_failed == 6
    thumbs = db.parent / "catalog.thumbnails"
    assert [p for p in thumbs.rglob("*") if p.is_file()] == []  # no half-written thumbnail, no .tmp
    # the command line says so, and says what to do
    shutil.copy(library / sorted(os.listdir(library))[0], library / "again.jpg")
    (library / "again.jpg").write_bytes((library / "again.jpg").read_bytes() + b"\0")  # new content
    assert main(["--db", str(db), "index", str(library)]) == 0
    out = capsys.readouterr().out
    assert "1 thumbnail could not be written" in out and "doctor --repair" in out
    assert main(["--db", str(db), "index", str(library), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["thumbnails_failed"] == 0  # nothing new to write
    monkeypatch.undo()
    with Catalog.open(db) as cat:  # once space is free, doctor re-makes them
        report = diagnose(cat, repair=True)
        assert {f.check: f for f in report.findings}["missing_thumbnails"].repaired
        assert all(cat.thumbnail_path(h).is_file() for h in cat.known_hashes())


def test_an_index_that_runs_out_of_disk_says_disk_full(engine, caltech_library, tmp_path, monkeypatch, capsys):
    library = tmp_path / "photos"
    shutil.copytree(caltech_library / "ketch", library)

    def full(*args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(Catalog, "write_batch", full)
    assert main(["--db", str(tmp_path / "c.db"), "index", str(library)]) == 2
    err = capsys.readouterr().err
    assert "disk is full" in err and "Traceback" not in err and "damaged" not in err


def test_sidecar_writes_on_a_full_disk_leave_no_temporary_file(tmp_path, monkeypatch):
    from tagger.library import keywords

    photo = tmp_path / "photo.jpg"
    photo.write_bytes(b"\xff\xd8\xff\xd9")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(keywords.os, "fsync", full)
    result = keywords.write_keywords(os.fsencode(photo), ["rex"])
    assert result.status == "failed" and "No space left" in result.reason
    assert sorted(os.listdir(tmp_path)) == ["photo.jpg"]


def test_a_model_build_that_runs_out_of_disk_leaves_no_building_folder(tmp_path, monkeypatch):
    """A half-built model is hundreds of MB: left behind, it keeps the disk full."""
    import numpy as np

    from tagger.engine import export, model_store, semantics, wordspace

    def full(folder, **kwargs):
        (Path(folder) / "model.onnx").write_bytes(b"\0" * 1000)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(wordspace.WordSpace, "load", staticmethod(lambda path: None))
    monkeypatch.setattr(semantics, "imagenet_class_vectors", lambda space: np.zeros((2, 2), np.float32))
    monkeypatch.setattr(export, "write_model", full)
    folder = tmp_path / "models" / "lite0-x"
    folder.parent.mkdir()
    with pytest.raises(OSError) as err:
        model_store.build_model(folder, "lite0", model_store.WordSpaceRef(tmp_path / "ws.bin", "ws", False), 10)
    assert is_disk_full(err.value)
    assert os.listdir(folder.parent) == []


# ------------------------------------------------------------------ doctor during an index


def test_doctor_repair_keeps_thumbnails_an_index_is_about_to_use(tmp_path):
    """The indexer writes a batch's thumbnails, then commits its rows: in between they look unused."""
    with Catalog.open(tmp_path / "c.db") as cat:
        fresh = cat.thumbnail_path("a" * 32)  # written by an index a moment ago, its row not committed yet
        fresh.parent.mkdir(parents=True)
        fresh.write_bytes(b"jpeg")
        writing = cat.thumbnail_dir / "aa" / ".bbbb.jpg.x1y2.tmp"  # being written right now
        writing.write_bytes(b"jp")
        old = cat.thumbnail_path("c" * 32)  # unused for a day: a cache entry to drop
        old.parent.mkdir(parents=True)
        old.write_bytes(b"jpeg")
        left = cat.thumbnail_dir / "cc" / ".dddd.jpg.z9.tmp"  # left by a run killed yesterday
        left.write_bytes(b"jp")
        reused = cat.thumbnail_path("e" * 32)  # an old thumbnail whose photo an index is adding again
        reused.parent.mkdir(parents=True)
        reused.write_bytes(b"jpeg")
        day_ago = time.time() - 86400
        for p in (old, left, reused):
            os.utime(p, (day_ago, day_ago))
        assert cat.save_thumbnail("e" * 32, b"jpeg")
        report = diagnose(cat, repair=True)
        assert {f.check: f for f in report.findings}["orphan_thumbnails"].count == 2
        assert fresh.exists() and writing.exists() and reused.exists()
        assert not old.exists() and not left.exists()
