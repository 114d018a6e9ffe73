"""Keywords people already gave their photos, read from the files, and Tagger's keywords written to sidecars.

Read (the indexer calls :func:`read_keywords` on every new or changed file, from the bytes it already read):
- the XMP packet embedded in the image (JPEG APP1; for other formats the packet is found in the bytes, where TIFF,
  PNG, WebP, GIF, HEIF and AVIF all store it as plain text; a compressed PNG ``iTXt`` goes through Pillow),
- IPTC-IIM Keywords (2:25) in a JPEG's Photoshop APP13 block (UTF-8 when 1:90 says so, else UTF-8 or Windows-1252),
- XMP sidecars beside the file, named the digiKam/darktable way (``photo.jpg.xmp``) or the Lightroom way
  (``photo.xmp``), any case of ``.xmp``.
The parsers are our own, bounded and defensive: metadata is as hostile as pixels, and a keyword problem never costs
the photo (it still gets indexed, only its keywords are skipped).

Write (:func:`write_keywords`, only when the user turned writing on): merge into every sidecar the photo already
has, or create ``photo.jpg.xmp`` (``naming="full"``, read by digiKam and darktable) or ``photo.xmp``
(``naming="stem"``, Lightroom's name; Lightroom itself reads sidecars of raw files only). Image files are never
opened for writing; a sidecar is replaced atomically (temporary file in the same folder, fsync, rename), and one
that changed while we worked is re-read and merged again.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import struct
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tagger.library.xmp import MAX_PACKET_BYTES, XmpDocument, XmpError, unique_keywords

SIDECAR_EXTENSIONS = (b".xmp", b".XMP", b".Xmp")
NAMINGS = ("full", "stem")  # photo.jpg.xmp (digiKam, darktable) | photo.xmp (Lightroom)
_XMP_APP1 = b"http://ns.adobe.com/xap/1.0/\x00"
_PHOTOSHOP_APP13 = b"Photoshop 3.0\x00"


@dataclass
class FoundKeywords:
    """Keywords found for one photo, and what could not be read (for diagnostics; never fatal)."""

    keywords: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------- sidecar names


def is_sidecar_name(name: bytes) -> bool:
    return name[-4:].lower() == b".xmp"


def sidecar_names(name: bytes) -> list[bytes]:
    """File names that would be sidecars of the image ``name`` (bytes: names need not be UTF-8)."""
    out = [name + ext for ext in SIDECAR_EXTENSIONS]
    stem, dot, _ = name.rpartition(b".")
    if dot and stem:
        out += [stem + ext for ext in SIDECAR_EXTENSIONS]
    return out


def find_sidecars(photo: bytes | str | os.PathLike) -> list[bytes]:
    """Existing sidecar files of a photo (absolute byte paths), each real file once (case-insensitive disks)."""
    path = os.fsencode(photo)
    folder, _, name = path.rpartition(b"/")
    out, seen = [], set()
    for candidate in sidecar_names(name):
        full = folder + b"/" + candidate if folder else candidate
        try:
            st = os.stat(full)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) in seen:
            continue
        seen.add((st.st_dev, st.st_ino))
        out.append(full)
    return out


def sidecar_signature(sidecars: Iterable[tuple[bytes, int, int]]) -> str:
    """A short fingerprint of (name, size, mtime_ns) of a photo's sidecars: '' when it has none, so the indexer can
    tell, without reading anything, that a sidecar appeared, changed or went away."""
    items = sorted(sidecars)
    if not items:
        return ""
    h = hashlib.sha256()
    for name, size, mtime in items:
        h.update(name + b"\x00" + str(size).encode() + b"\x00" + str(mtime).encode() + b"\x00")
    return h.hexdigest()[:16]


# ---------------------------------------------------------------------------- reading


def read_keywords(data: bytes, sidecars: Sequence[bytes] = ()) -> FoundKeywords:
    """All keywords of one photo: embedded XMP and IPTC in ``data`` (the file's bytes) and its sidecar files."""
    found = FoundKeywords()
    words: list[str] = []
    try:
        packet = embedded_xmp(data)
        if packet is not None:
            words += XmpDocument.parse(packet).keywords()
    except XmpError as exc:
        found.problems.append(f"embedded XMP: {exc}")
    try:
        words += iptc_keywords(data)
    except (ValueError, IndexError, struct.error) as exc:
        found.problems.append(f"IPTC: {exc}")
    for path in sidecars:
        try:
            words += read_sidecar(path).keywords()
        except (XmpError, OSError) as exc:
            found.problems.append(f"{os.fsdecode(path)}: {exc}")
    found.keywords = unique_keywords(words)
    return found


HEAD_BYTES = 256 * 1024  # a JPEG's metadata segments (XMP <= 64 KB each, IPTC, EXIF) come before its image data


def metadata_bytes(path: bytes | str | os.PathLike) -> bytes:
    """Enough of an image file to read its keywords: a JPEG's header segments when they fit in the first 256 KB
    (re-reading keywords of a big library then reads a fraction of it), else the whole file."""
    with open(path, "rb") as fh:
        head = fh.read(HEAD_BYTES)
        if len(head) < HEAD_BYTES or (head[:3] == b"\xff\xd8\xff" and _reaches_image_data(head)):
            return head
        return head + fh.read()


def _reaches_image_data(head: bytes) -> bool:
    return any(marker == 0xDA for marker, _ in _jpeg_segments(head))


def read_sidecar(path: bytes | str | os.PathLike) -> XmpDocument:
    """Parse a sidecar file; a FIFO, device or folder named like one is refused without blocking on it."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise XmpError("not a regular file")
        data = fh.read(MAX_PACKET_BYTES + 1)
    return XmpDocument.parse(data)


def embedded_xmp(data: bytes) -> bytes | None:
    """The image's own XMP packet, or None."""
    if data[:3] == b"\xff\xd8\xff":
        for marker, payload in _jpeg_segments(data):
            if marker == 0xE1 and payload.startswith(_XMP_APP1):
                return payload[len(_XMP_APP1):]
        return None
    for opening in (b"<x:xmpmeta", b"<x:xapmeta"):
        start = data.find(opening)
        if start >= 0:
            closing = b"</" + opening[1:] + b">"
            end = data.find(closing, start, start + MAX_PACKET_BYTES)
            if end < 0:
                return None
            return data[start:end + len(closing)]
    if data[:8] == b"\x89PNG\r\n\x1a\n" and b"XML:com.adobe.xmp" in data:
        return _png_xmp_through_pillow(data)  # a compressed iTXt chunk
    return None


def _png_xmp_through_pillow(data: bytes) -> bytes | None:
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data), formats=["PNG"]) as img:
            xmp = img.info.get("xmp") or img.info.get("XML:com.adobe.xmp")
    except Exception:
        return None
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    return xmp if isinstance(xmp, bytes) else None


def iptc_keywords(data: bytes) -> list[str]:
    """IPTC-IIM 2:25 Keywords of a JPEG (Photoshop APP13 resource 0x0404)."""
    if data[:3] != b"\xff\xd8\xff":
        return []
    irb = b"".join(p[len(_PHOTOSHOP_APP13):] for m, p in _jpeg_segments(data)
                   if m == 0xED and p.startswith(_PHOTOSHOP_APP13))
    if not irb:
        return []
    iim = _photoshop_resource(irb, 0x0404)
    if not iim:
        return []
    raw, utf8 = [], False
    for record, dataset, value in _iim_datasets(iim):
        if (record, dataset) == (1, 90):
            utf8 = value in (b"\x1b%G", b"\x1b%/G", b"\x1b%/I")
        elif (record, dataset) == (2, 25):
            raw.append(value)
    return unique_keywords(_decode_iptc(v, utf8) for v in raw)


def _decode_iptc(value: bytes, utf8: bool) -> str:
    if utf8:
        return value.decode("utf-8", errors="replace")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("cp1252", errors="replace")


def _jpeg_segments(data: bytes):
    """(marker, payload) of each JPEG header segment, then (0xDA, b"") at the image data; stops quietly at anything
    odd (a truncated or corrupt header simply ends the walk)."""
    pos, n = 2, len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0xDA, 0xD9):  # start of scan, end of image: no metadata beyond
            yield marker, b""
            return
        length = struct.unpack_from(">H", data, pos + 2)[0]
        if length < 2 or pos + 2 + length > n:
            return
        yield marker, data[pos + 4:pos + 2 + length]
        pos += 2 + length


def _photoshop_resource(irb: bytes, wanted: int) -> bytes | None:
    pos, n = 0, len(irb)
    while pos + 12 <= n and irb[pos:pos + 4] == b"8BIM":
        rid = struct.unpack_from(">H", irb, pos + 4)[0]
        name_len = irb[pos + 6]
        pos += 7 + name_len
        if (name_len + 1) % 2:  # the Pascal name (length byte included) is padded to an even size
            pos += 1
        if pos + 4 > n:
            return None
        size = struct.unpack_from(">I", irb, pos)[0]
        pos += 4
        if pos + size > n:
            return None
        if rid == wanted:
            return irb[pos:pos + size]
        pos += size + (size % 2)
    return None


def _iim_datasets(iim: bytes):
    pos, n = 0, len(iim)
    while pos + 5 <= n and iim[pos] == 0x1C:
        record, dataset = iim[pos + 1], iim[pos + 2]
        length = struct.unpack_from(">H", iim, pos + 3)[0]
        pos += 5
        if length & 0x8000:  # extended dataset: the next (length & 0x7fff) bytes hold the length
            k = length & 0x7FFF
            if k > 4 or pos + k > n:
                return
            length = int.from_bytes(iim[pos:pos + k], "big")
            pos += k
        if pos + length > n:
            return
        yield record, dataset, iim[pos:pos + length]
        pos += length


# ---------------------------------------------------------------------------- writing


@dataclass
class SidecarWrite:
    """What writing one photo's keywords did: 'written', 'unchanged' or 'failed' (with a reason)."""

    status: str
    paths: list[str] = field(default_factory=list)
    reason: str | None = None


def write_keywords(photo: bytes | str | os.PathLike, wanted: Sequence[str], auto: Iterable[str] = (),
                   naming: str = "full", *, keep_auto: bool = False) -> SidecarWrite:
    """Make the photo's sidecar(s) carry ``wanted``, merged into what they hold; never touches the image file.

    Every existing sidecar (both namings) is updated; without one, a new sidecar is made only if there is something
    to write. A sidecar that cannot be parsed is left alone and reported, never replaced."""
    if naming not in NAMINGS:
        raise ValueError(f"naming must be one of {NAMINGS}, got {naming!r}")
    path = os.fsencode(photo)
    targets = find_sidecars(path)
    if not targets:
        if not unique_keywords(wanted):
            return SidecarWrite("unchanged")
        folder, _, name = path.rpartition(b"/")
        if naming == "stem" and b"." in name[1:]:
            name = name.rpartition(b".")[0]
        targets = [(folder + b"/" if folder else b"") + name + b".xmp"]
    result = SidecarWrite("unchanged")
    auto = list(auto)
    for target in targets:
        try:
            changed = _merge_into(target, wanted, auto, keep_auto)
        except (XmpError, OSError) as exc:
            return SidecarWrite("failed", result.paths, f"{os.fsdecode(target)}: {exc}")
        if changed:
            result.status = "written"
            result.paths.append(os.fsdecode(target))
    return result


def _merge_into(target: bytes, wanted: Sequence[str], auto: Sequence[str], keep_auto: bool, attempts: int = 3) -> bool:
    real = os.path.realpath(target)
    for _ in range(attempts):
        try:
            before = os.stat(real)
        except FileNotFoundError:
            before = None
        if before is None:
            doc = XmpDocument.new()
        else:
            if before.st_size > MAX_PACKET_BYTES:
                raise XmpError(f"sidecar too large ({before.st_size} bytes)")
            doc = read_sidecar(real)
        if not doc.set_tagger_keywords(wanted, auto, keep_auto=keep_auto):
            return False
        if _replace_if_unchanged(real, doc.serialize(), before):
            return True
    raise XmpError("the sidecar kept changing while Tagger wrote it (another program is writing it); try again")


def _replace_if_unchanged(path: bytes, data: bytes, before: os.stat_result | None) -> bool:
    """Atomically put ``data`` at ``path``, unless the file changed since ``before`` was taken (then False)."""
    folder = path.rpartition(b"/")[0]
    # hidden (scanners skip it) and short (a 250-byte photo name plus a suffix would pass NAME_MAX)
    fd, tmp = tempfile.mkstemp(dir=folder or b".", prefix=b".tagger-", suffix=b".xmp-tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if before is not None:
            os.chmod(tmp, before.st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        try:
            now = os.stat(path)
        except FileNotFoundError:
            now = None
        if (now is None) != (before is None) or (
                now is not None and (now.st_size, now.st_mtime_ns) != (before.st_size, before.st_mtime_ns)):
            os.unlink(tmp)
            return False
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(folder or b".")
    return True


def _fsync_dir(folder: bytes) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
