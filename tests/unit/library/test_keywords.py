"""Keywords in and out: XMP packets (safe parsing, faithful merging, hierarchies), IPTC, the three-way merge, sidecar
names (shared stems, links refused), atomic sidecar writes and their leftovers. No model needed: well under a second."""

from __future__ import annotations

import io
import os
import struct
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from tagger.library.keyword_merge import Conflict, next_base, three_way
from tagger.library.keyword_paths import KeywordEntries, clean_keyword, keyword_path, unique_keywords
from tagger.library.keywords import (
    HEAD_BYTES,
    NAMINGS,
    STALE_TEMP_SECONDS,
    embedded_xmp,
    find_sidecars,
    iptc_keywords,
    metadata_bytes,
    read_keywords,
    read_sidecar,
    remove_stale_temps,
    shared_stems,
    sidecar_names,
    sidecar_signature,
    write_keywords,
)
from tagger.library.xmp import DC_SUBJECT, DIGIKAM_TAGS, LR_HIERARCHICAL, TAGGER_ADDED, XmpDocument, XmpError
from tests.shared import PHOTO_FOLDER

DARKTABLE = """<?xml version="1.0" encoding="UTF-8"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:darktable="http://darktable.sf.net/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
   xmp:Rating="3"
   darktable:history_end="1">
   <!-- edited in darktable -->
   <darktable:history>
    <rdf:Seq>
     <rdf:li darktable:operation="exposure" darktable:enabled="1" darktable:params="0000c03f"/>
    </rdf:Seq>
   </darktable:history>
   <dc:subject>
    <rdf:Bag>
     <rdf:li>Paris</rdf:li>
     <rdf:li>fish &amp; chips</rdf:li>
    </rdf:Bag>
   </dc:subject>
   <lr:hierarchicalSubject>
    <rdf:Bag>
     <rdf:li>Places|France|Paris</rdf:li>
     <rdf:li>darktable|format|cr2</rdf:li>
    </rdf:Bag>
   </lr:hierarchicalSubject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""

DIGIKAM = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 4.4.0-Exiv2">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:digiKam="http://www.digikam.org/ns/1.0/"
    xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/" mwg-rs:Regions="face">
   <digiKam:TagsList>
    <rdf:Seq>
     <rdf:li>People/Family/Grandma</rdf:li>
     <rdf:li>_Digikam_Internal_Tags_/Scanned for Faces</rdf:li>
    </rdf:Seq>
   </digiKam:TagsList>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""

LIGHTROOM = """<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/"
    xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:lr="http://ns.adobe.com/lightroom/1.0/"
    crs:Exposure2012="+0.35">
   <dc:subject><rdf:Bag><rdf:li>Animals</rdf:li><rdf:li>dog</rdf:li></rdf:Bag></dc:subject>
   <lr:hierarchicalSubject><rdf:Bag><rdf:li>Animals|dog</rdf:li></rdf:Bag></lr:hierarchicalSubject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>"""


def _canon(xml: bytes | str) -> list:
    """Every node (tag, attributes, text) of a packet in document order: what a merge must keep."""
    doc = XmpDocument.parse(xml.encode() if isinstance(xml, str) else xml)
    return [(str(e.tag), sorted(e.attrib.items()), (e.text or "").strip()) for e in doc.root.iter()]


# ------------------------------------------------------------------ reading


def test_reads_flat_and_hierarchical_keywords_of_each_program():
    # hierarchies keep their tree (Lightroom's '|', digiKam's '/'); the flat leaf and parents are the same keyword
    assert XmpDocument.parse(DARKTABLE.encode()).keywords() == ["Places|France|Paris", "fish & chips"]  # no internal
    assert XmpDocument.parse(DIGIKAM.encode()).keywords() == ["People|Family|Grandma"]
    assert XmpDocument.parse(LIGHTROOM.encode()).keywords() == ["Animals|dog"]


def test_flat_entries_are_read_as_nodes_of_the_paths_beside_them():
    def read(paths, flat):
        return KeywordEntries([keyword_path(p, "|") for p in paths], [keyword_path(f) for f in flat]).resolve()

    # Lightroom exports a keyword's parents to dc:subject, and may list the parent paths too
    assert read(["Places", "Places|Italy", "Places|Italy|Rome"], ["Rome", "Italy", "Places"]) == ["Places|Italy|Rome"]
    # a keyword of its own next to a tree that shares a level name, and one leaf in two trees
    assert read(["Places|Italy|Rome", "Italy"], ["Rome", "Italy"]) == ["Places|Italy|Rome", "Italy"]
    assert read(["People|Anna", "Pets|Anna"], ["Anna"]) == ["People|Anna", "Pets|Anna"]
    # flat keywords keep their order; a path with '|' written into dc:subject (older Tagger) is a path
    assert read([], ["sea", "Places|Kenya|Masai Mara", "Masai Mara", "beach"]) == ["sea", "Places|Kenya|Masai Mara",
                                                                                   "beach"]
    assert keyword_path(" People / Family/ Grandma ", "/") == "People|Family|Grandma"
    assert keyword_path("AC/DC") == "AC/DC" and keyword_path("darktable|format|cr2", "|") is None


def test_utf16_packets_and_odd_list_shapes():
    packet = LIGHTROOM.replace("<rdf:Bag><rdf:li>Animals</rdf:li><rdf:li>dog</rdf:li></rdf:Bag>", "Hund 🐕")
    assert XmpDocument.parse(b"\xff\xfe" + packet.encode("utf-16-le")).keywords() == ["Hund 🐕", "Animals|dog"]
    utf16 = XmpDocument.parse(b"\xff\xfe" + ('<?xml version="1.0" encoding="UTF-16"?>' + packet).encode("utf-16-le"))
    utf16.apply_keywords({"beach": ["beach"]})
    out = utf16.serialize()  # rewritten as UTF-8, and its declaration says so
    assert out.startswith(b'<?xml version="1.0" encoding="UTF-8"?>') and ET.fromstring(out) is not None
    assert XmpDocument.parse(out).keywords() == ["Hund 🐕", "beach", "Animals|dog"]


@pytest.mark.parametrize("packet, reason", [
    ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
     '<x:xmpmeta xmlns:x="adobe:ns:meta/">&lol2;</x:xmpmeta>', "DOCTYPE"),
    ('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x:xmpmeta xmlns:x="adobe:ns:meta/">&e;</x:xmpmeta>',
     "DOCTYPE"),
    ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF>', "malformed"),
    ("<html><body>hello</body></html>", "not an XMP packet"),
    ("", "no XML element"),
    ("just text", "no XML element"),
])
def test_hostile_or_broken_packets_are_refused_with_a_reason(packet, reason):
    with pytest.raises(XmpError, match=reason):
        XmpDocument.parse(packet.encode())


def test_invalid_utf8_is_refused():
    with pytest.raises(XmpError, match="UTF-8"):
        XmpDocument.parse(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>\xff\xfe\xfa</x:xmpmeta>")


def test_keywords_are_cleaned_and_deduplicated():
    assert clean_keyword("  line\nbreak\t tab\x00 ") == "line break tab"
    assert clean_keyword("\u2028") is None
    assert len(clean_keyword("x" * 10_000)) == 200
    assert unique_keywords(["Beach", "beach", " BEACH ", "sea"]) == ["Beach", "sea"]


def test_real_files_embedded_xmp_and_iptc():
    blue = (PHOTO_FOLDER / "exif-samples/jpg/xmp/BlueSquare.jpg")
    if not blue.is_file():
        pytest.skip("shared photo folder not available")
    data = blue.read_bytes()
    assert iptc_keywords(data) == ["XMP", "Blue Square", "test file", "Photoshop", ".jpg"]
    assert XmpDocument.parse(embedded_xmp(data)).keywords() == ["XMP", "Blue Square", "test file", "Photoshop", ".jpg"]
    assert read_keywords((PHOTO_FOLDER / "exif-samples/jpg/xmp/no_exif.jpg").read_bytes()).keywords == ["tag"]


def _iptc_jpeg(keywords: list[bytes], utf8: bool) -> bytes:
    iim = b"".join(b"\x1c\x02\x19" + struct.pack(">H", len(k)) + k for k in keywords)
    if utf8:
        iim = b"\x1c\x01\x5a\x00\x03\x1b%G" + iim
    irb = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(iim)) + iim + (b"\x00" if len(iim) % 2 else b"")
    app13 = b"Photoshop 3.0\x00" + irb
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "JPEG")
    jpeg = out.getvalue()
    return jpeg[:2] + b"\xff\xed" + struct.pack(">H", len(app13) + 2) + app13 + jpeg[2:]


def test_iptc_keywords_in_utf8_and_legacy_encodings():
    assert iptc_keywords(_iptc_jpeg(["Zürich".encode(), "日本".encode()], utf8=True)) == ["Zürich", "日本"]
    assert iptc_keywords(_iptc_jpeg(["Zürich".encode("cp1252")], utf8=False)) == ["Zürich"]
    data = _iptc_jpeg([b"a" * 50], utf8=False)
    assert iptc_keywords(data[:len(data) // 3]) in ([], ["a" * 50])  # cut: never an exception


@pytest.mark.parametrize("fmt", ["PNG", "PNG-compressed", "WEBP", "TIFF", "JPEG"])
def test_embedded_xmp_in_each_format(fmt):
    from PIL.PngImagePlugin import PngInfo

    out = io.BytesIO()
    img = Image.new("RGB", (16, 16), "blue")
    if fmt.startswith("PNG"):
        info = PngInfo()
        info.add_itxt("XML:com.adobe.xmp", LIGHTROOM, zip=fmt.endswith("compressed"))
        img.save(out, "PNG", pnginfo=info)
    elif fmt == "TIFF":
        img.save(out, "TIFF", tiffinfo={700: LIGHTROOM.encode()})
    else:
        img.save(out, fmt, xmp=LIGHTROOM.encode())
    assert read_keywords(out.getvalue()).keywords == ["Animals|dog"]


# ------------------------------------------------------------------ merging


def test_merge_keeps_everything_else_and_round_trips():
    doc = XmpDocument.parse(DARKTABLE.encode())
    assert doc.apply_keywords({"beach": ["beach"], "paris": ["Places|France|Paris"]})  # Paris: there already
    assert doc.set_auto_keywords(["sunset", "paris"])  # 'paris' names a person's keyword: never marked automatic
    out = doc.serialize()
    again = XmpDocument.parse(out)
    assert again.keywords() == ["Places|France|Paris", "fish & chips", "beach"]  # 'sunset' is automatic
    assert again.keywords(include_auto=True) == ["Places|France|Paris", "fish & chips", "beach", "sunset"]
    # every element and attribute of the original is still there, in order, with its value
    before = _canon(DARKTABLE)
    after = _canon(out)
    it = iter(after)
    assert all(node in it for node in before)  # the original is a subsequence of the result
    assert b"<!-- edited in darktable -->" in out and out.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert b'darktable:params="0000c03f"' in out and b'xmp:Rating="3"' in out
    # added to both lists darktable reads (it prefers lr:hierarchicalSubject when present)
    assert b"<rdf:li>beach</rdf:li>" in out.split(b"<lr:hierarchicalSubject>")[1]
    assert not again.apply_keywords({"beach": ["beach"]}) and not again.set_auto_keywords(["sunset", "paris"])


def test_only_the_keywords_asked_for_are_touched_and_only_tagger_s_automatic_ones_taken_back():
    doc = XmpDocument.parse(DARKTABLE.encode())
    doc.apply_keywords({"beach": ["beach"]})
    doc.set_auto_keywords(["dog", "fish & chips"])  # the person's 'fish & chips' is not Tagger's to mark
    doc = XmpDocument.parse(doc.serialize())
    assert doc.entries(TAGGER_ADDED) == ["dog"]
    assert doc.apply_keywords({"beach": []}) and doc.set_auto_keywords([])
    assert doc.keywords(include_auto=True) == ["Places|France|Paris", "fish & chips"]
    assert _canon(doc.serialize()) == _canon(DARKTABLE)
    assert not doc.set_auto_keywords([]) and not doc.apply_keywords({"beach": []})


def test_moving_or_removing_a_hierarchical_keyword_takes_its_parents_with_it():
    doc = XmpDocument.parse(LIGHTROOM.encode())  # Animals|dog: 'Animals' and 'dog' in dc:subject
    assert doc.apply_keywords({"dog": ["Pets|dog"]})
    assert doc.keywords() == ["Pets|dog"]
    assert doc.entries(DC_SUBJECT) == ["dog"] and doc.entries(LR_HIERARCHICAL) == ["Pets|dog"]
    assert doc.apply_keywords({"dog": []}) and doc.keywords() == []
    assert 'crs:Exposure2012="+0.35"' in doc.serialize().decode()


def test_keep_auto_leaves_earlier_automatic_keywords():
    doc = XmpDocument.parse(LIGHTROOM.encode())
    doc.apply_keywords({"beach": ["beach"]})
    doc.set_auto_keywords(["sand"])
    doc.apply_keywords({"towel": ["towel"]})
    doc.set_auto_keywords([], keep_auto=True)  # a caller that does not know automatic tags now
    assert doc.keywords() == ["Animals|dog", "beach", "towel"]
    assert "sand" in doc.keywords(include_auto=True)


def test_legacy_bookkeeping_of_older_taggers_is_tidied():
    """Tagger once listed a person's keywords in tagger:added too, and could list one twice ('Rex', 'Rex')."""
    doc = XmpDocument.parse(LIGHTROOM.encode())
    doc.apply_keywords({"rex": ["Rex"]})
    doc._set_bag(TAGGER_ADDED, ["Rex", "Rex"])
    assert doc.set_auto_keywords([])
    assert doc.entries(TAGGER_ADDED) == [] and doc.keywords() == ["Animals|dog", "Rex"]


def test_digikam_tagslist_and_new_packets_get_the_keywords_too():
    doc = XmpDocument.parse(DIGIKAM.encode())
    doc.apply_keywords({"ac/dc": ["AC/DC"], "beach": ["beach"]})
    out = doc.serialize().decode()
    tags_list = out.split("<digiKam:TagsList>")[1].split("</digiKam:TagsList>")[0]
    assert "beach" in tags_list and "AC/DC" not in tags_list  # a '/' would read as a hierarchy there
    assert "mwg-rs:Regions=\"face\"" in out
    # the dc:subject Tagger had to create holds every keyword, not only the new ones
    assert XmpDocument.parse(out.encode()).entries(DC_SUBJECT) == ["Grandma", "AC/DC", "beach"]
    assert set(XmpDocument.parse(out.encode()).keywords()) == {"People|Family|Grandma", "AC/DC", "beach"}
    new = XmpDocument.new()
    words = ["a <b> & \"c\"", "שלום", "🌅"]
    new.apply_keywords({w.casefold(): [w] for w in words})
    assert XmpDocument.parse(new.serialize()).keywords() == words


@pytest.mark.parametrize("packet", [LIGHTROOM, DIGIKAM, DARKTABLE, None])
def test_hierarchies_survive_write_read_write(packet):
    """A hierarchical keyword goes as Lightroom and digiKam write it (leaf in dc:subject, path in
    lr:hierarchicalSubject and digiKam:TagsList), reads back as the same path, and writing it again changes nothing."""
    doc = XmpDocument.new() if packet is None else XmpDocument.parse(packet.encode())
    assert doc.apply_keywords({"masai mara": ["Places|Kenya|Masai Mara"], "anna": ["People|Anna"]})
    out = doc.serialize()
    again = XmpDocument.parse(out)
    assert {"Places|Kenya|Masai Mara", "People|Anna"} <= set(again.keywords())
    assert {"Masai Mara", "Anna"} <= set(again.entries(DC_SUBJECT))
    assert "Places|Kenya|Masai Mara" not in again.entries(DC_SUBJECT)
    assert {"Places|Kenya|Masai Mara", "People|Anna"} <= set(again.entries(LR_HIERARCHICAL))
    assert {"Places/Kenya/Masai Mara", "People/Anna"} <= set(again.entries(DIGIKAM_TAGS))
    # lists Tagger created hold every keyword of the packet (a program preferring them must not lose the rest)
    original = XmpDocument.new() if packet is None else XmpDocument.parse(packet.encode())
    for kl in (kl for kl in (LR_HIERARCHICAL, DIGIKAM_TAGS) if not original.entries(kl)):
        names = KeywordEntries([p for e in again.entries(kl) if (p := keyword_path(e, kl.separator))]).resolve()
        assert {n.casefold() for n in names} == {k.casefold() for k in again.keywords(include_auto=True)}
    assert not again.apply_keywords({k.rpartition("|")[2].casefold(): [k] for k in again.keywords()})
    assert again.serialize() == out


def test_a_path_an_older_tagger_wrote_into_dc_subject_is_put_right_at_the_next_write(tmp_path):
    photo = _photo(tmp_path)
    side = tmp_path / "IMG_1.jpg.xmp"
    literal = "<rdf:li>Places|Kenya|Masai Mara</rdf:li>"
    side.write_text(LIGHTROOM.replace("<rdf:li>dog</rdf:li></rdf:Bag></dc:subject>",
                                      f"<rdf:li>dog</rdf:li>{literal}</rdf:Bag></dc:subject>"))
    assert read_sidecar(side).keywords() == ["Animals|dog", "Places|Kenya|Masai Mara"]
    assert write_keywords(photo, ["beach"]).status == "written"
    doc = read_sidecar(side)
    assert doc.keywords() == ["Animals|dog", "beach", "Places|Kenya|Masai Mara"]
    assert doc.entries(DC_SUBJECT) == ["Animals", "dog", "beach", "Masai Mara"]
    assert doc.entries(LR_HIERARCHICAL) == ["Animals|dog", "beach", "Places|Kenya|Masai Mara"]


def test_three_way_merge_of_catalog_and_files():
    base = ["Rex", "beach", "Places|Italy|Rome", "sea"]
    files = ["beach", "Places|Italy|Rome", "sea", "sun"]  # elsewhere: Rex removed, sun added
    catalog = ["Rex", "beach", "Trips|Rome"]  # in Tagger: sea removed, Rome moved
    merge = three_way(base, files, catalog)
    assert sorted(merge.keywords) == ["Trips|Rome", "beach", "sun"]
    assert merge.to_catalog == {"rex": [], "sun": ["sun"]} and merge.to_files == {"sea": [], "rome": ["Trips|Rome"]}
    assert merge.conflicts == []
    # both sides changed Rome, differently: a conflict, each side keeping its own
    merge = three_way(base, ["Places|USA|Rome"], ["Trips|Rome"])
    assert merge.conflicts == [Conflict("Rome", ("Trips|Rome",), ("Places|USA|Rome",))]
    assert "Trips|Rome" in merge.keywords and "rome" not in merge.to_files and "rome" not in merge.to_catalog
    assert next_base(base, ["Places|USA|Rome"], merge.keywords) == ["Places|Italy|Rome"]  # Rome not agreed: base
    # reported, then changed on one side only: that side wins
    pending = merge.conflicts
    tagger_decides = three_way(base, ["Places|USA|Rome"], ["Places|Lazio|Rome"], pending)
    assert tagger_decides.to_files == {"rome": ["Places|Lazio|Rome"]} and not tagger_decides.conflicts
    assert next_base(tagger_decides.base, ["Places|USA|Rome"], ["Places|Lazio|Rome"]) == ["Places|USA|Rome"]
    others_decide = three_way(base, ["Places|Lazio|Rome"], ["Trips|Rome"], pending)
    assert others_decide.to_catalog == {"rome": ["Places|Lazio|Rome"]} and not others_decide.conflicts
    assert three_way(base, ["Places|USA|Rome"], ["Trips|Rome"], pending).conflicts == pending  # nobody acted yet


# ------------------------------------------------------------------ sidecar files


def _photo(folder, name="IMG_1.jpg") -> bytes:
    path = os.path.join(folder, name)
    Image.new("RGB", (8, 8)).save(path, "JPEG")
    return os.fsencode(path)


def test_sidecar_names_and_signature(tmp_path):
    assert sidecar_names(b"a.jpg") == [b"a.jpg.xmp", b"a.jpg.XMP", b"a.jpg.Xmp", b"a.xmp", b"a.XMP", b"a.Xmp"]
    assert sidecar_names(b"noext") == [b"noext.xmp", b"noext.XMP", b"noext.Xmp"]
    photo = _photo(tmp_path)
    assert find_sidecars(photo) == []
    (tmp_path / "IMG_1.XMP").write_text(LIGHTROOM)
    assert find_sidecars(photo) == [os.fsencode(tmp_path / "IMG_1.XMP")]
    assert sidecar_signature([]) == "" and sidecar_signature([(b"a", 1, 2)]) != sidecar_signature([(b"a", 1, 3)])


@pytest.mark.parametrize("naming, expected", [("full", "IMG_1.jpg.xmp"), ("stem", "IMG_1.xmp")])
def test_write_creates_one_sidecar_and_round_trips(tmp_path, naming, expected):
    photo = _photo(tmp_path)
    image_bytes = Path(os.fsdecode(photo)).read_bytes()
    assert write_keywords(photo, []).status == "unchanged" and os.listdir(tmp_path) == ["IMG_1.jpg"]
    result = write_keywords(photo, ["beach", "Grandma's house", "🌅"], naming=naming)
    assert result.status == "written" and sorted(os.listdir(tmp_path)) == sorted(["IMG_1.jpg", expected])
    assert read_keywords(image_bytes, find_sidecars(photo)).keywords == ["beach", "Grandma's house", "🌅"]
    assert Path(os.fsdecode(photo)).read_bytes() == image_bytes  # the image file is never touched
    assert oct(os.stat(tmp_path / expected).st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


def test_existing_lightroom_sidecar_is_merged_not_duplicated(tmp_path):
    photo = _photo(tmp_path, "DSC_2.jpg")
    side = tmp_path / "DSC_2.xmp"
    side.write_text(LIGHTROOM)
    os.chmod(side, 0o640)
    assert write_keywords(photo, ["beach"]).status == "written"
    assert sorted(os.listdir(tmp_path)) == ["DSC_2.jpg", "DSC_2.xmp"]  # no second sidecar, no temp file left
    assert read_sidecar(side).keywords() == ["Animals|dog", "beach"]
    assert 'crs:Exposure2012="+0.35"' in side.read_text() and oct(side.stat().st_mode & 0o777) == oct(0o640)


def test_an_unreadable_sidecar_is_reported_and_left_alone(tmp_path):
    photo = _photo(tmp_path)
    side = tmp_path / "IMG_1.jpg.xmp"
    side.write_bytes(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><broken>")
    result = write_keywords(photo, ["beach"])
    assert result.status == "failed" and "malformed" in result.reason
    assert side.read_bytes() == b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><broken>"
    found = read_keywords(b"", [os.fsencode(side)])
    assert found.keywords == [] and "malformed" in found.problems[0]


def test_a_symlinked_sidecar_is_never_written_through(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    photo = _photo(tmp_path)
    real = outside / "elsewhere.xmp"
    real.write_text(LIGHTROOM)
    (tmp_path / "IMG_1.jpg.xmp").symlink_to(real)
    result = write_keywords(photo, ["beach"])
    assert result.status == "failed" and "symbolic link" in result.reason
    assert real.read_text() == LIGHTROOM and (tmp_path / "IMG_1.jpg.xmp").is_symlink()
    # a dangling link: following it would create a file wherever it points
    other = _photo(tmp_path, "IMG_2.jpg")
    (tmp_path / "IMG_2.xmp").symlink_to(outside / "made-by-tagger.xmp")
    for naming in NAMINGS:
        assert write_keywords(other, ["beach"], naming=naming).status == "failed"
    assert sorted(os.listdir(outside)) == ["elsewhere.xmp"]
    assert sorted(os.listdir(tmp_path)) == ["IMG_1.jpg", "IMG_1.jpg.xmp", "IMG_2.jpg", "IMG_2.xmp", "outside"]


def test_photos_sharing_a_stem_never_share_a_sidecar(tmp_path):
    assert shared_stems([b"a.jpg", b"a.CR2", b"b.jpg", b"b.xmp", b"c.jpg", b"c.jpg_original", b"d.JPG", b"D.png"]) \
        == {b"a", b"d"}
    assert sidecar_names(b"a.jpg", {b"a"}) == [b"a.jpg.xmp", b"a.jpg.XMP", b"a.jpg.Xmp"]
    jpg = _photo(tmp_path, "IMG_1.jpg")
    (tmp_path / "IMG_1.CR2").write_bytes(b"raw")
    (tmp_path / "IMG_1.xmp").write_text(LIGHTROOM)  # the raw's (Lightroom)
    assert find_sidecars(jpg) == []
    assert write_keywords(jpg, ["jpeg only"], naming="stem").status == "written"
    assert (tmp_path / "IMG_1.xmp").read_text() == LIGHTROOM
    assert read_sidecar(tmp_path / "IMG_1.jpg.xmp").keywords() == ["jpeg only"]
    alone = _photo(tmp_path, "IMG_2.jpg")  # no other IMG_2.*: Lightroom's name is this photo's own
    assert write_keywords(alone, ["mine"], naming="stem").status == "written"
    assert find_sidecars(alone) == [os.fsencode(tmp_path / "IMG_2.xmp")]


def test_only_abandoned_temporary_sidecars_are_removed(tmp_path):
    import subprocess

    proc = subprocess.Popen(["true"])
    proc.wait()
    legacy = tmp_path / ".tagger-k3j4h5.xmp-tmp"  # named as Tagger did before (no process id)
    dead = tmp_path / f".tagger-{proc.pid}-abc.xmp-tmp"
    mine = tmp_path / f".tagger-{os.getpid()}-abc.xmp-tmp"  # in flight in this process
    old_mine = tmp_path / f".tagger-{os.getpid()}-old.xmp-tmp"
    for p in (legacy, dead, mine, old_mine):
        p.write_bytes(b"half")
    os.utime(old_mine, (time.time() - 2 * STALE_TEMP_SECONDS,) * 2)
    (tmp_path / ".tagger-dir.xmp-tmp").mkdir()  # not a regular file: never removed
    (tmp_path / ".tagger-link.xmp-tmp").symlink_to(tmp_path / "target")
    (tmp_path / "photo.xmp-tmp").write_bytes(b"not ours")
    assert remove_stale_temps(tmp_path) == 3
    assert sorted(os.listdir(tmp_path)) == sorted([mine.name, ".tagger-dir.xmp-tmp", ".tagger-link.xmp-tmp",
                                                   "photo.xmp-tmp"])


def test_a_kill_before_the_rename_leaves_the_sidecar_whole(tmp_path, monkeypatch):
    photo = _photo(tmp_path)
    side = tmp_path / "IMG_1.jpg.xmp"
    side.write_text(LIGHTROOM)

    def killed(*a):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        write_keywords(photo, ["beach"])
    assert side.read_text() == LIGHTROOM and sorted(os.listdir(tmp_path)) == ["IMG_1.jpg", "IMG_1.jpg.xmp"]


def test_non_utf8_names(tmp_path):
    photo = _photo(tmp_path, os.fsdecode(b"caf\xe9 \n.jpg"))
    assert write_keywords(photo, ["beach"]).status == "written"
    assert os.path.exists(photo + b".xmp")
    assert read_keywords(b"", find_sidecars(photo)).keywords == ["beach"]


def test_a_fifo_named_like_a_sidecar_never_blocks(tmp_path):
    photo = _photo(tmp_path)
    os.mkfifo(tmp_path / "IMG_1.jpg.xmp")
    assert find_sidecars(photo) == []  # not a regular file
    with pytest.raises(XmpError, match="not a regular file"):
        read_sidecar(tmp_path / "IMG_1.jpg.xmp")
    found = read_keywords(b"", [os.fsencode(tmp_path / "IMG_1.jpg.xmp")])
    assert found.keywords == [] and found.problems


def test_keywords_of_a_big_jpeg_are_read_from_its_head(tmp_path):
    import numpy as np

    big = tmp_path / "big.jpg"
    noise = np.random.default_rng(0).integers(0, 255, (1200, 1600, 3), dtype=np.uint8)
    Image.fromarray(noise).save(big, "JPEG", quality=95, xmp=LIGHTROOM.encode())
    data = big.read_bytes()
    assert len(data) > 2 * HEAD_BYTES
    head = metadata_bytes(big)
    assert len(head) == HEAD_BYTES
    assert read_keywords(head).keywords == read_keywords(data).keywords == ["Animals|dog"]
    png = tmp_path / "big.png"
    Image.fromarray(noise).save(png, "PNG")
    assert metadata_bytes(png) == png.read_bytes()  # other formats: the whole file
