"""Keywords in and out: XMP packets (safe parsing, faithful merging), IPTC, sidecar names, atomic sidecar writes.
No model needed: these run in well under a second."""

from __future__ import annotations

import io
import os
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image

from tagger.library.keywords import (
    HEAD_BYTES,
    embedded_xmp,
    find_sidecars,
    iptc_keywords,
    metadata_bytes,
    read_keywords,
    read_sidecar,
    sidecar_names,
    sidecar_signature,
    write_keywords,
)
from tagger.library.xmp import XmpDocument, XmpError, clean_keyword, unique_keywords
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
    assert XmpDocument.parse(DARKTABLE.encode()).keywords() == ["Paris", "fish & chips"]  # internal tags skipped
    assert XmpDocument.parse(DIGIKAM.encode()).keywords() == ["Grandma"]
    assert XmpDocument.parse(LIGHTROOM.encode()).keywords() == ["Animals", "dog"]


def test_utf16_packets_and_odd_list_shapes():
    packet = LIGHTROOM.replace("<rdf:Bag><rdf:li>Animals</rdf:li><rdf:li>dog</rdf:li></rdf:Bag>", "Hund 🐕")
    assert XmpDocument.parse(b"\xff\xfe" + packet.encode("utf-16-le")).keywords() == ["Hund 🐕", "dog"]
    utf16 = XmpDocument.parse(b"\xff\xfe" + ('<?xml version="1.0" encoding="UTF-16"?>' + packet).encode("utf-16-le"))
    utf16.set_tagger_keywords(["beach"])
    out = utf16.serialize()  # rewritten as UTF-8, and its declaration says so
    assert out.startswith(b'<?xml version="1.0" encoding="UTF-8"?>') and ET.fromstring(out) is not None
    assert XmpDocument.parse(out).keywords() == ["Hund 🐕", "beach", "dog"]


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
    assert read_keywords(out.getvalue()).keywords == ["Animals", "dog"]


# ------------------------------------------------------------------ merging


def test_merge_keeps_everything_else_and_round_trips():
    doc = XmpDocument.parse(DARKTABLE.encode())
    assert doc.set_tagger_keywords(["beach", "paris", "sunset"], auto=["sunset"])
    out = doc.serialize()
    again = XmpDocument.parse(out)
    assert again.keywords() == ["Paris", "fish & chips", "beach"]  # 'paris' was there; 'sunset' is automatic
    assert again.keywords(include_auto=True) == ["Paris", "fish & chips", "beach", "sunset"]
    # every element and attribute of the original is still there, in order, with its value
    before = _canon(DARKTABLE)
    after = _canon(out)
    it = iter(after)
    assert all(node in it for node in before)  # the original is a subsequence of the result
    assert b"<!-- edited in darktable -->" in out and out.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert b'darktable:params="0000c03f"' in out and b'xmp:Rating="3"' in out
    # added to both lists darktable reads (it prefers lr:hierarchicalSubject when present)
    assert b"<rdf:li>beach</rdf:li>" in out.split(b"<lr:hierarchicalSubject>")[1]
    assert not again.set_tagger_keywords(["beach", "paris", "sunset"], auto=["sunset"])  # idempotent


def test_only_tagger_keywords_are_ever_taken_back():
    doc = XmpDocument.parse(DARKTABLE.encode())
    doc.set_tagger_keywords(["beach", "dog"], auto=["dog"])
    doc = XmpDocument.parse(doc.serialize())
    assert doc.set_tagger_keywords(["Paris"])  # 'beach' and 'dog' no longer wanted; Paris was never ours
    assert doc.keywords(include_auto=True) == ["Paris", "fish & chips"]
    assert _canon(doc.serialize()) == _canon(DARKTABLE)
    assert not doc.set_tagger_keywords([])  # nothing of ours is left: the user's Paris stays


def test_keep_auto_leaves_earlier_automatic_keywords():
    doc = XmpDocument.parse(LIGHTROOM.encode())
    doc.set_tagger_keywords(["beach", "sand"], auto=["sand"])
    doc.set_tagger_keywords(["beach", "towel"], keep_auto=True)  # a caller that does not know auto tags now
    assert doc.keywords() == ["Animals", "dog", "beach", "towel"]
    assert "sand" in doc.keywords(include_auto=True)


def test_digikam_tagslist_and_new_packets_get_the_keywords_too():
    doc = XmpDocument.parse(DIGIKAM.encode())
    doc.set_tagger_keywords(["AC/DC", "beach"])
    out = doc.serialize().decode()
    tags_list = out.split("<digiKam:TagsList>")[1].split("</digiKam:TagsList>")[0]
    assert "beach" in tags_list and "AC/DC" not in tags_list  # a '/' would read as a hierarchy there
    assert "mwg-rs:Regions=\"face\"" in out
    assert set(XmpDocument.parse(out.encode()).keywords()) == {"Grandma", "AC/DC", "beach"}
    new = XmpDocument.new()
    new.set_tagger_keywords(["a <b> & \"c\"", "שלום", "🌅"])
    assert XmpDocument.parse(new.serialize()).keywords() == ["a <b> & \"c\"", "שלום", "🌅"]


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
    assert read_sidecar(side).keywords() == ["Animals", "dog", "beach"]
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


def test_a_symlinked_sidecar_is_written_through(tmp_path):
    photo = _photo(tmp_path)
    real = tmp_path / "elsewhere.xmp"
    real.write_text(LIGHTROOM)
    (tmp_path / "IMG_1.jpg.xmp").symlink_to(real)
    assert write_keywords(photo, ["beach"]).status == "written"
    assert (tmp_path / "IMG_1.jpg.xmp").is_symlink() and "beach" in real.read_text()


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
    assert read_keywords(head).keywords == read_keywords(data).keywords == ["Animals", "dog"]
    png = tmp_path / "big.png"
    Image.fromarray(noise).save(png, "PNG")
    assert metadata_bytes(png) == png.read_bytes()  # other formats: the whole file
