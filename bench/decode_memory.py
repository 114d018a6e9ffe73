"""Peak memory and wall time of the indexer's decode path on files made to exhaust memory (issue 12, item 11).

    python bench/decode_memory.py [--workers 1 4] [--png-side 13000] [--png-mode RGBA] [--junk-mb 1536]

Makes, in a temporary folder:
- ``--count`` PNGs of ``--png-side`` squared pixels (13000x13000 = 169 MP, under the 180 MP pixel limit), RGBA by
  default, that compress to under 1 MB, so reading them is cheap and decoding them is not (676 MB of pixels each);
- ``--count`` "JPEGs" of ``--junk-mb`` MB: a real JPEG header followed by zeros (sparse files: no disk space used),
  which Pillow's marker scan used to walk one byte at a time.

Each (kind, workers) pair runs in a fresh child process that sends every file through
``tagger.library.indexer._read_and_decode`` (read, hash, keywords, decode, network input, thumbnail: exactly what
indexing does to a new file) from a thread pool of ``workers`` threads, and reports its peak resident memory (VmHWM)
and wall time. Prints one JSON object; run it on the code before and after a change to compare (copy it into an
export of the older tree: it works with both).

Issue 12 (2 shared cores, 24 GB, back to back under the same load): 4 PNGs, 1 thread 2162 MB -> 1346 MB, 4 threads
6828-8435 MB -> 1365 MB, wall time unchanged (26-31 s -> 26-27 s); 4 junk JPEGs of 64 MB: 26 s -> 0.02 s (of
1.5 GB: ~10 minutes and 6 GB -> 0.02 s and 48 MB).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._benchutil import rss_bytes


def make_png(path: Path, side: int, mode: str) -> None:
    """A smooth gradient: tiny once compressed, enormous once decoded."""
    from PIL import Image

    ramp = Image.linear_gradient("L").resize((side, side), Image.Resampling.NEAREST)
    bands = {"L": [ramp], "RGB": [ramp, ramp.transpose(Image.Transpose.ROTATE_90), ramp],
             "RGBA": [ramp, ramp.transpose(Image.Transpose.ROTATE_90), ramp, Image.new("L", ramp.size, 200)]}[mode]
    img = Image.merge(mode, bands) if len(bands) > 1 else bands[0]
    img.save(path, "PNG", compress_level=9)


def make_junk_jpeg(path: Path, size: int) -> None:
    """A real JPEG's header (up to its image data) followed by zeros up to ``size`` bytes, as a sparse file."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 80, 40)).save(out, "JPEG")
    data = out.getvalue()
    header = data[:data.index(b"\xff\xda")]  # everything before the start of scan
    with open(path, "wb") as fh:
        fh.write(header)
        fh.truncate(size)


def child(kind: str, folder: Path, workers: int) -> dict:
    """Decode every file of ``kind`` in ``folder`` as the indexer does; report peak memory and time."""
    from tagger.engine.imageio import Preprocessing
    from tagger.library import indexer
    from tagger.library.catalog import Root
    from tagger.library.indexer import FoundFile, _read_and_decode

    reusable = indexer._Reusable() if hasattr(indexer, "_Reusable") else {}  # nothing to reuse: decode every file

    root = Root(1, folder)
    files = sorted(p for p in folder.iterdir() if p.name.startswith(kind))
    found = [FoundFile(os.fsencode(p.name), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    prep = Preprocessing()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda f: _read_and_decode(root, f, prep, reusable), found))
    wall = time.perf_counter() - start
    return {"kind": kind, "workers": workers, "files": len(files), "wall_s": round(wall, 2),
            "peak_rss_mb": round(rss_bytes("VmHWM") / 2**20), "decoded": sum(r.photo is not None for r in results),
            "reasons": sorted({r.reason for r in results if r.reason})}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--count", type=int, default=4, help="files of each kind (default 4)")
    ap.add_argument("--png-side", type=int, default=13000)
    ap.add_argument("--png-mode", choices=["L", "RGB", "RGBA"], default="RGBA")
    ap.add_argument("--junk-mb", type=int, default=1536, help="size of each junk JPEG in MB (default 1536)")
    ap.add_argument("--kinds", nargs="+", default=["png", "junk"], choices=["png", "junk"])
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per child before it is killed")
    ap.add_argument("--child", nargs=3, metavar=("KIND", "FOLDER", "WORKERS"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, folder, workers = args.child
        print(json.dumps(child(kind, Path(folder), int(workers))))
        return

    from tagger.engine import imageio

    report: dict = {"args": {k: v for k, v in vars(args).items() if k != "child"},
                    "budget_mb": round(getattr(imageio, "DECODE_BUDGET", None).limit / 2**20)
                    if hasattr(imageio, "DECODE_BUDGET") else None, "runs": []}
    folder = Path(tempfile.mkdtemp(prefix="decode-memory-"))
    try:
        t0 = time.perf_counter()
        if "png" in args.kinds:
            make_png(folder / "png-0.png", args.png_side, args.png_mode)
            for i in range(1, args.count):
                shutil.copy(folder / "png-0.png", folder / f"png-{i}.png")
            report["png_bytes"] = (folder / "png-0.png").stat().st_size
        if "junk" in args.kinds:
            for i in range(args.count):
                make_junk_jpeg(folder / f"junk-{i}.jpg", args.junk_mb * 2**20)
        report["setup_s"] = round(time.perf_counter() - t0, 1)
        for kind in args.kinds:
            for workers in args.workers:
                cmd = [sys.executable, __file__, "--child", kind, str(folder), str(workers)]
                try:
                    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
                except subprocess.TimeoutExpired:
                    report["runs"].append({"kind": kind, "workers": workers, "timed_out_s": args.timeout})
                    continue
                if out.returncode:
                    report["runs"].append({"kind": kind, "workers": workers, "returncode": out.returncode,
                                           "stderr": out.stderr[-800:]})
                else:
                    report["runs"].append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(json.dumps(report["runs"][-1]), file=sys.stderr)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
