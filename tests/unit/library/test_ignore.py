"""What is a photo (issue 12, item 5): editors' backups and temp files never are, `--exclude` and `.taggerignore`
leave files out, and identity by content moves a photo only when its old path is gone.

exiftool's default is to keep the original as ``photo.jpg_original`` next to the edited ``photo.jpg``; the backup has
the content Tagger recorded for the photo, so a matcher by content took the backup for the photo, moved the user's
tag onto it and took it out of the real photo's sidecar. The files here are written the way exiftool writes them
(rename the original, write the edited copy under the old name); exiftool itself is not needed.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tagger.library.catalog import Catalog
from tagger.library.ignore import IgnoreRules, is_editor_leftover
from tagger.library.indexer import Indexer, scan
from tagger.library.keyword_sync import export_keywords, save_settings, sidecar_writer


def _exiftool_edit(photo, comment: bytes = b"edited") -> None:
    """What `exiftool -Comment=... photo.jpg` does: the original is renamed to photo.jpg_original (keeping its mtime)
    and the edited file is written under the old name (here: a COM segment after the JPEG's SOI)."""
    data = photo.read_bytes()
    os.rename(photo, str(photo) + "_original")
    segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
    photo.write_bytes(data[:2] + segment + data[2:])


@pytest.fixture
def jpegs(caltech_library):
    return sorted((caltech_library / "kangaroo").glob("*.jpg"))


# ------------------------------------------------------------------ names that are never photos


@pytest.mark.parametrize("name, leftover", [
    (b"photo.jpg_original", True), (b"photo.JPG_ORIGINAL", True), (b"photo.jpg.bak", True), (b"photo.jpg~", True),
    (b".#photo.jpg", True), (b"photo.tmp", True), (b"._photo.jpg", True), (b"photo.jpg_exiftool_tmp", True),
    (b"photo.jpg", False), (b"original.jpg", False), (b"bakery.jpg", False), (b"tmp.jpg", False),
])
def test_editor_leftover_names(name, leftover):
    assert is_editor_leftover(name) is leftover


def test_editor_backups_and_temp_files_are_never_indexed(tmp_path, jpegs):
    root = tmp_path / "lib"
    root.mkdir()
    data = jpegs[0].read_bytes()
    for name in ("photo.jpg", "photo.jpg_original", "photo.jpg.bak", "photo.jpg~", ".#photo.jpg", "edit.tmp",
                 "._photo.jpg", "photo.jpg_exiftool_tmp", "backup_original"):
        (root / name).write_bytes(data)  # every one of them is a real JPEG inside
    assert [f.path_key for f in scan(root)] == [b"photo.jpg"]


# ------------------------------------------------------------------ --exclude and .taggerignore


def test_exclude_globs_match_names_anywhere_and_paths_from_the_library_folder(tmp_path, jpegs):
    root = tmp_path / "lib"
    for rel in ("a.jpg", "b.png", "Trash/c.jpg", "2019/raw/d.jpg", "2019/e.jpg", "x/2019/raw/f.jpg"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(jpegs[0], root / rel)
    rules = IgnoreRules(["trash", "*.PNG", "./2019/raw/"])  # any case, like extensions
    assert sorted(f.path_key for f in scan(root, ignore=rules)) == [b"2019/e.jpg", b"a.jpg", b"x/2019/raw/f.jpg"]
    absolute = IgnoreRules.for_library(root, [str(root / "2019")])  # a path inside the library works too
    assert sorted(f.path_key for f in scan(root, ignore=absolute)) == [
        b"Trash/c.jpg", b"a.jpg", b"b.png", b"x/2019/raw/f.jpg"]


def test_taggerignore_files_apply_to_their_folder_and_below(tmp_path, jpegs):
    root = tmp_path / "lib"
    for rel in ("keep.jpg", "drafts/a.jpg", "trip/keep.jpg", "trip/scans/b.jpg", "trip/c.psd.jpg", "other/scans/d.jpg"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(jpegs[0], root / rel)
    (root / ".taggerignore").write_text("# folders of drafts\ndrafts/\n\n*.psd.jpg\n")
    (root / "trip" / ".taggerignore").write_text("scans\n")
    assert sorted(f.path_key for f in scan(root)) == [b"keep.jpg", b"other/scans/d.jpg", b"trip/keep.jpg"]
    # starting below the library folder still honours the ignore files above the start
    assert sorted(f.path_key for f in scan(root, b"trip")) == [b"trip/keep.jpg"]


def test_excluded_photos_leave_the_library_and_come_back_when_included(tmp_path, engine, caltech_library):
    root = tmp_path / "lib"
    shutil.copytree(caltech_library / "kangaroo", root / "kangaroo")
    shutil.copytree(caltech_library / "pizza", root / "pizza")
    cat = Catalog.open(tmp_path / "c.db")
    Indexer(cat, engine).index([root])
    pid = cat.find_photo(next((root / "pizza").glob("*.jpg")))
    cat.add_user_tag(pid, "dinner")
    stats = Indexer(cat, engine, exclude=["pizza"]).index([root])
    assert stats.excluded == 1 and stats.gone == 6 and cat.counts() == {"indexed": 6, "failed": 0, "gone": 6}
    assert cat.photo(pid)["reason"].startswith("excluded")
    again = Indexer(cat, engine).index([root])
    assert again.indexed == 0 and cat.counts() == {"indexed": 12, "failed": 0, "gone": 0}
    assert cat.user_tags([pid]) == {pid: ["dinner"]}


# ------------------------------------------------------------------ identity by content


def test_an_exiftool_backup_never_takes_the_photos_tag_or_sidecar(tmp_path, engine, jpegs):
    root = tmp_path / "lib"
    root.mkdir()
    for f in jpegs[:3]:
        shutil.copy(f, root / f.name)
    photo = root / jpegs[0].name
    cat = Catalog.open(tmp_path / "c.db")
    save_settings(cat, enabled=True)
    ix = Indexer(cat, engine)
    ix.on_indexed = sidecar_writer(cat)
    ix.index([root])
    pid = cat.find_photo(photo)
    cat.add_user_tag(pid, "Rex")
    export_keywords(cat, [pid])
    sidecar = root / (photo.name + ".xmp")
    assert b"Rex" in sidecar.read_bytes()

    _exiftool_edit(photo)
    # exiftool keeps a backup of a sidecar it edits, too
    shutil.copy(sidecar, str(sidecar) + "_original")
    for _ in range(2):
        stats = ix.index([root])
        assert stats.moved == 0
    assert cat.find_photo(photo) == pid and cat.user_tags([pid]) == {pid: ["Rex"]}
    assert cat.find_photo(str(photo) + "_original") is None
    assert cat.counts() == {"indexed": 3, "failed": 0, "gone": 0}
    assert b"Rex" in sidecar.read_bytes()
    assert not (root / (photo.name + "_original.xmp")).exists()


def test_a_copy_never_takes_the_row_of_a_photo_that_is_still_there(tmp_path, engine, jpegs):
    root = tmp_path / "lib"
    root.mkdir()
    photo = root / "photo.jpg"
    shutil.copy(jpegs[0], photo)
    cat = Catalog.open(tmp_path / "c.db")
    ix = Indexer(cat, engine)
    ix.index([root])
    pid = cat.find_photo(photo)
    cat.add_user_tag(pid, "Rex")
    (root / "copies").mkdir()
    shutil.copy(photo, root / "copies" / "photo copy.jpg")  # a copy under a name no rule knows
    photo.write_bytes(jpegs[1].read_bytes())  # and the photo itself edited in place
    stats = ix.index([root])
    assert stats.moved == 0 and cat.find_photo(photo) == pid
    assert cat.user_tags([pid]) == {pid: ["Rex"]}
    copy = cat.find_photo(root / "copies" / "photo copy.jpg")
    assert copy not in (None, pid) and cat.user_tags([copy]) == {}
    # a real move still keeps the row: the old path is gone
    (root / "copies" / "photo copy.jpg").rename(root / "moved.jpg")
    stats = ix.index([root])
    assert stats.moved == 1 and cat.find_photo(root / "moved.jpg") == copy
