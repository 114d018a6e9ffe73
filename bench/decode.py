"""How long one phone photo takes to decode, the step that bounds indexing speed.

    python bench/decode.py [--caltech ../shared/data/caltech101] [--repeat 40]

Builds a phone-like 12 MP JPEG (a Caltech-101 photo upscaled to 4000x3000, Gaussian noise sigma 6 so it compresses
like a real sensor image, quality 90, EXIF capture time; ~2.5 MB) plus a copy tagged EXIF orientation 6, then times,
single-threaded, from the bytes in memory (no disk):

- full_decode: decode every pixel, the cost without ``draft``;
- full_decode_network_thumbnail: the naive pipeline (full decode, network input, thumbnail);
- draft_decode: what :func:`tagger.engine.imageio.decode_photo` decodes (DCT-scaled to ~500x375, EXIF read, RGB);
- draft_decode_network: plus the network input (what ``load_for_network`` costs after reading the file);
- decode_photo: plus the JPEG thumbnail, i.e. everything the indexer needs;
- decode_photo_rotated: the same on the orientation-6 copy;
and the throughput of ``decode_photo`` on all cores (Pillow releases the GIL). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, features

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tagger.engine import imageio
from tagger.engine.imageio import Preprocessing, decode_photo, to_network_input

DEFAULT_PHOTO = "Leopards/image_0001.jpg"


def phone_jpeg(source: Path, orientation: int = 1, size: tuple[int, int] = (4000, 3000)) -> bytes:
    """A 12 MP JPEG that decodes like a phone's: real content, sensor-like noise, quality 90, EXIF."""
    img = Image.open(source).convert("RGB").resize(size, Image.Resampling.BICUBIC)
    noisy = np.asarray(img, np.float32) + np.random.default_rng(0).normal(0.0, 6.0, (size[1], size[0], 3))
    img = Image.fromarray(np.clip(noisy + 0.5, 0, 255).astype(np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0x9003] = "2024:06:01 12:34:56"
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


def time_ms(fn: Callable[[], object], repeat: int) -> dict:
    for _ in range(2):
        fn()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1000.0)
    return {"median_ms": round(statistics.median(runs), 2), "min_ms": round(min(runs), 2),
            "p90_ms": round(sorted(runs)[int(0.9 * (len(runs) - 1))], 2)}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--caltech", type=Path, default=ROOT.parent / "shared" / "data" / "caltech101")
    ap.add_argument("--photo", default=DEFAULT_PHOTO, help="Caltech photo to upscale (relative to --caltech)")
    ap.add_argument("--repeat", type=int, default=40)
    ap.add_argument("--save", type=Path, help="also write the generated 12 MP JPEG here")
    args = ap.parse_args()

    source = args.caltech / args.photo
    if not source.is_file():
        print(f"no source photo at {source}", file=sys.stderr)
        return 2
    data, rotated = phone_jpeg(source), phone_jpeg(source, orientation=6)
    if args.save:
        args.save.write_bytes(data)
    prep = Preprocessing()
    long_side = max(prep.resize, imageio.THUMB_SIZE)

    def full_decode() -> Image.Image:
        img = Image.open(io.BytesIO(data))
        img.load()
        return img.convert("RGB")

    def naive() -> None:
        img = full_decode()
        to_network_input(img, prep)
        imageio._thumbnail_jpeg(img, imageio.THUMB_SIZE)

    def draft() -> Image.Image:
        return imageio._decode(data, prep.resize, long_side).image

    photo = decode_photo(data, prep)
    results = {
        "full_decode": time_ms(full_decode, args.repeat),
        "full_decode_network_thumbnail": time_ms(naive, args.repeat),
        "draft_decode": time_ms(draft, args.repeat),
        "draft_decode_network": time_ms(lambda: to_network_input(draft(), prep), args.repeat),
        "decode_photo": time_ms(lambda: decode_photo(data, prep), args.repeat),
        "decode_photo_rotated": time_ms(lambda: decode_photo(rotated, prep), args.repeat),
    }

    workers = os.cpu_count() or 1
    n = max(4 * workers, args.repeat)
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda _: decode_photo(data, prep), range(workers)))
        start = time.perf_counter()
        list(pool.map(lambda _: decode_photo(data, prep), range(n)))
        rate = n / (time.perf_counter() - start)

    print(json.dumps({
        "photo": {"source": args.photo, "bytes": len(data), "size": list(Image.open(io.BytesIO(data)).size),
                  "decoded_size": list(draft().size), "thumbnail_bytes": len(photo.thumbnail),
                  "taken_at": photo.taken_at},
        "single_thread": results,
        "threads": {"workers": workers, "photos_per_s": round(rate, 1)},
        "machine": {"cpus": os.cpu_count(), "pillow": PIL.__version__,
                    "libjpeg_turbo": features.version("libjpeg_turbo"), "repeat": args.repeat},
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
