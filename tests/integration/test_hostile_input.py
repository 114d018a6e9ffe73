"""Hostile input never crashes anything: search texts, file names and keywords that break naive code, a catalog on
a read-only disk, a catalog from a newer Tagger, a database that is not a catalog. Each case runs the real CLI
(in a subprocess where the process boundary matters: stdout encoding, read-only mounts)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tagger.cli import main
from tagger.library import catalog as C
from tagger.library import schema as S
from tagger.library.catalog import Catalog, CatalogError
from tagger.library.indexer import Indexer, scan
from tests.shared import digests

SEARCH_TEXTS = [
    "'; DROP TABLE photos; --",
    "\" OR 1=1 --",
    "%_*?[]\\",
    "x" * 10_000,
    "kangaroo " * 1_500,
    "🦘🍕🚀",
    "כלב ים",  # Hebrew, right to left
    "مرحبا بالعالم",  # Arabic
    "\u202ekangaroo\u202c",  # right-to-left override around a word
    "Ｋａｎｇａｒｏｏ",  # full-width letters
    "zero\u200bwidth",
    "line\nbreak\ttab",
    "   ",
    "-",
    "--json",
]

ODD_NAMES = [
    b"line\nbreak.jpg",
    b"latin1-\xe9t\xe9.jpg",  # not valid UTF-8
    b"tab\tand\rreturn.jpg",
    "emoji 🦘.jpg".encode(),
    "עברית.jpg".encode(),
    "\u202egpj.exe".encode(),  # right-to-left override
    b"-rf.jpg",
    b" leading space.jpg",
    b"semi;colon'quote\"$(x).jpg",
    b"a" * 240 + b".jpg",
    b"no_extension",
]

HOSTILE_KEYWORDS = ["<script>alert(1)</script>", "Robert'); DROP TABLE user_tags;--", "🦘 roo", "שלום",
                    "x" * 5000, "a\u0000b", "\u202eevil"]


def _tagger(db: Path, *argv: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tagger", "--db", str(db), *argv], capture_output=True, timeout=300,
                          env=env)


@pytest.fixture(scope="module")
def hostile_library(engine, caltech_library, tmp_path_factory):
    """Photos under odd names, some with sidecars full of hostile keywords, indexed into a catalog."""
    root = tmp_path_factory.mktemp("hostile") / "photos"
    root.mkdir()
    src = sorted((caltech_library / "kangaroo").glob("*.jpg")) + sorted((caltech_library / "pizza").glob("*.jpg"))
    for name, photo in zip(ODD_NAMES, src):
        path = os.fsencode(root) + b"/" + name
        shutil.copy(photo, path)
    items = "".join(f"<rdf:li>{k.replace('&', '&amp;').replace('<', '&lt;').replace(chr(0), '&#0;')}</rdf:li>"
                    for k in HOSTILE_KEYWORDS if "\x00" not in k)
    for name in ODD_NAMES[:3]:
        with open(os.fsencode(root) + b"/" + name + b".xmp", "w", encoding="utf-8") as fh:
            fh.write('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
                     'syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:subject>'
                     f'<rdf:Bag>{items}</rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>')
    db = root.parent / "catalog.db"
    with Catalog.open(db) as cat:
        stats = Indexer(cat, engine).index([root])
    return root, db, stats


# ------------------------------------------------------------------ search text


@pytest.mark.parametrize("text", SEARCH_TEXTS, ids=range(len(SEARCH_TEXTS)))
def test_hostile_search_text(hostile_library, text, capsys):
    _, db, _ = hostile_library
    before = Catalog.open(db).counts()
    capsys.readouterr()
    assert main(["--db", str(db), "search", "--json", "--limit", "3", "--", text]) == 0  # '--': text may start with -
    hits = json.loads(capsys.readouterr().out)
    assert isinstance(hits, list) and len(hits) <= 3
    assert Catalog.open(db).counts() == before


def test_search_output_is_valid_utf8_json_even_for_undecodable_names(hostile_library):
    _, db, _ = hostile_library
    done = _tagger(db, "search", "kangaroo", "--json", "--limit", "20")
    assert done.returncode == 0, done.stderr
    hits = json.loads(done.stdout.decode("utf-8"))
    assert len(hits) == len(ODD_NAMES)
    done = _tagger(db, "status", "--json")
    assert done.returncode == 0 and json.loads(done.stdout.decode("utf-8"))["indexed"] == len(ODD_NAMES)


# ------------------------------------------------------------------ file names and keywords


def test_odd_file_names_are_indexed_with_their_keywords(hostile_library, capsys):
    root, db, stats = hostile_library
    assert sorted(f.path_key for f in scan(root)) == sorted(ODD_NAMES)
    assert stats.indexed == len(ODD_NAMES) and stats.failed == 0
    cat = Catalog.open(db)
    for name in ODD_NAMES[:3]:
        pid = cat.find_photo(os.fsdecode(os.fsencode(root) + b"/" + name))
        tags = cat.user_tags([pid])[pid]
        assert "<script>alert(1)</script>" in tags and "Robert'); DROP TABLE user_tags;--" in tags
        assert "x" * 200 in tags and "x" * 201 not in tags  # capped
        assert all("\n" not in t and "\x00" not in t for t in tags)
    capsys.readouterr()
    assert main(["--db", str(db), "tags", str(root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["photos"] == len(ODD_NAMES)
    odd = os.fsdecode(os.fsencode(root) + b"/" + ODD_NAMES[1])
    assert main(["--db", str(db), "tag", odd, "--add", "\u202e😀 '; --"]) == 0
    assert "\u202e😀 '; --" in cat.user_tags([cat.find_photo(odd)])[cat.find_photo(odd)]


def test_writing_keywords_next_to_odd_names(hostile_library, capsys):
    root, db, _ = hostile_library
    from tagger.library.keyword_sync import export_keywords, save_settings
    from tagger.library.keywords import find_sidecars, read_sidecar

    cat = Catalog.open(db)
    for name in ODD_NAMES:
        cat.add_user_tag(cat.find_photo(os.fsdecode(os.fsencode(root) + b"/" + name)), "odd <&> name")
    save_settings(cat, enabled=True)
    report = export_keywords(cat)
    assert not report.failed and report.written == len(ODD_NAMES)
    for name in ODD_NAMES:
        sides = find_sidecars(os.fsencode(root) + b"/" + name)
        assert len(sides) == 1 and "odd <&> name" in read_sidecar(sides[0]).keywords(include_auto=True)
    save_settings(cat, enabled=False)


# ------------------------------------------------------------------ catalogs that must not be written


def test_a_catalog_from_a_newer_tagger_is_refused_untouched(tmp_path, capsys):
    db = tmp_path / "new.db"
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {C.SCHEMA_VERSION + 1}")
    conn.execute("CREATE TABLE from_the_future (x)")
    conn.commit()
    conn.close()
    before = digests(tmp_path)
    for argv in (["status"], ["search", "x"], ["index", str(tmp_path)], ["tag", str(db), "--add", "x"],
                 ["keywords", "--write", "on"], ["doctor", "--repair"], ["labels"]):
        assert main(["--db", str(db), *argv]) == 2, argv
        err = capsys.readouterr().err
        assert "newer Tagger" in err and "Nothing was changed" in err, argv
    assert digests(tmp_path) == before  # no byte changed, no -wal, -shm or backup appeared


def test_a_database_that_is_not_a_catalog_is_refused_untouched(tmp_path, capsys):
    db = tmp_path / "photos.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE someone_elses (x)")
    conn.commit()
    conn.close()
    before = db.read_bytes()
    with pytest.raises(CatalogError, match="not a Tagger catalog"):
        Catalog.open(db)
    assert db.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["photos.sqlite"]


def _unshare_works() -> bool:
    if not shutil.which("unshare"):
        return False
    try:
        return subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _read_only_runner(folder: Path):
    """Runs `tagger` with ``folder`` on a read-only mount (a user+mount namespace), or with write permission
    removed where namespaces are not available (not as root: root ignores permissions)."""
    if _unshare_works():
        script = 'mount --bind "$1" "$1" && mount -o remount,ro,bind "$1" && shift && exec "$@"'

        def run(db, *argv):
            return subprocess.run(["unshare", "-rm", "sh", "-c", script, "sh", str(folder), sys.executable, "-m",
                                   "tagger", "--db", str(db), *argv], capture_output=True, timeout=300)
        return run, lambda: None
    if os.geteuid() == 0:
        pytest.skip("no user namespaces and running as root: cannot make a read-only disk here")
    modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
    for p in modes:
        p.chmod(modes[p] & ~0o222)

    def restore():
        for p, m in modes.items():
            p.chmod(m)
    return _tagger, restore


def test_a_catalog_on_a_read_only_disk(engine, caltech_library, tmp_path):
    library = tmp_path / "photos"
    shutil.copytree(caltech_library / "kangaroo", library)
    disk = tmp_path / "disk"
    disk.mkdir()
    db = disk / "catalog.db"
    with Catalog.open(db) as cat:
        Indexer(cat, engine).index([library])
        cat.add_user_tag(cat.photos_under(library)[0], "skippy")
    photo = sorted(library.glob("*.jpg"))[1]
    before = digests(disk)
    run, restore = _read_only_runner(disk)
    try:
        ok = {"status": run(db, "status", "--json"), "search": run(db, "search", "kangaroo", "--json"),
              "tags": run(db, "tags", str(library), "--json"), "doctor": run(db, "doctor", "--json")}
        refused = {"index": run(db, "index", str(library)), "tag": run(db, "tag", str(photo), "--add", "x"),
                   "keywords": run(db, "keywords", "--write", "on"), "label": run(db, "label", str(library), "roo")}
        repair = run(db, "doctor", "--repair")
    finally:
        restore()
    for name, done in ok.items():
        assert done.returncode == 0, (name, done.stderr)
        json.loads(done.stdout)
    assert json.loads(ok["status"].stdout)["indexed"] == 6 and json.loads(ok["search"].stdout)
    for name, done in refused.items():
        assert done.returncode == 2, (name, done.stdout, done.stderr)
        assert b"read-only disk" in done.stderr and b"Traceback" not in done.stderr, name
    assert repair.returncode == 1 and b"read-only" in repair.stdout
    assert digests(disk) == before  # nothing was written, not even a -wal or -shm file


def test_an_old_catalog_on_a_read_only_disk_is_refused_clearly(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    conn = sqlite3.connect(disk / "old.db", isolation_level=None)
    S.MIGRATIONS[0](conn)
    conn.execute("PRAGMA user_version = 1")
    conn.close()
    before = digests(disk)
    run, restore = _read_only_runner(disk)
    try:
        done = run(disk / "old.db", "status")
    finally:
        restore()
    assert done.returncode == 2 and b"needs an upgrade" in done.stderr and b"read-only" in done.stderr
    assert digests(disk) == before
