"""One catalog, several processes: nothing this process does may unlock the catalog behind SQLite's back.

POSIX drops every lock a process holds on a file when it closes any descriptor on that file. If the indexer opens the
catalog (or its -wal/-shm) to sniff whether it is a photo, SQLite's locks in this process are gone; the next process
that closes the catalog takes the WAL for unused and deletes it, and every later write here goes into a deleted file:
tags that look saved and are lost at the next start (issue 12, item 1: the app and the CLI on one catalog).
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
from PIL import Image

from tagger.library.catalog import Catalog
from tagger.library.indexer import Indexer, scan


def _photos(folder, n=3):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(folder / f"p{i}.jpg", quality=90)


def _deleted_catalog_files(name: str) -> list[str]:
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if name in target and "(deleted)" in target:
            out.append(target)
    return out


def _other_process(db, code: str) -> str:
    script = f"from tagger.library.catalog import Catalog\nc = Catalog.open({str(db)!r})\n{code}\nc.close()\n"
    return subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True).stdout


def test_the_scan_never_opens_the_catalog_or_its_wal(tmp_path):
    lib = tmp_path / "lib"
    _photos(lib)
    with Catalog.open(lib / "catalog.db") as catalog:
        catalog.add_root(lib)  # writes: the -wal and -shm now exist beside it
        opened = []
        real_open = open

        def spy(path, *args, **kwargs):
            opened.append(os.fsdecode(path))
            return real_open(path, *args, **kwargs)

        import builtins

        builtins.open = spy
        try:
            found = sorted(f.path_key for f in scan(lib, held=catalog.held_files()))
        finally:
            builtins.open = real_open
    assert found == [b"p0.jpg", b"p1.jpg", b"p2.jpg"]
    assert not [p for p in opened if "catalog.db" in p], opened


def test_a_catalog_inside_the_library_stays_locked_while_other_processes_come_and_go(engine, tmp_path):
    lib = tmp_path / "lib"
    _photos(lib)
    db = lib / "catalog.db"
    catalog = Catalog.open(db)
    try:
        Indexer(catalog, engine).index([lib])
        assert catalog.counts()["indexed"] == 3  # the catalog and its files are not photos
        _other_process(db, "c.db.execute('SELECT COUNT(*) FROM photos').fetchone()")  # `tagger search` and gone
        assert _deleted_catalog_files("catalog.db") == []
        pid = catalog.indexed_ids()[0]
        catalog.add_user_tag(pid, "after")  # what the app does next
        seen = _other_process(db, "print(c.db.execute('SELECT tag FROM user_tags').fetchall())")
        assert "after" in seen, "a tag written after another process closed the catalog must reach the catalog"
    finally:
        catalog.close()
