"""What a photo's header says it is (width, height, how many bytes a decoded pixel takes), read without reading the
rest of the file, and without trusting it.

The indexer needs this before it reads a whole file into memory: to reserve decode memory for it (see
``decode_budget``) and to refuse files that cannot be photos (a 1.5 GB file whose header says 64x48 pixels). Only the
header is read, through seeks, so a file of any size costs a few small reads.

JPEG is walked marker by marker as Pillow walks it, because Pillow skips junk between markers one byte at a time, in
Python: a JPEG header followed by 1.5 GB of zeros took minutes. The walk here skips junk in blocks and gives up after
``JPEG_JUNK_LIMIT`` bytes of it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from typing import BinaryIO

JPEG_JUNK_LIMIT = 1 << 20  # bytes of non-marker data tolerated between JPEG markers before the image data
JPEG_SEGMENT_LIMIT = 20_000  # segments before the image data (a real header has tens; 20000 x 64 KB is 1.3 GB)
_WINDOW = 1 << 16
_HEIF_SEARCH = 1 << 20  # the 'ispe' boxes of HEIF/AVIF sit in the 'meta' box, near the start

# Bytes a decoded pixel takes while a photo is made into the network input and the thumbnail: the image as Pillow
# holds it (RGB, RGBA, CMYK and LA take 4 bytes; L and P take 1) plus the RGB copy made from it (4), plus the RGBA
# copy that alpha compositing needs, or the float working copy of a 16-bit grey image.
RGB, RGBA, CMYK, GREY, GREY16, FLOAT, PALETTE, GREY_ALPHA = 4, 8, 8, 5, 11, 25, 9, 12


class HeaderRefused(Exception):
    """The header shows that this cannot be a usable photo; ``reason`` is for people."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Header:
    kind: str | None  # imageio.sniff's name for the content, None when unrecognised (Pillow may still know it)
    width: int | None  # as stored (before EXIF orientation); None when the header does not say
    height: int | None
    bytes_per_pixel: int = RGBA  # decode working memory per pixel, see the table above (RGBA when unknown)

    @property
    def pixels(self) -> int | None:
        return self.width * self.height if self.width and self.height else None


def parse(fh: BinaryIO, size: int, kind: str | None) -> Header:
    """Read what ``kind``'s header declares; a header that cannot be read gives None sizes (Pillow then decides).

    Raises :class:`HeaderRefused` only for a JPEG header followed by junk or one that never reaches image data."""
    reader = _Reader(fh, size)
    try:
        if kind == "jpeg":
            return _jpeg(reader)
        parser = _PARSERS.get(kind or "")
        if parser is not None:
            return replace(parser(reader), kind=kind)
    except (struct.error, IndexError, ValueError, TypeError, OSError):
        pass
    return Header(kind, None, None)


class _Reader:
    """Random access to a file through one cached window: header parsing without reading the file."""

    def __init__(self, fh: BinaryIO, size: int):
        self.fh = fh
        self.size = size
        self.start = 0
        self.window = b""

    def read(self, pos: int, n: int) -> bytes:
        if pos < 0 or pos >= self.size:
            return b""
        if not (self.start <= pos and pos + n <= self.start + len(self.window)):
            self.fh.seek(pos)
            self.window = self.fh.read(max(n, _WINDOW))
            self.start = pos
        return self.window[pos - self.start:pos - self.start + n]

    def byte(self, pos: int) -> int | None:
        b = self.read(pos, 1)
        return b[0] if b else None

    def u16(self, pos: int, order: str = ">") -> int | None:
        b = self.read(pos, 2)
        return struct.unpack(order + "H", b)[0] if len(b) == 2 else None

    def u32(self, pos: int, order: str = ">") -> int | None:
        b = self.read(pos, 4)
        return struct.unpack(order + "I", b)[0] if len(b) == 4 else None

    def find_ff(self, pos: int, limit: int) -> int | None:
        """Position of the next 0xFF byte at or after ``pos``, looking at most ``limit`` bytes ahead."""
        end = min(self.size, pos + limit)
        while pos < end:
            block = self.read(pos, min(_WINDOW, end - pos))
            if not block:
                return None
            i = block.find(b"\xff")
            if i >= 0:
                return pos + i
            pos += len(block)
        return None


_SOF = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def _jpeg(r: _Reader) -> Header:
    """Walk the markers up to the start of scan, tolerating what Pillow tolerates (junk, fill bytes, escaped 0xFF)."""
    width = height = None
    bpp = RGB
    pos, junk, segments = 2, 0, 0
    while True:
        b = r.byte(pos)
        if b is None:
            break  # the file ends inside the header: Pillow says truncated
        if b != 0xFF:
            nxt = r.find_ff(pos, JPEG_JUNK_LIMIT - junk + 1)
            junk += (nxt if nxt is not None else r.size) - pos
            if junk > JPEG_JUNK_LIMIT:
                raise HeaderRefused("not an image (a JPEG header followed by junk)")
            if nxt is None:
                break
            pos = nxt
            continue
        marker = r.byte(pos + 1)
        if marker is None or marker == 0xDA or 0x01 <= marker < 0xC0:
            break  # start of scan (the header is complete), or a marker Pillow refuses at once
        if marker == 0xFF:  # fill byte
            pos += 1
        elif marker == 0x00 or 0xD0 <= marker <= 0xD9:  # escaped 0xFF (junk) or a marker without a length
            pos += 2
        else:
            length = r.u16(pos + 2)
            if length is None:
                break
            if marker in _SOF:
                height, width = r.u16(pos + 5), r.u16(pos + 7)
                bpp = {1: GREY, 4: CMYK}.get(r.byte(pos + 9) or 3, RGB)
            pos += 2 + length
            segments += 1
            if segments > JPEG_SEGMENT_LIMIT:
                raise HeaderRefused("not an image (a JPEG header that never reaches its image data)")
    return Header("jpeg", width, height, bpp)


def _png(r: _Reader) -> Header:
    if r.read(12, 4) != b"IHDR":
        return Header("png", None, None)
    width, height = r.u32(16), r.u32(20)
    depth, colour = r.byte(24), r.byte(25)
    bpp = {0: GREY16 if depth == 16 else GREY, 2: RGB, 3: PALETTE, 4: GREY_ALPHA, 6: RGBA}.get(colour, RGBA)
    return Header("png", width, height, bpp)


def _gif(r: _Reader) -> Header:
    """Logical screen grown to the first frame's extent, as Pillow sizes a GIF."""
    width, height = r.u16(6, "<"), r.u16(8, "<")
    flags = r.byte(10) or 0
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    for _ in range(10_000):  # extensions before the first frame
        b = r.byte(pos)
        if b == 0x2C:  # image descriptor
            x0, y0, fw, fh = (r.u16(pos + 1 + 2 * i, "<") for i in range(4))
            return Header("gif", max(width, x0 + fw), max(height, y0 + fh), PALETTE)
        if b != 0x21:  # trailer, junk or the end
            break
        pos += 2
        while (n := r.byte(pos)) and pos < r.size:  # extension sub-blocks
            pos += n + 1
        pos += 1
    return Header("gif", width, height, PALETTE)


def _webp(r: _Reader) -> Header:
    chunk = r.read(12, 4)
    if chunk == b"VP8X":
        b = r.read(24, 6)
        return Header("webp", 1 + int.from_bytes(b[0:3], "little"), 1 + int.from_bytes(b[3:6], "little"), RGBA)
    if chunk == b"VP8 ":
        return Header("webp", r.u16(26, "<") & 0x3FFF, r.u16(28, "<") & 0x3FFF, RGB)
    if chunk == b"VP8L":
        b = r.read(21, 4)
        width = 1 + (b[0] | (b[1] & 0x3F) << 8)
        height = 1 + (b[1] >> 6 | b[2] << 2 | (b[3] & 0x0F) << 10)
        return Header("webp", width, height, RGBA)
    return Header("webp", None, None)


def _bmp(r: _Reader) -> Header:
    if r.u32(14, "<") == 12:  # OS/2 core header: 16-bit sizes
        width, height, bits = r.u16(18, "<"), r.u16(20, "<"), r.u16(24, "<")
    else:
        width, height = struct.unpack("<ii", r.read(18, 8))
        bits = r.u16(28, "<")
    return Header("bmp", abs(width), abs(height), RGBA if bits == 32 else RGB if bits in (16, 24) else PALETTE)


def _tiff(r: _Reader) -> Header:
    """The first IFD's ImageWidth, ImageLength, BitsPerSample and SamplesPerPixel (classic TIFF; BigTIFF: unknown)."""
    order = "<" if r.read(0, 2) == b"II" else ">"
    if r.u16(2, order) != 42:
        return Header("tiff", None, None)
    ifd = r.u32(4, order)
    count = min(r.u16(ifd, order) or 0, 4096)
    tags: dict[int, int] = {}
    for i in range(count):
        entry = ifd + 2 + 12 * i
        tag, typ, n = r.u16(entry, order), r.u16(entry + 2, order), r.u32(entry + 4, order)
        if tag not in (256, 257, 258, 277):
            continue
        if typ == 3:  # SHORT: the first value is inline when it fits, else at the offset
            at = entry + 8 if n <= 2 else r.u32(entry + 8, order)
            tags[tag] = r.u16(at, order)
        elif typ == 4:  # LONG
            at = entry + 8 if n <= 1 else r.u32(entry + 8, order)
            tags[tag] = r.u32(at, order)
    samples, bits = tags.get(277, 1), tags.get(258, 1)
    if samples >= 4:
        bpp = RGBA
    elif samples == 3:
        bpp = RGB
    else:
        bpp = FLOAT if bits >= 32 else GREY16 if bits > 8 else GREY
    return Header("tiff", tags.get(256), tags.get(257), bpp)


def _heif(r: _Reader) -> Header:
    """The largest 'ispe' (image spatial extent) property: the primary image or its grid."""
    head = r.read(0, min(r.size, _HEIF_SEARCH))
    best = None
    pos = head.find(b"ispe")
    while pos >= 0:
        width, height = struct.unpack_from(">II", head, pos + 8)
        if best is None or width * height > best[0] * best[1]:
            best = (width, height)
        pos = head.find(b"ispe", pos + 4)
    return Header("heif", *(best or (None, None)), RGBA)


def _ico(r: _Reader) -> Header:
    return Header("ico", 256, 256, RGBA)  # entries are at most 256x256 (0 means 256)


_PARSERS = {"png": _png, "gif": _gif, "webp": _webp, "bmp": _bmp, "tiff": _tiff, "heif": _heif, "avif": _heif,
            "ico": _ico}
