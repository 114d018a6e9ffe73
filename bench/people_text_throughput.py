"""What looking for people and text costs indexing: 12 MP phone JPEGs indexed with both off and with both on, same run.

    python bench/people_text_throughput.py [--n 128] [--repeat 3] [--workers N] [--json]

Issue 14's bar: throughput falls by <= 15 % with people and text on (both in one run), on CPU. The photos are
index_throughput.py's (bench/_phone_photos.py: Caltech photos made 4000x3000 with sensor noise, cached in
bench/out/phone12mp/), read once first so every run sees them in the page cache. Each run indexes the folder into a
fresh catalog with ``Indexer(..., people=p, text=t)``; the configurations are interleaved (off, on, off, on, ...)
``--repeat`` times and compared by their medians; the detectors are opened and warmed before the first timed run (load
times printed apart). Faces are found in the decode threads from the thumbnail-sized pixels already in memory; text is
read after indexing, only for photos whose ImageNet evidence says text is likely and whose 320 px text detector finds
lines (``tagger.library.detection_pass``): the report says how many photos each gate passed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._benchutil import cpu_sample, cpu_usage, machine, wait_for_quiet
from bench._phone_photos import ensure_photos
from tagger.engine.core import Engine
from tagger.library.catalog import Catalog
from tagger.library.indexer import Indexer

CALTECH = ROOT.parent / "shared" / "data" / "caltech101"
CONFIGS = {"off": (False, False), "people": (True, False), "text": (False, True), "people+text": (True, True)}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def one_run(engine: Engine, folder: Path, n: int, people: bool, text: bool, workers: int | None) -> dict:
    wait_for_quiet(20, log=log)
    with tempfile.TemporaryDirectory(prefix="tagger-bench-") as tmp:
        a = cpu_sample()
        with Catalog.open(Path(tmp) / "c.db") as catalog:
            stats = Indexer(catalog, engine, workers=workers, people=people, text=text).index([folder])
            counts = catalog.detection_counts()
        b = cpu_sample()
    usage = cpu_usage(a, b)
    if stats.indexed != n:
        raise RuntimeError(f"indexed {stats.indexed} of {n} photos ({stats.failed} failed)")
    return {"images_per_s": round(n / usage["wall_s"], 2), "seconds": round(usage["wall_s"], 2),
            "own_cores": usage["own_cores"], "foreign_cores": usage.get("foreign_cores"), **counts}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--configs", default="off,people+text",
                    help=f"comma-separated, interleaved in this order; of {', '.join(CONFIGS)}")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    configs = {k: CONFIGS[k] for k in args.configs.split(",")}
    folder = ROOT / "bench" / "out" / "phone12mp"
    photos = ensure_photos(folder, CALTECH, args.n, log=log)
    sub = Path(tempfile.mkdtemp(prefix="tagger-phone-"))
    for p in photos:  # exactly n photos in their own folder (the cache may hold more)
        (sub / p.name).symlink_to(p)
        p.read_bytes()  # into the page cache
    engine = Engine.load("lite0")
    t = time.perf_counter()
    engine.faces.detect(np.zeros((240, 320, 3), np.uint8))
    faces_load = time.perf_counter() - t
    t = time.perf_counter()
    engine.text_reader.has_text(np.zeros((240, 320, 3), np.uint8))
    text_load = time.perf_counter() - t
    engine.infer(np.zeros((1, 3, engine.prep.input_size, engine.prep.input_size), np.float32))
    runs: dict[str, list[dict]] = {k: [] for k in configs}
    for r in range(args.repeat):
        for name, (people, text) in configs.items():
            row = one_run(engine, sub, args.n, people, text, args.workers)
            runs[name].append(row)
            log(f"run {r + 1} {name}: {row['images_per_s']} img/s ({row['seconds']} s, foreign {row['foreign_cores']})")
    med = {k: statistics.median(x["images_per_s"] for x in v) for k, v in runs.items()}
    on = runs["people+text"][-1] if "people+text" in runs else next(iter(runs.values()))[-1]
    out = {"machine": machine(), "n": args.n, "repeat": args.repeat, "detector_load_s": round(faces_load, 3),
           "reader_load_s": round(text_load, 3), "median_images_per_s": med,
           "drop": {k: round(1 - v / med["off"], 4) for k, v in med.items() if k != "off"} if "off" in med else {},
           "photos_with_faces": on["photos_with_faces"], "photos_with_text": on["photos_with_text"],
           "looked_for_text": on["looked_for_text"], "runs": runs}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{args.n} photos, 12 MP, median of {args.repeat} interleaved runs")
        for k, v in med.items():
            print(f"  {k:12s} {v:7.2f} img/s")
        for k, v in out["drop"].items():
            print(f"  drop with {k}: {v:.1%}" + (" (bar <= 15%)" if k == "people+text" else ""))
        print(f"  faces in {out['photos_with_faces']} photos; text read in {out['photos_with_text']} "
              f"(gate: {out['looked_for_text']} looked at); detector load {faces_load:.2f} s, reader {text_load:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
