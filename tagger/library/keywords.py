"""Keywords people already gave their photos, read from the files, and the photo's keywords written to sidecars.

Read (the indexer calls :func:`read_keywords` on every new or changed file, from the bytes it already read):
- the XMP packet embedded in the image (JPEG APP1; for other formats the packet is found in the bytes, where TIFF,
  PNG, WebP, GIF, HEIF and AVIF all store it as plain text; a compressed PNG ``iTXt`` goes through Pillow),
- IPTC-IIM Keywords (2:25) in a JPEG's Photoshop APP13 block (UTF-8 when 1:90 says so, else UTF-8 or Windows-1252),
- XMP sidecars beside the file, named the digiKam/darktable way (``photo.jpg.xmp``) or the Lightroom way
  (``photo.xmp``), any case of ``.xmp``.
Hierarchical keywords keep their tree (``Places|Italy|Rome``, see keyword_paths). The parsers are our own, bounded
and defensive: metadata is as hostile as pixels, and a keyword problem never costs the photo (it still gets indexed,
only its keywords are skipped).

Which sidecar is whose: ``photo.jpg.xmp`` belongs to ``photo.jpg`` alone. ``photo.xmp`` belongs to ``photo.jpg`` only
while no other photo, raw or video file in the folder is called ``photo.*``: beside ``photo.CR2`` it is the raw's
(Lightroom writes it for raw files), beside ``photo.png`` it is nobody's to decide. Such a shared ``photo.xmp`` is
neither read nor written for any of them, so a RAW+JPEG pair (or ``photo.jpg`` + ``photo.png``) never mixes keywords.

Write (:func:`write_keywords`, only when the user turned writing on): a three-way merge (keyword_merge) between the
catalog, the keywords the photo's files hold now (embedded and sidecars) and what both last agreed on decides what
changes; every sidecar the photo has is updated, or ``photo.jpg.xmp`` (``naming="full"``, read by digiKam and
darktable) or ``photo.xmp`` (``naming="stem"``, Lightroom's name, used only where it is not shared as above) is made.
A sidecar Tagger writes holds every keyword of the photo, the ones embedded in the image included (programs that find
a sidecar read it instead of the image). Image files are never opened for writing; a sidecar is replaced atomically
(temporary ``.tagger-<pid>-*.xmp-tmp`` file in the same folder, fsync, rename; :func:`remove_stale_temps` clears the
ones a killed process left), one that changed while we worked is re-read and merged again, and a sidecar name that is
a symbolic link (or anything but a regular file) is refused, never written through: it could point anywhere.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import struct
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from tagger.library.keyword_merge import Conflict, Merge, group, three_way
from tagger.library.keyword_paths import KeywordEntries, identity, keyword_path, unique_keywords

if TYPE_CHECKING:
    from tagger.library.xmp import XmpDocument

SIDECAR_EXTENSIONS = (b".xmp", b".XMP", b".Xmp")
NAMINGS = ("full", "stem")  # photo.jpg.xmp (digiKam, darktable) | photo.xmp (Lightroom)
_XMP_APP1 = b"http://ns.adobe.com/xap/1.0/\x00"
_PHOTOSHOP_APP13 = b"Photoshop 3.0\x00"
# files whose stem a Lightroom-style photo.xmp may belong to: photos, raw files, videos (iPhone live photos)
_RAW_SUFFIXES = (".3fr .ari .arw .bay .cr2 .cr3 .crw .dcr .dng .erf .fff .iiq .k25 .kdc .mef .mos .mrw .nef .nrw .orf "
                 ".pef .raf .raw .rw2 .rwl .sr2 .srf .srw .x3f .psd .psb")
_VIDEO_SUFFIXES = ".mov .mp4 .m4v .avi .mts .m2ts .3gp .mkv"
TEMP_PREFIX = b".tagger-"


@cache
def media_suffixes() -> frozenset[bytes]:
    """Suffixes (b".jpg") of photo, raw and video files. A function so that reading settings (``NAMINGS``) does not
    import the image decoder: ``tagger status`` imports this module and must start fast (issue 16)."""
    from tagger.engine.imageio import IMAGE_SUFFIXES

    return frozenset(s.encode() for s in IMAGE_SUFFIXES) | frozenset(
        s.encode() for s in (_RAW_SUFFIXES + " " + _VIDEO_SUFFIXES).split())


def __getattr__(name: str):
    if name == "MEDIA_SUFFIXES":  # the old constant's name still works
        return media_suffixes()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
TEMP_SUFFIX = b".xmp-tmp"
STALE_TEMP_SECONDS = 3600  # no live write holds its temporary file this long
_TEMP_WITH_PID = re.compile(rb"\.tagger-(\d+)-.*\.xmp-tmp", re.S)


@dataclass
class FoundKeywords:
    """Keywords found for one photo, and what could not be read (for diagnostics; never fatal)."""

    keywords: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    embedded: KeywordEntries = field(default_factory=KeywordEntries)  # the image's own (XMP, IPTC), unresolved


# ---------------------------------------------------------------------------- sidecar names


def is_sidecar_name(name: bytes) -> bool:
    return name[-4:].lower() == b".xmp"


def shared_stems(names: Iterable[bytes]) -> frozenset[bytes]:
    """Stems (lower case) that two or more photo, raw or video files among ``names`` (one folder) share: a
    ``stem.xmp`` there belongs to none of them in particular (see the module's docstring)."""
    counts: dict[bytes, int] = {}
    for name in names:
        stem, dot, ext = name.rpartition(b".")
        if dot and stem and b"." + ext.lower() in media_suffixes():
            counts[stem.lower()] = counts.get(stem.lower(), 0) + 1
    return frozenset(s for s, n in counts.items() if n > 1)


def sidecar_names(name: bytes, shared: Iterable[bytes] = frozenset()) -> list[bytes]:
    """File names that would be sidecars of the image ``name`` (bytes: names need not be UTF-8); the Lightroom form
    ``stem.xmp`` only when ``stem`` is not among the folder's ``shared`` stems (:func:`shared_stems`)."""
    out = [name + ext for ext in SIDECAR_EXTENSIONS]
    stem, dot, _ = name.rpartition(b".")
    if dot and stem and stem.lower() not in shared:
        out += [stem + ext for ext in SIDECAR_EXTENSIONS]
    return out


class SidecarFolders:
    """What sidecar decisions need to know about folders, listed once per folder for one run (an export, a batch):
    the stems photos share there, and its leftover temporary files, cleaned once."""

    def __init__(self) -> None:
        self._names: dict[bytes, list[bytes]] = {}
        self._cleaned: set[bytes] = set()

    def names(self, folder: bytes) -> list[bytes]:
        if folder not in self._names:
            try:
                self._names[folder] = os.listdir(folder or b".")
            except OSError:
                self._names[folder] = []
        return self._names[folder]

    def shared(self, folder: bytes) -> frozenset[bytes]:
        return shared_stems(self.names(folder))

    def clean(self, folder: bytes) -> int:
        """Remove the folder's abandoned temporary sidecars (once per run)."""
        if folder in self._cleaned:
            return 0
        self._cleaned.add(folder)
        return remove_stale_temps(folder, self.names(folder))


def _split(path: bytes) -> tuple[bytes, bytes]:
    folder, _, name = path.rpartition(b"/")
    return folder, name


def _join(folder: bytes, name: bytes) -> bytes:
    return folder + b"/" + name if folder else name


def _stem_is_shared(folder: bytes, name: bytes, folders: SidecarFolders | None) -> bool:
    stem = name.rpartition(b".")[0]
    return stem.lower() in (folders or SidecarFolders()).shared(folder)


def _candidates(path: bytes, folders: SidecarFolders | None) -> list[bytes]:
    """The photo's own sidecar names (full paths); the folder is listed only when a ``stem.xmp`` is there."""
    folder, name = _split(path)
    full = sidecar_names(name, ())
    own = full[:len(SIDECAR_EXTENSIONS)]
    stem_forms = full[len(SIDECAR_EXTENSIONS):]
    if any(os.path.lexists(_join(folder, n)) for n in stem_forms) and not _stem_is_shared(folder, name, folders):
        own += stem_forms
    return [_join(folder, n) for n in own]


def own_sidecars(photo: bytes | str | os.PathLike,
                 folders: SidecarFolders | None = None) -> tuple[list[bytes], list[tuple[bytes, str]]]:
    """The photo's sidecar files (absolute byte paths, each real file once on case-insensitive disks), and the
    sidecar names that are not regular files, each with the reason Tagger will not write there."""
    out, refused, seen = [], [], set()
    for full in _candidates(os.fsencode(photo), folders):
        try:
            st = os.lstat(full)
        except OSError:
            continue
        if stat.S_ISLNK(st.st_mode):
            refused.append((full, "is a symbolic link: Tagger never writes through links (the file it points to "
                                  "may be outside your library); replace the link with the file itself, or remove it"))
        elif not stat.S_ISREG(st.st_mode):
            refused.append((full, "not a regular file"))
        elif (st.st_dev, st.st_ino) not in seen:
            seen.add((st.st_dev, st.st_ino))
            out.append(full)
    return out, refused


def find_sidecars(photo: bytes | str | os.PathLike, folders: SidecarFolders | None = None) -> list[bytes]:
    """Existing sidecar files of a photo (absolute byte paths), each real file once (case-insensitive disks)."""
    return own_sidecars(photo, folders)[0]


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
    from tagger.library.xmp import XmpError  # the XML parser costs start-up time (issue 16)

    found = FoundKeywords()
    found.embedded = embedded_entries(data, found.problems)
    entries = found.embedded
    for path in sidecars:
        try:
            entries = entries + read_sidecar(path).keyword_entries()
        except (XmpError, OSError) as exc:
            found.problems.append(f"{os.fsdecode(path)}: {exc}")
    found.keywords = entries.resolve()
    return found


def embedded_entries(data: bytes, problems: list[str] | None = None) -> KeywordEntries:
    """The keyword entries of the image itself: its XMP packet and its IPTC keywords (problems noted, never raised)."""
    from tagger.library.xmp import XmpDocument, XmpError  # the XML parser costs start-up time (issue 16)

    entries = KeywordEntries()
    try:
        packet = embedded_xmp(data)
        if packet is not None:
            entries = XmpDocument.parse(packet).keyword_entries()
    except XmpError as exc:
        if problems is not None:
            problems.append(f"embedded XMP: {exc}")
    try:
        entries.flat += [p for p in (keyword_path(w) for w in iptc_keywords(data)) if p is not None]
    except (ValueError, IndexError, struct.error) as exc:
        if problems is not None:
            problems.append(f"IPTC: {exc}")
    return entries


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


def read_sidecar(path: bytes | str | os.PathLike, *, follow: bool = True) -> XmpDocument:
    """Parse a sidecar file; a FIFO, device or folder named like one is refused without blocking on it, and so is a
    symbolic link unless ``follow`` (reading through one is harmless; a writer re-reads without following)."""
    from tagger.library.xmp import MAX_PACKET_BYTES, XmpDocument, XmpError  # its XML parser: not at start-up

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | (0 if follow else os.O_NOFOLLOW))
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise XmpError("not a regular file")
        data = fh.read(MAX_PACKET_BYTES + 1)
    return XmpDocument.parse(data)


def embedded_xmp(data: bytes) -> bytes | None:
    """The image's own XMP packet, or None."""
    from tagger.library.xmp import MAX_PACKET_BYTES  # the XML parser costs start-up time (issue 16)

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
    """What writing one photo's keywords did: 'written', 'unchanged' or 'failed' (with a reason), the merge that
    decided it, and the keywords the photo's files name afterwards (for the catalog's record of the agreement)."""

    status: str
    paths: list[str] = field(default_factory=list)
    reason: str | None = None
    merge: Merge | None = None
    files_after: list[str] = field(default_factory=list)


class _Changed(Exception):
    """A sidecar changed between reading and replacing it: merge again."""


class _Refused(Exception):
    """This photo's sidecar cannot be written safely (a link, not a file, unparseable): the reason, for people."""


def write_keywords(photo: bytes | str | os.PathLike, keywords: Sequence[str], auto: Iterable[str] = (),
                   naming: str = "full", *, base: Sequence[str] = (), pending: Sequence[Conflict] = (),
                   keep_auto: bool = False,
                   embedded: KeywordEntries | None = None, folders: SidecarFolders | None = None,
                   attempts: int = 3) -> SidecarWrite:
    """Carry the catalog's ``keywords`` (paths) of a photo to its sidecar(s); never touches the image file.

    ``base`` is what the catalog and the files last agreed on: a keyword the files changed since is theirs to keep,
    one only the catalog changed is written, one both changed is a conflict left alone (see keyword_merge; ``pending``
    are the photo's conflicts reported before); with no base, keywords are only ever added. ``auto`` are automatic
    keywords (``keep_auto``: keep the ones written before). ``embedded`` is the image's own keyword entries (read from
    the image when None). A new sidecar is made only if there is something to write; one that cannot be parsed, or a
    sidecar name that is a link, is reported, never replaced."""
    if naming not in NAMINGS:
        raise ValueError(f"naming must be one of {NAMINGS}, got {naming!r}")
    path = os.fsencode(photo)
    folders = folders or SidecarFolders()
    if embedded is None:
        try:
            embedded = embedded_entries(metadata_bytes(path))
        except OSError as exc:
            return SidecarWrite("failed", reason=f"{os.fsdecode(path)}: {exc.strerror or exc}")
    auto = list(auto)
    for _ in range(attempts):
        try:
            return _write_once(path, keywords, auto, naming, base, pending, keep_auto, embedded, folders)
        except _Changed:
            continue
        except _Refused as exc:
            return SidecarWrite("failed", reason=str(exc))
    return SidecarWrite("failed", reason="the sidecar kept changing while Tagger wrote it (another program is writing "
                                         "it); try again")


def _write_once(path: bytes, keywords: Sequence[str], auto: list[str], naming: str, base: Sequence[str],
                pending: Sequence[Conflict], keep_auto: bool, embedded: KeywordEntries,
                folders: SidecarFolders) -> SidecarWrite:
    own, refused = own_sidecars(path, folders)
    if refused:
        target, why = refused[0]
        raise _Refused(f"{os.fsdecode(target)}: {why}")
    from tagger.library.xmp import MAX_PACKET_BYTES, XmpDocument, XmpError  # its XML parser: not at start-up

    docs: list[tuple[bytes | None, os.stat_result | None, XmpDocument]] = []
    for target in own:
        try:
            before = os.lstat(target)
            if before.st_size > MAX_PACKET_BYTES:
                raise XmpError(f"sidecar too large ({before.st_size} bytes)")
            docs.append((target, before, read_sidecar(target, follow=False)))
        except (XmpError, OSError) as exc:
            raise _Refused(f"{os.fsdecode(target)}: {exc}") from None
    merge = three_way(base, _resolve(embedded, [d for _, _, d in docs]), keywords, pending)
    # every keyword the two sides agree on (or Tagger changed): what a sidecar Tagger writes must name in full
    theirs = set(merge.to_catalog) | {identity(c.keyword) for c in merge.conflicts}
    whole = {k: v for k, v in group(merge.keywords).items() if k not in theirs}
    whole.update({k: v for k, v in merge.to_files.items() if not v})
    result = SidecarWrite("unchanged", merge=merge)
    on_disk = []
    for target, before, doc in docs or [(None, None, XmpDocument.new())]:
        changed = doc.apply_keywords(merge.to_files)
        changed = doc.set_auto_keywords(auto, keep_auto=keep_auto) or changed
        if changed:
            doc.apply_keywords(whole)
            doc.tidy()
            target = target or _new_sidecar(path, naming, folders)
            try:
                replaced = _replace_if_unchanged(target, doc.serialize(), before)
            except OSError as exc:
                raise _Refused(f"{os.fsdecode(target)}: {exc.strerror or exc}") from None
            if not replaced:
                raise _Changed()
            result.status = "written"
            result.paths.append(os.fsdecode(target))
        if target is not None:
            on_disk.append(doc)
    result.files_after = _resolve(embedded, on_disk)
    return result


def _resolve(embedded: KeywordEntries, docs: Sequence[XmpDocument]) -> list[str]:
    entries = embedded
    for doc in docs:
        entries = entries + doc.keyword_entries()
    return entries.resolve()


def _new_sidecar(path: bytes, naming: str, folders: SidecarFolders) -> bytes:
    """Where a photo's first sidecar goes: ``photo.jpg.xmp``, or ``photo.xmp`` for the Lightroom naming unless
    another photo, raw or video shares that stem (then the name is not the photo's alone: ``photo.jpg.xmp``)."""
    folder, name = _split(path)
    if naming == "stem" and b"." in name[1:] and not _stem_is_shared(folder, name, folders):
        name = name.rpartition(b".")[0]
    target = _join(folder, name + b".xmp")
    if os.path.lexists(target):  # appeared since we looked (a link, a FIFO...): decide again, never overwrite it
        raise _Changed()
    return target


def _replace_if_unchanged(path: bytes, data: bytes, before: os.stat_result | None) -> bool:
    """Atomically put ``data`` at ``path``, unless what is at ``path`` changed since ``before`` (then False).

    The rename replaces whatever name is there (a link is replaced, never followed); the temporary file is made with
    O_EXCL, named after this process so that a later run can tell an abandoned one (:func:`remove_stale_temps`)."""
    folder = path.rpartition(b"/")[0]
    # hidden (scanners skip it) and short (a 250-byte photo name plus a suffix would pass NAME_MAX)
    fd, tmp = tempfile.mkstemp(dir=folder or b".", prefix=TEMP_PREFIX + str(os.getpid()).encode() + b"-",
                               suffix=TEMP_SUFFIX)
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
            now = os.lstat(path)
        except FileNotFoundError:
            now = None
        if (now is None) != (before is None) or (now is not None and (
                now.st_ino, now.st_size, now.st_mtime_ns) != (before.st_ino, before.st_size, before.st_mtime_ns)):
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


def remove_stale_temps(folder: bytes | str | os.PathLike, names: Iterable[bytes] | None = None) -> int:
    """Delete the temporary sidecars (``.tagger-*.xmp-tmp``) that a killed export left in ``folder``; returns how many.

    Only regular files of that name are touched, and only abandoned ones: their process has ended, or they are
    older than any write takes (another export running right now keeps its own)."""
    folder = os.fsencode(folder)
    if names is None:
        try:
            names = os.listdir(folder or b".")
        except OSError:
            return 0
    removed = 0
    for name in names:
        if not (name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)):
            continue
        full = _join(folder, name)
        try:
            st = os.lstat(full)
            if stat.S_ISREG(st.st_mode) and _abandoned(name, st):
                os.unlink(full)
                removed += 1
        except OSError:
            continue
    return removed


def _abandoned(name: bytes, st: os.stat_result) -> bool:
    if time.time() - st.st_mtime > STALE_TEMP_SECONDS:
        return True
    m = _TEMP_WITH_PID.fullmatch(name)
    if m is None:
        return True  # named the way Tagger did before temporary files carried the process id: nothing writes those
    pid = int(m.group(1))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):
        return False  # alive (someone else's), or not a process id this system can have
    return False


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
