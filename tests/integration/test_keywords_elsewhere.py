"""Keywords edited in other programs (digiKam, Lightroom, exiftool) while Tagger keeps its own copy in the catalog.

No exiftool needed: each test writes what exiftool (or digiKam, or Lightroom) leaves on disk, an XMP packet with a
keyword removed or changed, a JPEG with keywords embedded in its XMP and IPTC blocks. The rules under test:
a change made elsewhere since Tagger last synced wins, a change made in Tagger wins, a change made on both sides to
the same keyword is reported and never resolved silently; hierarchies keep their tree both ways; photos sharing a
base name never share keywords; sidecars are never written through symbolic links; temporary files of a killed export
are cleaned at the next run."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import struct
import subprocess
import time

import pytest
from PIL import Image

from tagger.cli import main
from tagger.library.catalog import Catalog
from tagger.library.indexer import Indexer
from tagger.library.keyword_sync import export_keywords, save_settings, sidecar_writer
from tagger.library.keywords import find_sidecars, read_sidecar
from tagger.library.xmp import DC_SUBJECT, DIGIKAM, KEYWORD_LISTS, LR, TAGGER_ADDED

LIGHTROOM = """<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    crs:Exposure2012="+0.35">
   <dc:subject><rdf:Bag>{flat}</rdf:Bag></dc:subject>
   <lr:hierarchicalSubject><rdf:Bag>{paths}</rdf:Bag></lr:hierarchicalSubject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>"""

DIGIKAM_SIDECAR = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:digiKam="http://www.digikam.org/ns/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/">
   <digiKam:TagsList><rdf:Seq><rdf:li>People/Anna</rdf:li></rdf:Seq></digiKam:TagsList>
   <dc:subject><rdf:Bag><rdf:li>Anna</rdf:li></rdf:Bag></dc:subject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""


def _lightroom(path, *keywords: str) -> None:
    """A Lightroom sidecar: each keyword's path in lr:hierarchicalSubject, its leaf and parents in dc:subject."""
    flat: list[str] = []
    for k in keywords:
        for part in reversed(k.split("|")):
            if part not in flat:
                flat.append(part)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(LIGHTROOM.format(flat="".join(f"<rdf:li>{w}</rdf:li>" for w in flat),
                                  paths="".join(f"<rdf:li>{k}</rdf:li>" for k in keywords)))


def _exiftool_remove(sidecar, word: str) -> None:
    """What `exiftool -XMP-dc:Subject-=WORD -XMP-lr:HierarchicalSubject-=WORD` does: the keyword leaves the keyword
    lists; everything exiftool does not know (Tagger's own bookkeeping included) stays."""
    text = open(sidecar, encoding="utf-8").read()
    lists = r"(<(dc:subject|lr:hierarchicalSubject|digiKam:TagsList)>.*?</\2>)"
    text = re.sub(lists, lambda m: re.sub(rf"\s*<rdf:li>{re.escape(word)}</rdf:li>", "", m.group(1)), text,
                  flags=re.S)
    with open(sidecar, "w", encoding="utf-8") as fh:
        fh.write(text)
    _later(sidecar)


def _later(path) -> None:
    """Make sure the new mtime differs from the one Tagger saw, even on a coarse-clock file system."""
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


def _tags(cat, path) -> set[str]:
    pid = cat.find_photo(path)
    return set(cat.user_tags([pid]).get(pid, []))


def _index(cat, engine, folder):
    ix = Indexer(cat, engine)
    ix.on_indexed = sidecar_writer(cat)
    return ix.index([folder])


@pytest.fixture
def library(tmp_path, caltech_library):
    root = tmp_path / "photos"
    shutil.copytree(caltech_library / "kangaroo", root)
    return root


def _photos(library):
    return sorted(library.glob("*.jpg"))


# ------------------------------------------------------------------ item 6: changes made elsewhere


def test_a_keyword_deleted_elsewhere_stays_deleted(library, tmp_path, engine):
    photo = _photos(library)[0]
    cat = Catalog.open(tmp_path / "c.db")
    save_settings(cat, enabled=True)
    _index(cat, engine, library)
    pid = cat.find_photo(photo)
    cat.add_user_tag(pid, "Rex")
    cat.add_user_tag(pid, "beach")
    assert export_keywords(cat, [pid]).written == 1
    side = find_sidecars(photo)[0]
    assert set(read_sidecar(side).keywords()) == {"Rex", "beach"}

    _exiftool_remove(side, "Rex")  # the user removes Rex in digiKam / with exiftool
    assert read_sidecar(side).keywords() == ["beach"]
    for _ in range(2):  # and it stays removed, run after run
        _index(cat, engine, library)
        assert _tags(cat, photo) == {"beach"}
        doc = read_sidecar(side)
        assert doc.keywords(include_auto=True) == ["beach"]
        added = [w.casefold() for w in doc.entries(TAGGER_ADDED)]
        assert len(added) == len(set(added)) and "rex" not in added  # Tagger's own record: no Rex, no twice


def test_an_imported_keyword_removed_in_tagger_stays_removed_and_the_user_is_told(library, tmp_path, engine, capsys):
    photo = _photos(library)[0]
    side = str(photo) + ".xmp"
    _lightroom(side, "Rex", "beach")
    db = str(tmp_path / "c.db")
    assert main(["index", str(library), "--db", db]) == 0
    with Catalog.open(db) as cat:
        assert _tags(cat, photo) == {"Rex", "beach"}

    capsys.readouterr()
    assert main(["tag", str(photo), "--remove", "Rex", "--db", db]) == 0
    err = capsys.readouterr().err
    assert "Rex" in err and "still" in err  # writing is off: the file keeps it, and the user hears so

    _lightroom(side, "Rex", "beach", "sea")  # another program adds a keyword (the sidecar changes)
    _later(side)
    assert main(["index", str(library), "--db", db]) == 0
    with Catalog.open(db) as cat:
        assert _tags(cat, photo) == {"beach", "sea"}  # sea came in; Rex did not come back

    assert main(["keywords", "--write", "on", "--export", "--db", db]) == 0
    assert set(read_sidecar(side).keywords()) == {"beach", "sea"}  # with writing on, the removal reaches the file
    assert main(["index", str(library), "--db", db]) == 0
    with Catalog.open(db) as cat:
        assert _tags(cat, photo) == {"beach", "sea"}


def test_a_keyword_changed_on_both_sides_is_a_reported_conflict(library, tmp_path, engine, capsys):
    photo = _photos(library)[0]
    side = str(photo) + ".xmp"
    _lightroom(side, "Places|Italy|Rome")
    db = str(tmp_path / "c.db")
    assert main(["index", str(library), "--db", db]) == 0
    assert main(["keywords", "--write", "on", "--db", db]) == 0
    with Catalog.open(db) as cat:
        assert _tags(cat, photo) == {"Places|Italy|Rome"}
        pid = cat.find_photo(photo)
        cat.remove_user_tag(pid, "Places|Italy|Rome")  # in Tagger: Rome moves under Trips
        cat.add_user_tag(pid, "Trips|Rome")
    _lightroom(side, "Places|USA|Rome")  # meanwhile, in Lightroom: Rome moves under USA
    _later(side)
    before = open(side, "rb").read()

    capsys.readouterr()
    assert main(["index", str(library), "--db", db, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["keyword_conflicts"] == 1
    with Catalog.open(db) as cat:
        assert _tags(cat, photo) == {"Trips|Rome"}  # neither side silently overwritten
    assert open(side, "rb").read() == before
    assert main(["status", "--db", db, "--json"]) == 0
    conflicts = json.loads(capsys.readouterr().out)["keyword_conflicts"]
    assert [(c["path"], c["keyword"], c["in_catalog"], c["in_files"]) for c in conflicts] == [
        (str(photo), "Rome", ["Trips|Rome"], ["Places|USA|Rome"])]
    assert main(["status", "--db", db]) == 0
    assert "conflict" in capsys.readouterr().out

    assert main(["index", str(library), "--db", db]) == 0  # nothing changed: still a conflict, still untouched
    with Catalog.open(db) as cat:
        assert _tags(cat, photo) == {"Trips|Rome"} and len(cat.keyword_conflicts()) == 1
    assert open(side, "rb").read() == before

    # the person decides by changing it again on one side, here in Tagger: that version goes to the file
    assert main(["tag", str(photo), "--remove", "Trips|Rome", "--add", "Trips|Italy|Rome", "--db", db]) == 0
    assert read_sidecar(side).keywords() == ["Trips|Italy|Rome"]
    assert "crs:Exposure2012" in open(side, encoding="utf-8").read()  # Lightroom's settings kept
    assert main(["index", str(library), "--db", db]) == 0
    with Catalog.open(db) as cat:
        assert _tags(cat, photo) == {"Trips|Italy|Rome"}
    capsys.readouterr()
    assert main(["status", "--db", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["keyword_conflicts"] == []

    # or in the other program: its version comes in (the conflict is reported first, then settled from there)
    with Catalog.open(db) as cat:
        cat.add_user_tag(cat.find_photo(photo), "Rome")  # Tagger: a second, flat Rome...
    _lightroom(side, "Trips|Lazio|Rome")  # ...while Lightroom moves it again
    _later(side)
    assert main(["index", str(library), "--db", db]) == 0
    _lightroom(side, "Trips|Italy|Lazio|Rome")  # the person settles it in Lightroom
    _later(side)
    assert main(["index", str(library), "--db", db]) == 0
    with Catalog.open(db) as cat:
        assert _tags(cat, photo) == {"Trips|Italy|Lazio|Rome"} and cat.keyword_conflicts() == []


# ------------------------------------------------------------------ item 7: hierarchies and embedded keywords


def _lists(side) -> dict[str, list[str]]:
    doc = read_sidecar(side)
    return {kl.name: doc.entries(kl) for kl in KEYWORD_LISTS if kl.ns in (DC_SUBJECT.ns, LR, DIGIKAM)}


def test_hierarchies_survive_write_read_write_both_conventions(library, tmp_path, engine):
    kenya, anna = _photos(library)[:2]
    (library / (anna.name + ".xmp")).write_text(DIGIKAM_SIDECAR, encoding="utf-8")
    cat = Catalog.open(tmp_path / "c.db")
    _index(cat, engine, library)
    assert _tags(cat, anna) == {"People|Anna"}  # digiKam's tree, not the flat leaf
    save_settings(cat, enabled=True)
    cat.add_user_tag(cat.find_photo(kenya), "Places|Kenya|Masai Mara")
    cat.add_user_tag(cat.find_photo(anna), "Places|Italy|Rome")
    report = export_keywords(cat)
    assert report.written == 2 and not report.failed

    assert _lists(find_sidecars(kenya)[0]) == {"subject": ["Masai Mara"],  # the leaf in dc:subject
                                               "hierarchicalSubject": ["Places|Kenya|Masai Mara"],
                                               "TagsList": ["Places/Kenya/Masai Mara"]}
    lists = _lists(find_sidecars(anna)[0])
    assert lists["TagsList"] == ["People/Anna", "Places/Italy/Rome"]
    assert sorted(lists["hierarchicalSubject"]) == ["People|Anna", "Places|Italy|Rome"]  # made whole, not partial
    assert sorted(lists["subject"]) == ["Anna", "Rome"]

    # read back by a brand-new catalog, and written again: the same trees, the same bytes
    snapshot = {p: p.read_bytes() for p in library.glob("*.xmp")}
    with Catalog.open(tmp_path / "fresh.db") as fresh:
        save_settings(fresh, enabled=True)
        _index(fresh, engine, library)
        assert _tags(fresh, kenya) == {"Places|Kenya|Masai Mara"}
        assert _tags(fresh, anna) == {"People|Anna", "Places|Italy|Rome"}
        again = export_keywords(fresh)
        assert again.written == 0 and not again.failed
    assert {p: p.read_bytes() for p in library.glob("*.xmp")} == snapshot


def _jpeg_with_embedded_keywords(path, xmp_words: list[str], iptc_words: list[str]) -> None:
    """A JPEG whose own XMP block (APP1) and IPTC block (APP13) carry keywords, as a camera app or exiftool leaves."""
    packet = LIGHTROOM.format(flat="".join(f"<rdf:li>{w}</rdf:li>" for w in xmp_words), paths="").encode()
    out = io.BytesIO()
    Image.open(path).save(out, "JPEG", xmp=packet)
    iim = b"\x1c\x01\x5a\x00\x03\x1b%G" + b"".join(
        b"\x1c\x02\x19" + struct.pack(">H", len(w.encode())) + w.encode() for w in iptc_words)
    irb = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iim)) + iim + (b"\x00" if len(iim) % 2 else b"")
    app13 = b"Photoshop 3.0\x00" + irb
    jpeg = out.getvalue()
    with open(path, "wb") as fh:
        fh.write(jpeg[:2] + b"\xff\xed" + struct.pack(">H", len(app13) + 2) + app13 + jpeg[2:])


def test_every_embedded_keyword_reaches_the_sidecar_tagger_writes(library, tmp_path, engine):
    photo = _photos(library)[0]
    _jpeg_with_embedded_keywords(photo, ["Kenya", "safari", "Masai Mara"], ["kangaroo", "zoo"])
    image = photo.read_bytes()
    cat = Catalog.open(tmp_path / "c.db")
    _index(cat, engine, library)
    five = {"Kenya", "safari", "Masai Mara", "kangaroo", "zoo"}
    assert _tags(cat, photo) == five
    save_settings(cat, enabled=True)
    cat.add_user_tag(cat.find_photo(photo), "joey")
    assert export_keywords(cat).written == 1
    assert set(read_sidecar(find_sidecars(photo)[0]).keywords()) == five | {"joey"}
    assert photo.read_bytes() == image


# ------------------------------------------------------------------ item 8: which sidecar, and how it is written


def _image(path, fmt="JPEG", colour="red") -> None:
    Image.new("RGB", (64, 48), colour).save(path, fmt)


def test_photos_sharing_a_base_name_never_mix_keywords(tmp_path, engine):
    root = tmp_path / "photos"
    root.mkdir()
    _image(root / "IMG_1.jpg")
    (root / "IMG_1.CR2").write_bytes(b"II*\x00\x10\x00\x00\x00CR\x02\x00" + b"\x00" * 4096)  # the raw of the pair
    _lightroom(root / "IMG_1.xmp", "raw only")  # Lightroom's sidecar of the raw
    _image(root / "IMG_2.jpg", "JPEG", "blue")
    _image(root / "IMG_2.png", "PNG", "green")
    raw_sidecar = (root / "IMG_1.xmp").read_bytes()
    cat = Catalog.open(tmp_path / "c.db")
    save_settings(cat, enabled=True, naming="stem")  # Lightroom names, where they are not ambiguous
    _index(cat, engine, root)
    assert _tags(cat, root / "IMG_1.jpg") == set()  # the raw's keywords are not the JPEG's

    for name, word in (("IMG_1.jpg", "jpeg only"), ("IMG_2.jpg", "from jpg"), ("IMG_2.png", "from png")):
        cat.add_user_tag(cat.find_photo(root / name), word)
    report = export_keywords(cat)
    assert report.written == 3 and not report.failed
    assert (root / "IMG_1.xmp").read_bytes() == raw_sidecar
    assert not (root / "IMG_2.xmp").exists()
    assert read_sidecar(root / "IMG_1.jpg.xmp").keywords() == ["jpeg only"]
    assert read_sidecar(root / "IMG_2.jpg.xmp").keywords() == ["from jpg"]
    assert read_sidecar(root / "IMG_2.png.xmp").keywords() == ["from png"]

    with Catalog.open(tmp_path / "fresh.db") as fresh:  # and read back, each keeps its own
        Indexer(fresh, engine).index([root])
        assert _tags(fresh, root / "IMG_1.jpg") == {"jpeg only"}
        assert _tags(fresh, root / "IMG_2.jpg") == {"from jpg"}
        assert _tags(fresh, root / "IMG_2.png") == {"from png"}


def test_sidecars_are_never_written_through_symbolic_links(library, tmp_path, engine):
    dangling, outside_link, plain = _photos(library)[:3]
    outside = tmp_path / "outside"
    outside.mkdir()
    target = outside / "created-by-tagger.xmp"
    os.symlink(target, str(dangling) + ".xmp")  # points nowhere yet
    foreign = outside / "someone-elses.xmp"
    _lightroom(foreign, "theirs")
    os.symlink(foreign, str(outside_link) + ".xmp")
    foreign_bytes = foreign.read_bytes()
    cat = Catalog.open(tmp_path / "c.db")
    _index(cat, engine, library)
    for p in (dangling, outside_link, plain):
        cat.add_user_tag(cat.find_photo(p), "mine")
    report = export_keywords(cat)
    assert not target.exists() and foreign.read_bytes() == foreign_bytes  # nothing outside the library written
    assert os.path.islink(str(dangling) + ".xmp") and os.path.islink(str(outside_link) + ".xmp")
    failed = {p: why for p, why in report.failed}
    assert set(failed) == {str(dangling), str(outside_link)}
    assert all("link" in why for why in failed.values())
    assert report.written == 1 and read_sidecar(str(plain) + ".xmp").keywords() == ["mine"]


def test_temporary_files_of_a_killed_export_are_cleaned_at_the_next_run(library, tmp_path, engine):
    dead = _dead_pid()
    leftovers = [library / ".tagger-k3j4h5.xmp-tmp", library / f".tagger-{dead}-a1b2c3.xmp-tmp"]
    for p in leftovers:
        p.write_bytes(b"<x:xmpmeta half written")
    live = library / f".tagger-{os.getpid()}-inflight.xmp-tmp"  # another export, in this very process, mid-write
    live.write_bytes(b"")
    foreign = library / ".tagger-notes.txt"  # not ours: never touched
    foreign.write_text("keep me")
    cat = Catalog.open(tmp_path / "c.db")
    Indexer(cat, engine).index([library])
    assert not any(p.exists() for p in leftovers)
    assert live.exists() and foreign.exists()

    for p in leftovers:  # a kill during an explicit export, then the export again
        p.write_bytes(b"<x:xmpmeta half written")
    photo = _photos(library)[0]
    cat.add_user_tag(cat.find_photo(photo), "beach")
    assert export_keywords(cat).written == 1
    assert not any(p.exists() for p in leftovers) and foreign.exists()


def _dead_pid() -> int:
    """The id of a process that has ended (so a temporary file named after it is surely abandoned)."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    time.sleep(0.01)
    return proc.pid
