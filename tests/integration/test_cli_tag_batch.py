"""`tagger tag PATH... --add WORD --remove WORD` (issue 13): photos and folders (recursively) in one call and one
catalog transaction, real counts, keyword sidecars for every changed photo, and a path the catalog does not know
refused by name with nothing changed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tagger.cli import main
from tagger.library.catalog import Catalog, PhotoRecord
from tagger.library.keywords import find_sidecars, read_sidecar
from tests.shared import cli_json

NAMES = ["a.jpg", "b.jpg", "trip/c.jpg", "trip/day2/d.jpg", "other/e.jpg"]


@pytest.fixture
def library(tmp_path) -> tuple[Path, str]:
    """Five small photos in nested folders, in a catalog (rows written directly: no model needed to tag)."""
    root = tmp_path / "photos"
    (root / "empty").mkdir(parents=True)
    for i, name in enumerate(NAMES):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8), (i * 40, 0, 0)).save(root / name)
    db = tmp_path / "c.db"
    with Catalog.open(db) as cat:
        rid = cat.add_root(root).id
        rng = np.random.default_rng(0)
        cat.write_batch([PhotoRecord(rid, name.encode(), 100, 1_000, "indexed", hash=f"h{i}",
                                     features=rng.standard_normal(16), top_classes=np.arange(3, dtype=np.int16),
                                     top_probs=np.array([0.5, 0.3, 0.2]),
                                     embedding=np.ones(8, np.float32) / np.sqrt(8), auto_tags=[])
                         for i, name in enumerate(NAMES)], "lite0", "m")
    return root, str(db)


def _tags(db: str, root: Path) -> dict[str, list[str]]:
    with Catalog.open(db) as cat:
        ids = {name: cat.find_photo(root / name) for name in NAMES}
        tags = cat.user_tags(list(ids.values()))
    return {name: tags[pid] for name, pid in ids.items() if pid in tags}


def test_two_photos_and_a_folder_in_one_call(library, capsys):
    root, db = library
    out = cli_json(capsys, "tag", str(root / "a.jpg"), str(root / "b.jpg"), str(root / "trip"),
                "--add", "beach", "--add", "  sea   side ", "--db", db, "--json")
    assert out["photos"] == 4 and out["added"] == {"beach": 4, "sea side": 4} and out["tags_added"] == 8
    assert out["removed"] == {} and out["photos_changed"] == 4
    assert _tags(db, root) == {n: ["beach", "sea side"] for n in NAMES[:4]}  # the folder recursively; e untouched

    # counts are real: a tag a photo already has is not counted again
    out = cli_json(capsys, "tag", str(root), "--add", "beach", "--remove", "sea side", "--db", db, "--json")
    assert out["photos"] == 5 and out["added"] == {"beach": 1} and out["removed"] == {"sea side": 4}

    assert main(["tag", str(root / "trip"), "--remove", "beach", "--db", db]) == 0
    assert "removed 'beach' from 2 photos" in capsys.readouterr().out
    assert _tags(db, root) == {"a.jpg": ["beach"], "b.jpg": ["beach"], "other/e.jpg": ["beach"]}


def test_a_path_the_catalog_does_not_know_changes_nothing(library, capsys, tmp_path):
    root, db = library
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    for bad in (root / "nowhere.jpg", root / "empty", outside):
        capsys.readouterr()
        assert main(["tag", str(root / "a.jpg"), str(bad), "--add", "beach", "--db", db]) == 2
        err = capsys.readouterr().err
        assert str(bad) in err and "tagger index" in err and "Traceback" not in err, err
        assert _tags(db, root) == {}  # the good path before it was not tagged either


def test_nothing_to_do_is_refused(library, capsys):
    root, db = library
    assert main(["tag", str(root / "a.jpg"), "--db", db]) == 2
    assert "--add" in capsys.readouterr().err


def test_sidecars_are_written_for_every_changed_photo(library, capsys):
    root, db = library
    assert main(["keywords", "--write", "on", "--db", db]) == 0
    assert main(["tag", str(root / "trip"), str(root / "a.jpg"), "--add", "beach", "--db", db]) == 0
    for name in ("a.jpg", "trip/c.jpg", "trip/day2/d.jpg"):
        assert read_sidecar(find_sidecars(root / name)[0]).keywords() == ["beach"], name
    assert not find_sidecars(root / "b.jpg")
