"""Keywords through the library: the indexer imports them as 'xmp' user tags (never clobbering the user's own),
notices edited sidecars without decoding, the CLI turns writing on and exports, and a catalog rebuilt from the
sidecars gets every keyword back (the round trip)."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3

import pytest

from tagger.cli import main
from tagger.library import indexer as indexer_mod
from tagger.library.catalog import Catalog
from tagger.library.indexer import Indexer
from tagger.library.keyword_sync import (
    export_keywords,
    keyword_labelled_photos,
    label_candidates,
    load_settings,
    save_settings,
)
from tagger.library.keywords import find_sidecars, read_sidecar
from tests.shared import PHOTO_FOLDER
from tests.shared import digests as _digests

SIDECAR = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:lr="http://ns.adobe.com/lightroom/1.0/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:Rating="4">
<dc:subject><rdf:Bag>{items}</rdf:Bag></dc:subject>
{hierarchy}</rdf:Description></rdf:RDF></x:xmpmeta>"""


def _sidecar(path, *words, name=None) -> None:
    """A Lightroom-style sidecar; 'Outback' is also written as the hierarchy Trips|Australia|Outback."""
    target = name or str(path) + ".xmp"
    hierarchy = ("<lr:hierarchicalSubject><rdf:Bag><rdf:li>Trips|Australia|Outback</rdf:li></rdf:Bag>"
                 "</lr:hierarchicalSubject>") if "Outback" in words else ""
    with open(target, "w", encoding="utf-8") as fh:
        fh.write(SIDECAR.format(items="".join(f"<rdf:li>{w}</rdf:li>" for w in words), hierarchy=hierarchy))


def _tags(cat, path) -> dict[str, str]:
    pid = cat.find_photo(path)
    return dict(cat.user_tags_with_source([pid]).get(pid, []))


@pytest.fixture
def library(tmp_path, caltech_library):
    root = tmp_path / "photos"
    shutil.copytree(caltech_library / "kangaroo", root / "kangaroo")
    shutil.copytree(caltech_library / "pizza", root / "pizza")
    if (PHOTO_FOLDER / "exif-samples/jpg/xmp/BlueSquare.jpg").is_file():
        shutil.copy(PHOTO_FOLDER / "exif-samples/jpg/xmp/BlueSquare.jpg", root / "BlueSquare.jpg")
    return root


def test_keywords_become_user_tags_and_follow_the_files(library, tmp_path, engine, monkeypatch):
    roos = sorted((library / "kangaroo").glob("*.jpg"))
    _sidecar(roos[0], "skippy", "Outback")  # digiKam/darktable name: photo.jpg.xmp
    _sidecar(roos[1], "joey", name=str(roos[1].with_suffix(".xmp")))  # Lightroom name: photo.xmp
    before = _digests(library)
    cat = Catalog.open(tmp_path / "c.db")
    Indexer(cat, engine).index([library])
    assert _tags(cat, roos[0]) == {"skippy": "xmp", "Trips|Australia|Outback": "xmp"}  # the tree kept, one keyword
    assert _tags(cat, roos[1]) == {"joey": "xmp"}
    if (library / "BlueSquare.jpg").exists():  # embedded XMP + IPTC
        assert set(_tags(cat, library / "BlueSquare.jpg")) == {"XMP", "Blue Square", "test file", "Photoshop", ".jpg"}
    assert cat.counts()["indexed"] == len([p for p in library.rglob("*.jpg")])  # sidecars are not photos
    assert _digests(library) == before  # reading keywords writes nothing

    # the user tags a photo by hand; then the sidecar changes (keyword removed, one added): no decoding needed
    cat.add_user_tag(cat.find_photo(roos[0]), "skippy")  # same word: stays the file's
    cat.add_user_tag(cat.find_photo(roos[0]), "favourite")
    _sidecar(roos[0], "Outback", "red dust")
    monkeypatch.setattr(indexer_mod, "decode_photo", _explode)
    stats = Indexer(cat, engine).index([library])
    assert stats.keywords == 1 and stats.indexed == 0
    assert _tags(cat, roos[0]) == {"Trips|Australia|Outback": "xmp", "red dust": "xmp", "favourite": "user"}
    os.remove(str(roos[0]) + ".xmp")  # sidecar deleted: its keywords leave, the user's tag stays
    assert Indexer(cat, engine).index([library]).keywords == 1
    assert _tags(cat, roos[0]) == {"favourite": "user"}
    assert Indexer(cat, engine).index([library]).keywords == 0  # nothing changed: nothing read

    # a moved photo keeps its tags and picks up the keywords of its new place
    moved = library / "pizza" / "roo.jpg"
    roos[1].rename(moved)
    _sidecar(moved, "moved roo")
    assert Indexer(cat, engine).index([library]).moved == 1
    assert _tags(cat, moved) == {"moved roo": "xmp"}


def _explode(*a, **k):
    raise AssertionError("an unchanged photo was decoded")


def test_a_migrated_catalog_reads_keywords_of_known_photos_once(library, tmp_path, engine, monkeypatch):
    db = tmp_path / "c.db"
    roo = sorted((library / "kangaroo").glob("*.jpg"))[0]
    with Catalog.open(db) as cat:
        Indexer(cat, engine).index([library])
    _sidecar(roo, "from before the upgrade")
    with sqlite3.connect(db) as conn:  # as a schema-2 catalog leaves it: no sidecar fingerprints yet
        conn.execute("UPDATE photos SET sidecar_sig = NULL")
    monkeypatch.setattr(indexer_mod, "decode_photo", _explode)
    with Catalog.open(db) as cat:
        stats = Indexer(cat, engine).index([library])
        assert stats.keywords == cat.counts()["indexed"] and stats.indexed == 0
        assert _tags(cat, roo) == {"from before the upgrade": "xmp"}
        assert Indexer(cat, engine).index([library]).keywords == 0


def test_a_catalog_from_before_keyword_trees_reads_them_once_and_keeps_the_user_s_tags(library, tmp_path, engine,
                                                                                       monkeypatch):
    """Schema 3 flattened Trips|Australia|Outback to Outback and had no record of what it agreed with the files."""
    db = tmp_path / "c.db"
    roo = sorted((library / "kangaroo").glob("*.jpg"))[0]
    _sidecar(roo, "skippy", "Outback")
    with Catalog.open(db) as cat:
        Indexer(cat, engine).index([library])
        cat.add_user_tag(cat.find_photo(roo), "favourite")
    with sqlite3.connect(db) as conn:  # as schema 3 left it
        for table in ("photo_text_terms", "photo_text_fts", "photo_text", "faces", "detections"):  # schema 5's
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DROP TABLE keyword_base")
        conn.execute("DROP TABLE keyword_conflicts")
        conn.execute("UPDATE user_tags SET tag = 'Outback' WHERE tag = 'Trips|Australia|Outback'")
        conn.execute("PRAGMA user_version = 3")
    monkeypatch.setattr(indexer_mod, "decode_photo", _explode)
    with Catalog.open(db) as cat:
        stats = Indexer(cat, engine).index([library])
        assert stats.indexed == 0 and stats.keywords >= 1  # re-read, not decoded
        assert _tags(cat, roo) == {"skippy": "xmp", "Trips|Australia|Outback": "xmp", "favourite": "user"}
        assert Indexer(cat, engine).index([library]).keywords == 0


def test_broken_sidecars_never_cost_the_photo(library, tmp_path, engine):
    roo = sorted((library / "kangaroo").glob("*.jpg"))[0]
    with open(str(roo) + ".xmp", "wb") as fh:
        fh.write(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&a;</x:xmpmeta>')
    with open(str(roo.with_suffix(".xmp")), "wb") as fh:
        fh.write(bytes(range(256)) * 12)
    other = sorted((library / "kangaroo").glob("*.jpg"))[1]
    os.mkfifo(str(other) + ".xmp")  # opening a FIFO would block forever: it is never opened
    cat = Catalog.open(tmp_path / "c.db")
    Indexer(cat, engine).index([library])
    assert cat.photo(cat.find_photo(roo))["status"] == "indexed" and _tags(cat, roo) == {}
    assert cat.photo(cat.find_photo(other))["status"] == "indexed" and _tags(cat, other) == {}
    cat.add_user_tag(cat.find_photo(other), "roo")
    report = export_keywords(cat, [cat.find_photo(other)])
    assert report.failed and "not a regular file" in report.failed[0][1]


def test_writing_is_opt_in_and_round_trips_through_a_new_catalog(library, tmp_path, engine, capsys):
    db = tmp_path / "c.db"
    before = _digests(library)
    assert main(["index", str(library), "--db", str(db)]) == 0
    roos = sorted((library / "kangaroo").glob("*.jpg"))
    assert main(["tag", str(roos[0]), "--add", "skippy", "--add", "Grandma's 🦘", "--db", str(db)]) == 0
    assert _digests(library) == before  # writing is off: nothing written, not even a sidecar
    status = _json(capsys, "status", "--json", "--db", str(db))
    assert status["keyword_writing"]["enabled"] is False

    out = _json(capsys, "keywords", "--write", "on", "--auto-threshold", "0.3", "--export", "--json", "--db", str(db))
    assert out["keyword_writing"] == {"enabled": True, "auto_threshold": 0.3, "naming": "full",
                                      "sidecar_name": "photo.jpg.xmp"}
    assert out["export"]["written"] >= 1 and not out["export"]["failed"]
    assert _json(capsys, "status", "--json", "--db", str(db))["keyword_writing"]["enabled"] is True
    capsys.readouterr()
    assert main(["status", "--db", str(db)]) == 0
    assert "keyword writing: ON" in capsys.readouterr().out
    written = {k: v for k, v in _digests(library).items() if k not in before}
    assert written and all(k.endswith(".jpg.xmp") for k in written)  # only sidecars were added
    assert {k: v for k, v in _digests(library).items() if k in before} == before  # no image file touched
    side = read_sidecar(find_sidecars(roos[0])[0])
    assert {"skippy", "Grandma's 🦘"} <= set(side.keywords())

    # round trip: a brand-new catalog indexing the same folder gets the user's keywords back, automatic ones not
    with Catalog.open(tmp_path / "new.db") as fresh:
        Indexer(fresh, engine).index([library])
        assert set(_tags(fresh, roos[0])) == {"skippy", "Grandma's 🦘"}
        assert all(src == "xmp" for src in _tags(fresh, roos[0]).values())

    # a tag removed in Tagger leaves the sidecar; turning writing off leaves the files alone
    assert main(["tag", str(roos[0]), "--remove", "skippy", "--db", str(db)]) == 0
    assert "skippy" not in read_sidecar(find_sidecars(roos[0])[0]).keywords(include_auto=True)
    assert main(["keywords", "--write", "off", "--db", str(db)]) == 0
    snapshot = _digests(library)
    assert main(["tag", str(roos[1]), "--add", "quiet", "--db", str(db)]) == 0
    assert _digests(library) == snapshot


def test_indexing_with_writing_on_writes_new_photos_automatic_keywords(library, tmp_path, engine):
    cat = Catalog.open(tmp_path / "c.db")
    save_settings(cat, enabled=True, auto_threshold=0.5)
    from tagger.library.keyword_sync import sidecar_writer

    ix = Indexer(cat, engine)
    ix.on_indexed = sidecar_writer(cat, [engine.model_id])
    ix.index([library / "pizza"])
    sidecars = sorted((library / "pizza").glob("*.xmp"))
    ids = cat.photos_under(library / "pizza")
    strong = {cat.photo_paths([pid])[pid].name + ".xmp" for pid, tags in cat.auto_tags(ids, engine.model_id).items()
              if max(w for _, w in tags) >= 0.5}
    assert strong and {s.name for s in sidecars} == strong  # a sidecar exactly where a tag reaches the threshold
    assert all(read_sidecar(s).keywords() == [] for s in sidecars)  # automatic: never re-imported as a person's
    assert any("pizza" in read_sidecar(s).keywords(include_auto=True) for s in sidecars)
    assert load_settings(cat).auto_threshold == 0.5
    with pytest.raises(ValueError):
        save_settings(cat, auto_threshold=7)


def test_keywords_on_many_photos_are_offered_as_training_labels(library, tmp_path, engine, capsys):
    roos = sorted((library / "kangaroo").glob("*.jpg"))
    for p in roos:
        _sidecar(p, "kangaroo", "wildlife")
    for p in sorted((library / "pizza").glob("*.jpg"))[:5]:
        _sidecar(p, "dinner", "wildlife")
    db = tmp_path / "c.db"
    with Catalog.open(db) as cat:
        Indexer(cat, engine).index([library])
        assert label_candidates(cat) == [("wildlife", 11), ("kangaroo", 6), ("dinner", 5)]
        pairs = keyword_labelled_photos(cat, ["kangaroo", "wildlife"])
        assert {label for _, label in pairs} == {"kangaroo", "wildlife"}
        assert sum(1 for _, label in pairs if label == "kangaroo") == 6  # the more specific keyword wins
    out = _json(capsys, "keywords", "--json", "--db", str(db))
    assert out["label_candidates"][0] == {"keyword": "wildlife", "photos": 11}


def test_export_reports_unwritable_sidecars_and_missing_files(library, tmp_path, engine):
    cat = Catalog.open(tmp_path / "c.db")
    Indexer(cat, engine).index([library / "kangaroo"])
    roos = sorted((library / "kangaroo").glob("*.jpg"))
    for p in roos[:2]:
        cat.add_user_tag(cat.find_photo(p), "roo")
    (library / "kangaroo" / (roos[0].name + ".xmp")).write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'><oops>")
    roos[1].unlink()
    report = export_keywords(cat)
    assert report.missing == 1 and len(report.failed) == 1 and "malformed" in report.failed[0][1]
    assert report.written == 0


def _json(capsys, *argv):
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)
