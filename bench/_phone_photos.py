"""Phone-like 12 MP JPEGs made from Caltech-101 photos, cached under bench/out/phone12mp/ (used by index_throughput.py).

Each photo i is a deterministic function of (seed, i): a Caltech photo picked across classes, upscaled to 4000x3000
(bicubic), plus Gaussian sensor-like noise (sigma 6, rounded to integers, clipped to uint8), saved as JPEG quality 90
with an EXIF capture time (~2.5 MB). The noise is drawn once per process from a seeded generator and each photo adds it
from a seeded offset, which keeps generation at ~0.5 s a photo instead of ~2 s.
"""

from __future__ import annotations

import io
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

SIZE = (4000, 3000)
SIGMA = 6.0
QUALITY = 90
RECIPE = f"v1 size={SIZE} sigma={SIGMA} quality={QUALITY} bicubic exif-datetime offset-noise"

_noise: np.ndarray | None = None


def caltech_sources(caltech: Path, seed: int) -> list[Path]:
    """All Caltech photos ordered round-robin across classes (each class shuffled with ``seed``): the first n of this
    list pick n photos spread over as many classes as possible."""
    rng = np.random.default_rng(seed)
    classes = sorted(p for p in caltech.iterdir() if p.is_dir() and any(p.glob("*.jpg")))
    per_class = []
    for c in classes:
        files = sorted(c.glob("*.jpg"))
        per_class.append([files[i] for i in rng.permutation(len(files))])
    order = rng.permutation(len(classes))
    out, depth = [], 0
    while any(depth < len(f) for f in per_class):
        out.extend(per_class[k][depth] for k in order if depth < len(per_class[k]))
        depth += 1
    return out


def _noise_pool(seed: int) -> np.ndarray:
    global _noise
    if _noise is None:
        n = SIZE[0] * SIZE[1] * 3
        rng = np.random.default_rng([seed, 0x5E55])
        _noise = np.rint(rng.standard_normal(n + 4_000_037, dtype=np.float32) * SIGMA).astype(np.int16)
    return _noise


def make_photo(source: Path, seed: int, index: int) -> bytes:
    img = Image.open(source).convert("RGB").resize(SIZE, Image.Resampling.BICUBIC)
    noise = _noise_pool(seed)
    arr = np.asarray(img).astype(np.int16).reshape(-1)
    off = int(np.random.default_rng([seed, index]).integers(0, len(noise) - arr.size))
    arr += noise[off:off + arr.size]
    np.clip(arr, 0, 255, out=arr)
    img = Image.fromarray(arr.astype(np.uint8).reshape(SIZE[1], SIZE[0], 3))
    exif = Image.Exif()
    exif[0x0112] = 1  # orientation: as stored
    exif.get_ifd(0x8769)[0x9003] = f"2024:06:{1 + index % 28:02d} 12:{index % 60:02d}:00"  # DateTimeOriginal
    out = io.BytesIO()
    img.save(out, "JPEG", quality=QUALITY, exif=exif)
    return out.getvalue()


def _make_one(args: tuple[str, int, int, str]) -> int:
    source, seed, index, dest = args
    data = make_photo(Path(source), seed, index)
    tmp = dest + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, dest)
    return len(data)


def ensure_photos(folder: Path, caltech: Path, n: int, seed: int = 0, workers: int | None = None,
                  log=print) -> list[Path]:
    """The first ``n`` photos of the (seed) series in ``folder``, generating the missing ones; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    meta_path = folder / "recipe.json"
    meta = {"recipe": RECIPE, "seed": seed}
    if meta_path.exists() and json.loads(meta_path.read_text()) != meta:
        for p in folder.glob("phone_*.jpg"):  # another recipe or seed: start over
            p.unlink()
    meta_path.write_text(json.dumps(meta))
    sources = caltech_sources(caltech, seed)
    if n > len(sources):
        raise ValueError(f"only {len(sources)} Caltech photos available")
    paths = [folder / f"phone_{i:05d}.jpg" for i in range(n)]
    missing = [(str(sources[i]), seed, i, str(p)) for i, p in enumerate(paths) if not p.exists()]
    if missing:
        log(f"generating {len(missing)} phone-like 12 MP photos in {folder} (cached for later runs) ...")
        with ProcessPoolExecutor(workers or os.cpu_count() or 1) as pool:
            for k, _ in enumerate(pool.map(_make_one, missing, chunksize=4), 1):
                if k % 32 == 0:
                    log(f"  {k}/{len(missing)}")
    return paths
