"""Decoding photos for the network: upright, RGB, reduced as early as possible, never trusting the file.

Decoding, not the network, bounds indexing speed, so JPEGs are decoded at reduced scale (``Image.draft``) straight to
about the model's input size. Every failure becomes an :class:`ImageDecodeError` with a reason a person can read.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import numpy as np
from PIL import Image, ImageFile, ImageOps

try:  # HEIC/HEIF/AVIF support is optional at run time but installed by default
    import pillow_heif

    pillow_heif.register_heif_opener()
except Exception:  # pragma: no cover - depends on the platform's wheel
    pillow_heif = None

ImageFile.LOAD_TRUNCATED_IMAGES = False
# Suffixes listed when a folder is scanned by name (evaluation); the indexer detects images by content instead.
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".png", ".webp", ".gif", ".tif", ".tiff", ".bmp", ".heic", ".heif", ".avif"})
# Pillow's default bomb limit (~89 MP) would refuse legitimate 100 MP camera files; 2x that is still safe in memory.
MAX_PIXELS = 180_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


class ImageDecodeError(Exception):
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
    def from_json(cls, data: dict) -> "Preprocessing":
        return cls(int(data["input_size"]), int(data["resize"]), tuple(data["mean"]), tuple(data["std"]),
                   data.get("interpolation", "bicubic"))


def open_upright(path: str | os.PathLike, min_side: int | None = None) -> Image.Image:
    """Open, decode (reduced so the short side stays >= ``min_side``), apply EXIF orientation, convert to RGB."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except PermissionError:
        raise ImageDecodeError("permission denied") from None
    except FileNotFoundError:
        raise ImageDecodeError("file vanished") from None
    except OSError as exc:
        raise ImageDecodeError(f"cannot stat file: {exc.strerror or exc}") from None
    if size == 0:
        raise ImageDecodeError("empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise ImageDecodeError(f"decompression bomb refused ({img.width}x{img.height} pixels)")
                if min_side and img.format == "JPEG":
                    img.draft("RGB", (min_side, min_side))
                if getattr(img, "n_frames", 1) > 1:
                    img.seek(0)
                img.load()
                img = ImageOps.exif_transpose(img)
                return _to_rgb(img)
    except ImageDecodeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageDecodeError(f"decompression bomb refused ({exc})") from None
    except PermissionError:
        raise ImageDecodeError("permission denied") from None
    except FileNotFoundError:
        raise ImageDecodeError("file vanished") from None
    except Image.UnidentifiedImageError:
        raise ImageDecodeError("not an image (unrecognised content)") from None
    except OSError as exc:
        text = str(exc)
        if "truncated" in text or "broken data stream" in text or "image file is truncated" in text:
            raise ImageDecodeError(f"truncated or corrupt image data ({text})") from None
        raise ImageDecodeError(f"corrupt image ({text})") from None
    except (ValueError, SyntaxError, EOFError, IndexError, TypeError, KeyError, MemoryError, ZeroDivisionError) as exc:
        raise ImageDecodeError(f"corrupt image ({type(exc).__name__}: {exc})") from None


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode == "RGB":
        return img
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float32)
        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(arr)
        return Image.fromarray(arr.astype(np.uint8)).convert("RGB")
    return img.convert("RGB")


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


def load_for_network(path: str | os.PathLike, prep: Preprocessing) -> np.ndarray:
    return to_network_input(open_upright(path, min_side=prep.resize), prep)


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
            pixels = np.stack([a for _, a in ok]) if ok else np.zeros((0, 3, prep.input_size, prep.input_size), np.float32)
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
