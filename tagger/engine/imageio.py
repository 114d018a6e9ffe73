"""Decoding photos for the network: upright, RGB, reduced as early as possible, never trusting the file.

Decoding, not the network, bounds indexing speed, so each photo is decoded once, from the bytes the indexer already
read (and hashed), at reduced scale (``Image.draft``: JPEG DCT scaling, HEIF embedded thumbnails) straight to about
the model's input size; the network input and the GUI thumbnail are both made from that one decoded image. Files are
recognised by content, never by extension. Every failure becomes an :class:`ImageDecodeError` with a reason a person
can read.

Memory is bounded twice over: a file is refused from its header, before the rest is read, when it cannot be a usable
photo (more pixels than ``MAX_PIXELS``, far more bytes than its pixels could need, a JPEG header followed by junk),
and every decode first reserves the memory it will hold from one budget shared by all decoding threads
(:mod:`tagger.engine.decode_budget`), so four huge PNGs decode one after another instead of all at once.
"""

from __future__ import annotations

import io
import os
import re
import struct
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

import numpy as np
from PIL import ExifTags, Image, ImageFile, ImageOps

from tagger.engine import photo_header
from tagger.engine.decode_budget import DecodeBudget
from tagger.engine.photo_header import Header
from tagger.errors import TaggerError

try:  # HEIC/HEIF support is optional at run time but installed by default (AVIF is built into Pillow >= 11.3)
    import pillow_heif

    pillow_heif.register_heif_opener()
except Exception:  # pragma: no cover - depends on the platform's wheel
    pillow_heif = None

ImageFile.LOAD_TRUNCATED_IMAGES = False
# Pillow warns (once per call site, on stderr) about corrupt EXIF and the like; the photo still decodes, so keep the
# user's terminal clean. Set once at import: warnings filters are process-wide and not thread-safe to toggle.
warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
# Suffixes listed when a folder is scanned by name (evaluation); the indexer detects images by content instead.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp",
                            ".heic", ".heif", ".avif"})
# Pillow's default bomb limit (~89 MP) would refuse legitimate 100 MP camera files; 2x that is still safe in memory.
MAX_PIXELS = 180_000_000
# Pillow's own check stays on as a backstop for any other Pillow use in the process; ours refuses first, with WxH.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# Bigger files are refused unread: a 180 MP photo stored uncompressed in 16-bit RGB is 1.1 GB.
MAX_FILE_BYTES = 2 * 2**30
# A JPEG, PNG or BMP holds one image (plus metadata, an embedded preview, a motion photo's short video, an HDR gain
# map): more than this many bytes beyond 16 a pixel is not a photo, or is one with something else glued on.
_SLACK_BYTES = 64 * 2**20
_MAX_BYTES_PER_PIXEL = 16
_SINGLE_IMAGE_KINDS = frozenset({"jpeg", "png", "bmp"})
_UNKNOWN_PIXELS = 24_000_000  # decode memory reserved for a photo whose header does not say its size
# The decode memory every decoding thread of this process shares (see decode_budget).
DECODE_BUDGET = DecodeBudget()
# Pillow allocates pixels in blocks, 16 MB by default. glibc serves a freed block's size from the freeing thread's own
# arena afterwards and keeps it there: with the budget letting one huge PNG decode at a time, four threads still each
# kept a GB of freed blocks (3.6 GB resident instead of 1.35). Blocks of 64 MB are above glibc's 32 MB mmap ceiling,
# so they go back to the system when freed; small photos, a block smaller than that, are not affected.
if "PILLOW_BLOCK_SIZE" not in os.environ:
    Image.core.set_block_size(64 * 2**20)
THUMB_SIZE = 320  # long side of cached thumbnails
THUMB_QUALITY = 85  # JPEG quality of cached thumbnails: ~15-25 KB each, no visible artefacts at GUI size
# Formats a photo folder plausibly holds. Pillow's other plugins (EPS runs Ghostscript; TGA, XPM, SPIDER... match
# junk or text by weak magic) are never tried on users' files.
PHOTO_FORMATS = ("JPEG", "MPO", "PNG", "GIF", "WEBP", "TIFF", "BMP", "ICO", "HEIF", "AVIF", "JPEG2000")


class ImageDecodeError(TaggerError):
    """A photo that cannot be used; ``reason`` is short and meant for people (and the catalog)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Preprocessing:
    """What the network expects; stored in the model manifest so inference always matches export."""

    input_size: int = 224
    resize: int = 256  # short side before the centre crop
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    interpolation: str = "bicubic"

    def to_json(self) -> dict:
        return {"input_size": self.input_size, "resize": self.resize, "mean": list(self.mean),
                "std": list(self.std), "interpolation": self.interpolation, "crop": "center"}

    @classmethod
    def from_json(cls, data: dict) -> Preprocessing:
        return cls(int(data["input_size"]), int(data["resize"]), tuple(data["mean"]), tuple(data["std"]),
                   data.get("interpolation", "bicubic"))


@dataclass
class DecodedPhoto:
    """Everything the indexer needs from one photo, made from a single decode of its bytes."""

    pixels: np.ndarray  # (3, S, S) float32, exactly what to_network_input gives
    thumbnail: bytes  # JPEG, upright, RGB, long side <= thumb_size
    width: int  # full-resolution size after EXIF orientation (what the user sees), not the decoded (reduced) size
    height: int
    format: str  # Pillow's format name: JPEG, PNG, WEBP, GIF, TIFF, BMP, HEIF, AVIF, MPO, ...
    taken_at: str | None  # EXIF capture time 'YYYY-MM-DDTHH:MM:SS' (camera local time), None if absent or invalid
    # the thumbnail's pixels (upright RGB uint8, long side <= thumb_size): what the face detector looks at while the
    # decode is in memory (tagger.engine.faces works at 320 px)
    small: np.ndarray | None = None


def sniff(head: bytes) -> str | None:
    """Image kind from magic bytes (the first 32 are enough): jpeg png gif webp tiff bmp heif avif ico, else None.

    Lets the indexer skip non-images cheaply and name what a file really is whatever its extension says.
    """
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head[:2] == b"BM" and len(head) >= 18 and struct.unpack_from("<I", head, 14)[0] in _BMP_HEADER_SIZES:
        return "bmp"
    brands = _ftyp_brands(head)
    if brands:
        if brands[0] in _AVIF_BRANDS or (brands[0] in _HEIF_GENERIC_BRANDS and _AVIF_BRANDS.intersection(brands)):
            return "avif"
        if brands[0] in _HEIF_BRANDS or brands[0] in _HEIF_GENERIC_BRANDS:
            return "heif"
        return None
    if head[:4] == b"\x00\x00\x01\x00" and len(head) >= 12 and 0 < head[4] + 256 * head[5] <= 256 and head[9] == 0:
        return "ico"
    return None


_BMP_HEADER_SIZES = frozenset({12, 16, 40, 52, 56, 64, 108, 124})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_HEIF_GENERIC_BRANDS = frozenset({b"mif1", b"msf1", b"mif2", b"mif3", b"miaf"})


def _ftyp_brands(head: bytes) -> list[bytes]:
    """Major then compatible brands of an ISO-BMFF ``ftyp`` box (HEIF, AVIF, but also MP4/MOV videos)."""
    if len(head) < 12 or head[4:8] != b"ftyp":
        return []
    end = min(len(head), max(16, struct.unpack_from(">I", head, 0)[0]))
    return [head[8:12]] + [head[i:i + 4] for i in range(16, end - 3, 4)]


def decode_photo(data: bytes, prep: Preprocessing, thumb_size: int = THUMB_SIZE) -> DecodedPhoto:
    """Decode a photo's bytes once into its network input, its thumbnail and its metadata.

    Takes bytes, not a path, because the indexer reads each file once and hashes the same bytes. Raises
    :class:`ImageDecodeError` for anything that is not a usable photo.
    """
    if thumb_size < 1:
        raise ValueError(f"thumb_size must be positive, got {thumb_size}")
    photo = _decode(data, *decode_sizes(prep, thumb_size))
    try:
        pixels = to_network_input(photo.image, prep)
        small = _small(photo.image, thumb_size)
        out = io.BytesIO()
        small.save(out, "JPEG", quality=THUMB_QUALITY)
        small_rgb = np.asarray(small, np.uint8)
    except ImageDecodeError:
        raise
    except Exception as exc:
        raise ImageDecodeError(_reason(exc, data)) from None
    return DecodedPhoto(pixels, out.getvalue(), photo.width, photo.height, photo.format, photo.taken_at, small_rgb)


def decode_sizes(prep: Preprocessing, thumb_size: int = THUMB_SIZE) -> tuple[int, int]:
    """(short side, long side) a photo is decoded to at least: enough for the network input and the thumbnail."""
    return prep.resize, max(prep.resize, thumb_size)


def open_upright(path: str | os.PathLike, min_side: int | None = None) -> Image.Image:
    """Read and decode a file (reduced so the short side stays >= ``min_side``), upright, RGB.

    Same decoder as :func:`decode_photo`, so what evaluation sees is what indexing sees.
    """
    with _read(path, min_side, min_side) as data:
        return _decode(data, min_side, min_side).image


def load_for_network(path: str | os.PathLike, prep: Preprocessing) -> np.ndarray:
    """The network input for a file: identical to ``decode_photo(bytes, prep).pixels`` (same reduced decode)."""
    sizes = decode_sizes(prep)
    with _read(path, *sizes) as data:
        return to_network_input(_decode(data, *sizes).image, prep)


@contextmanager
def read_photo(fh: BinaryIO, min_side: int | None = None, min_long: int | None = None) -> Iterator[bytes]:
    """The bytes of an open photo file, read within the decode-memory budget and held there until the block ends.

    The header is read first: a file that cannot be a usable photo is refused (:class:`ImageDecodeError`) before
    the rest of it is read. Then the memory the file and its decode will take (decoded at least ``min_side`` x
    ``min_long``, see :func:`decode_cost`) is reserved from :data:`DECODE_BUDGET`, waiting while other threads hold
    it, and the file is read. Decode inside the block. Errors reading the file are raised as they come
    (``OSError``) for the caller to word."""
    size = os.fstat(fh.fileno()).st_size
    header = read_header(fh, size)
    with DECODE_BUDGET.hold(decode_cost(header, size, min_side, min_long)):
        fh.seek(0)
        try:
            data = fh.read(MAX_FILE_BYTES + 1)
        except MemoryError:
            raise ImageDecodeError("too large to read (out of memory)") from None
        if len(data) > MAX_FILE_BYTES:  # it grew after the header was read
            raise ImageDecodeError(f"too large to be a photo ({_megabytes(len(data))})")
        yield data


@contextmanager
def _read(path: str | os.PathLike, min_side: int | None, min_long: int | None) -> Iterator[bytes]:
    """:func:`read_photo` with the file's own errors worded as reasons."""
    with ExitStack() as stack:
        try:
            data = stack.enter_context(read_photo(stack.enter_context(open(path, "rb")), min_side, min_long))
        except PermissionError:
            raise ImageDecodeError("permission denied") from None
        except FileNotFoundError:
            raise ImageDecodeError("file vanished") from None
        except IsADirectoryError:
            raise ImageDecodeError("not a file (a folder)") from None
        except OSError as exc:
            raise ImageDecodeError(f"cannot read file ({exc.strerror or exc})") from None
        yield data


def read_header(fh: BinaryIO, size: int) -> Header:
    """What the file's header declares, read through seeks; refuses what cannot be a usable photo, with a reason.

    Refused: an empty file, a file over ``MAX_FILE_BYTES``, a header declaring more than ``MAX_PIXELS``, a JPEG, PNG
    or BMP far larger than its pixels could need, a JPEG header followed by junk. Anything else, including content
    nobody recognised, is left to the decoder, which knows more formats and says what is wrong."""
    if size <= 0:
        raise ImageDecodeError("empty file (0 bytes)")
    fh.seek(0)
    kind = sniff(fh.read(32))
    if size > MAX_FILE_BYTES:
        what = f"a {kind.upper()} of " if kind else ""
        raise ImageDecodeError(f"too large to be a photo ({what}{_megabytes(size)})")
    try:
        header = photo_header.parse(fh, size, kind)
    except photo_header.HeaderRefused as exc:
        raise ImageDecodeError(exc.reason) from None
    pixels = header.pixels
    if pixels and pixels > MAX_PIXELS:
        raise ImageDecodeError(f"decompression bomb refused ({header.width}x{header.height} pixels)")
    if pixels and kind in _SINGLE_IMAGE_KINDS and size > _SLACK_BYTES + _MAX_BYTES_PER_PIXEL * pixels:
        raise ImageDecodeError(f"too large for its pixels ({_megabytes(size)} for a {header.width}x{header.height} "
                               f"{kind.upper()}): not a photo, or one with something else appended")
    return header


def decode_cost(header: Header, size: int, min_side: int | None = None, min_long: int | None = None) -> int:
    """Bytes a decode holds at its peak: the file's bytes plus the decoded pixels and their RGB working copies.

    A JPEG decodes at reduced scale (``draft``: 1/2, 1/4 or 1/8, keeping at least ``min_side`` x ``min_long``), so
    its cost is that of the reduced image; every other format decodes at full size."""
    width, height = header.width, header.height
    if not (width and height):
        return size + _UNKNOWN_PIXELS * header.bytes_per_pixel
    if header.kind == "jpeg" and min_side:
        long_side = max(min_side, min_long or 0)
        want = (long_side, min_side) if width >= height else (min_side, long_side)
        fits = min(width // want[0], height // want[1])  # as Image.draft picks its scale
        scale = max((a for a in (8, 4, 2) if fits >= a), default=1)
        width, height = -(-width // scale), -(-height // scale)
    return size + width * height * header.bytes_per_pixel


def _megabytes(n: int) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


@dataclass
class _Upright:
    image: Image.Image  # upright RGB, reduced by draft where the format allows
    width: int  # full resolution, upright
    height: int
    format: str
    taken_at: str | None


def _decode(data: bytes, min_side: int | None, min_long: int | None) -> _Upright:
    """The one decode path: identify by content, refuse bombs, draft, load, orient, RGB. Errors become reasons."""
    read_header(io.BytesIO(data), len(data))  # refuses absurd files before Pillow parses them
    try:
        img = _open(data)
        width, height = img.size
        if width * height > MAX_PIXELS:  # before any pixel is decoded
            raise ImageDecodeError(f"decompression bomb refused ({width}x{height} pixels)")
        if width < 1 or height < 1:
            raise ImageDecodeError("image has no pixels")
        fmt = img.format or "unknown"
        if min_side:
            # JPEG: DCT scaling by 1/2, 1/4, 1/8; HEIF: an embedded thumbnail; other formats ignore it.
            long_side, short_side = max(min_side, min_long or 0), min_side
            img.draft("RGB", (long_side, short_side) if width >= height else (short_side, long_side))
        img.load()  # the first frame of an animation: Image.open leaves every format there
        exif = _exif(img)
        img, swapped = _exif_upright(img, exif)
        if swapped:
            width, height = height, width
        return _Upright(_to_rgb(img), width, height, fmt, _taken_at(exif))
    except ImageDecodeError:
        raise
    except Exception as exc:
        raise ImageDecodeError(_reason(exc, data)) from None


def _open(data: bytes) -> ImageFile.ImageFile:
    try:
        return Image.open(io.BytesIO(data), formats=_photo_formats())
    except Image.DecompressionBombError as exc:
        # Pillow refuses beyond 2x its limit while parsing the header; say the size the way our own check does.
        size = _declared_size(data)
        if size:
            raise ImageDecodeError(f"decompression bomb refused ({size[0]}x{size[1]} pixels)") from None
        pixels = re.search(r"\((\d+) pixels\)", str(exc))
        raise ImageDecodeError(f"decompression bomb refused ({pixels[1] if pixels else 'too many'} pixels)") from None


_formats: tuple[str, ...] | None = None


def _photo_formats() -> tuple[str, ...]:
    global _formats
    if _formats is None:
        Image.init()  # registers every plugin once, so the list only names formats this Pillow can open
        _formats = tuple(f for f in PHOTO_FORMATS if f in Image.OPEN)
    return _formats


def _exif(img: Image.Image) -> Image.Exif | None:
    """The EXIF block, or None when it is unreadable: broken metadata never costs the photo."""
    try:
        return img.getexif()
    except Exception:
        return None


def _exif_upright(img: Image.Image, exif: Image.Exif | None) -> tuple[Image.Image, bool]:
    """Apply EXIF orientation; returns the image and whether width and height swapped. Broken EXIF: no rotation."""
    try:
        orientation = exif.get(ExifTags.Base.Orientation) if exif is not None else None
        if orientation not in (2, 3, 4, 5, 6, 7, 8):  # 1, absent and junk values (0, 9, strings): as stored
            return img, False
        return ImageOps.exif_transpose(img), orientation in (5, 6, 7, 8)
    except Exception:
        return img, False


def _taken_at(exif: Image.Exif | None) -> str | None:
    """Capture time: DateTimeOriginal, else DateTimeDigitized, else DateTime; the first one that is a real date."""
    if exif is None:
        return None
    try:
        sub = exif.get_ifd(ExifTags.IFD.Exif)
    except Exception:
        sub = {}
    for ifd, tag in ((sub, ExifTags.Base.DateTimeOriginal), (exif, ExifTags.Base.DateTimeOriginal),
                     (sub, ExifTags.Base.DateTimeDigitized), (exif, ExifTags.Base.DateTime)):
        try:
            parsed = _parse_exif_datetime(ifd.get(tag))
        except Exception:
            parsed = None
        if parsed:
            return parsed
    return None


_EXIF_DATETIME = re.compile(r"\s*(\d{4})[:\-/.](\d{1,2})[:\-/.](\d{1,2})[ T]+(\d{1,2}):(\d{2}):(\d{2})")


def _parse_exif_datetime(value: object) -> str | None:
    """'2008:10:22 16:28:39' -> '2008-10-22T16:28:39'; blanks, zeros ('0000:00:00 00:00:00') and junk -> None."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not isinstance(value, str):
        return None
    match = _EXIF_DATETIME.match(value)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups())
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    if year < 1800:  # cleared camera clocks; no photograph is older
        return None
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB for the network and the thumbnail: alpha over white, 16-bit and float scaled (not stretched), CMYK, P."""
    mode = img.mode
    if mode == "RGB" and "transparency" not in img.info:
        return img
    if mode in ("RGBA", "RGBa", "LA", "La", "PA") or "transparency" in img.info:
        # an RGBA image is its own mask (its alpha band): no RGBA copy and no alpha band apart, which took a
        # 13000x13000 PNG's decode from 1.35 GB to 2.2 GB; the pixels come out identical
        rgba = img if mode == "RGBA" else img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba)
        return background
    if mode.startswith("I;16") or mode in ("I", "F"):
        arr = np.asarray(img)
        if mode.startswith("I;16"):
            scaled = arr.astype(np.float32) * (255.0 / 65535.0)
        else:
            arr = np.nan_to_num(arr.astype(np.float64))
            lo, hi = float(arr.min()), float(arr.max())
            if mode == "F" and lo >= 0.0 and hi <= 1.0:
                scaled = arr * 255.0  # float images are conventionally 0..1
            elif lo >= 0.0 and hi <= 255.0:
                scaled = arr
            elif lo >= 0.0 and hi <= 65535.0:
                scaled = arr * (255.0 / 65535.0)  # 16-bit data widened to 32 bits
            else:
                scaled = (arr - lo) * (255.0 / (hi - lo))  # no known range: stretch
        return Image.fromarray(np.clip(scaled + 0.5, 0, 255).astype(np.uint8), "L").convert("RGB")
    try:
        return img.convert("RGB")
    except ValueError:  # e.g. LAB: would need a colour-management transform
        raise ImageDecodeError(f"unsupported colour mode ({mode})") from None


def _small(img: Image.Image, thumb_size: int) -> Image.Image:
    """The already decoded, upright, RGB image with its long side <= ``thumb_size``, never enlarged."""
    w, h = img.size
    scale = thumb_size / max(w, h)
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        # reducing_gap: a fast box reduction first when the source is much larger (non-JPEG formats decode at full
        # size); from a ~500x375 draft it is a plain bicubic resize.
        img = img.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)
    return img


def _reason(exc: BaseException, data: bytes) -> str:
    """A short, one-line reason for a failed decode; never a traceback."""
    if isinstance(exc, MemoryError):
        return "too large to decode (out of memory)"
    if isinstance(exc, Image.UnidentifiedImageError):
        kind = sniff(data[:32])
        if kind is None:
            return f"not an image ({_describe(data)})"
        if kind in ("heif", "avif") and kind.upper() not in _photo_formats():
            return f"unsupported format ({kind.upper()} support is not installed)"
        return f"truncated or corrupt image data (unreadable {kind.upper()} header)"
    text = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, (OSError, EOFError, SyntaxError, ValueError)):
        text = f"{type(exc).__name__}: {text}"
    if len(text) > 120:
        text = text[:117] + "..."
    return f"truncated or corrupt image data ({text})"


def _describe(data: bytes) -> str:
    """What a non-image looks like, for the reason shown to the user."""
    head = data[:512]
    brands = _ftyp_brands(head)
    if brands:
        return f"video or other media file, brand {brands[0].decode('latin-1').strip()!r}"
    if head.startswith(b"%PDF"):
        return "PDF document"
    if head.startswith(b"PK\x03\x04"):
        return "ZIP archive"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(c.isprintable() or c in "\r\n\t" for c in text):
        return "text"
    return "unrecognised content"


def _declared_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the header, for formats whose header Pillow refuses to finish parsing as a bomb."""
    try:
        header = photo_header.parse(io.BytesIO(data), len(data), sniff(data[:32]))
    except photo_header.HeaderRefused:
        return None
    return (header.width, header.height) if header.pixels else None


def to_network_input(img: Image.Image, prep: Preprocessing) -> np.ndarray:
    """Resize the short side, centre-crop, normalise: float32 CHW, exactly as the model was trained."""
    w, h = img.size
    if w < 1 or h < 1:
        raise ImageDecodeError("image has no pixels")
    scale = prep.resize / min(w, h)
    nw, nh = max(prep.input_size, round(w * scale)), max(prep.input_size, round(h * scale))
    resample = Image.Resampling.BICUBIC if prep.interpolation == "bicubic" else Image.Resampling.BILINEAR
    img = img.resize((nw, nh), resample, reducing_gap=3.0)
    left, top = (nw - prep.input_size) // 2, (nh - prep.input_size) // 2
    img = img.crop((left, top, left + prep.input_size, top + prep.input_size))
    arr = np.asarray(img, dtype=np.float32) * (1.0 / 255.0)
    arr = (arr - np.asarray(prep.mean, np.float32)) / np.asarray(prep.std, np.float32)
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


@dataclass
class Batch:
    indices: list[int]  # positions in the input sequence
    pixels: np.ndarray  # (n, 3, S, S) float32
    failures: list[tuple[int, str]]  # (position, reason) of inputs that could not be decoded


def iter_batches(
    paths: Sequence[str | os.PathLike],
    prep: Preprocessing,
    batch_size: int = 32,
    workers: int | None = None,
    loader: Callable[[str | os.PathLike, Preprocessing], np.ndarray] = load_for_network,
) -> Iterator[Batch]:
    """Decode in a thread pool (Pillow releases the GIL) while the caller runs the network on the previous batch."""
    workers = workers or max(1, os.cpu_count() or 1)

    def work(i: int) -> tuple[int, np.ndarray | None, str | None]:
        try:
            return i, loader(paths[i], prep), None
        except ImageDecodeError as exc:
            return i, None, exc.reason
        except Exception as exc:  # a decoder bug must never stop the whole run
            return i, None, f"unexpected decoder error ({type(exc).__name__}: {exc})"

    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending = _chunks(range(len(paths)), batch_size)
        ahead = [pool.map(work, chunk) for chunk in _take(pending, 2)]
        while ahead:
            results = list(ahead.pop(0))
            ahead.extend(pool.map(work, chunk) for chunk in _take(pending, 1))
            ok = [(i, a) for i, a, _ in results if a is not None]
            failures = [(i, r) for i, a, r in results if a is None]
            pixels = (np.stack([a for _, a in ok]) if ok
                      else np.zeros((0, 3, prep.input_size, prep.input_size), np.float32))
            yield Batch([i for i, _ in ok], pixels, failures)


def _chunks(items: Iterable[int], size: int) -> Iterator[list[int]]:
    chunk: list[int] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _take(it: Iterator[list[int]], n: int) -> list[list[int]]:
    out = []
    for _ in range(n):
        try:
            out.append(next(it))
        except StopIteration:
            break
    return out
