"""Re-indexing an unchanged library: how long `index` takes when nothing changed (10k photos).

    python bench/reindex.py [--files 10000] [--runs 5] [--cli-runs 3] [--json]

Target (issue): re-running `index` on an unchanged 10k-photo library <= 3 s.

1. Library: ``--files`` distinct small real JPEGs (5-20 KB) in nested folders of 100 (g00/f000/IMG_00000.jpg),
   made in ~1 s from 16 noise templates, each file made distinct by a COM segment carrying its number; cached in
   bench/out/reindex_library/ (``--fresh`` regenerates).
2. Catalog: a fresh catalog in a temp dir populated WITHOUT the model: one ``PhotoRecord`` per file with its real
   size and mtime_ns, status 'indexed', a random unit embedding (the engine's word-space dim), random features (1,280),
   top-T classes/probabilities (T = engine.top_t) and 32 automatic tags, written with ``Catalog.write_batch`` under
   the engine's model id and backbone, so the indexer sees every file as already indexed (write time reported).
3. Timed, ``--runs`` times each, interleaved (medians): the bare walk ``tagger.library.indexer.scan`` alone,
   ``os.walk`` + stat of every file, the catalog query ``Catalog.known_files``, and
   ``Indexer(catalog, engine).index([root])`` (must find every file unchanged and decode none). The ratio
   indexer / scan is the overhead of the catalog comparison.
4. The command a user runs, ``python -m tagger index --db CATALOG ROOT --json`` in a fresh process, ``--cli-runs``
   times: interpreter start, imports and ``Engine.load`` included (reported split where measurable).
Prints a table, or with --json one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._benchutil import cpu_sample, cpu_usage, machine, summary_ms, wait_for_quiet
from tagger.engine.imageio import decode_photo
from tagger.library.catalog import Catalog, PhotoRecord
from tagger.library.indexer import AUTO_TAGS_PER_PHOTO, Indexer, scan

RECIPE = "v2 16 templates, COM segment id, 100 per folder, g/f nesting"
PER_FOLDER = 100


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- the library


def templates(k: int = 16, seed: int = 0) -> list[bytes]:
    """Small JPEGs of 5-20 KB: smooth colour gradients plus noise, sizes 192x144..320x240, quality 80-90."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(k):
        w = int(rng.integers(192, 321)) // 8 * 8
        h = w * 3 // 4
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        base = np.stack([(xx / w) * rng.uniform(60, 200), (yy / h) * rng.uniform(60, 200),
                         np.full_like(xx, rng.uniform(40, 200))], axis=2)
        img = np.clip(base + rng.normal(0, rng.uniform(6, 12), base.shape), 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "JPEG", quality=int(rng.integers(80, 91)))
        out.append(buf.getvalue())
    return out


def with_comment(jpeg: bytes, text: bytes) -> bytes:
    """The same JPEG with a COM segment right after SOI: a distinct file (and content hash) that decodes identically."""
    assert jpeg[:2] == b"\xff\xd8"
    return jpeg[:2] + b"\xff\xfe" + struct.pack(">H", len(text) + 2) + text + jpeg[2:]


def library_paths(n: int) -> list[str]:
    return [f"g{i // (PER_FOLDER * 10):02d}/f{i // PER_FOLDER:03d}/IMG_{i:05d}.jpg" for i in range(n)]


def ensure_library(folder: Path, n: int, fresh: bool = False) -> tuple[float | None, Path]:
    """The library in ``folder`` (re)generated if needed; returns (seconds spent generating or None, folder)."""
    meta = {"recipe": RECIPE, "files": n}
    meta_path = folder.parent / (folder.name + ".json")
    if not fresh and meta_path.exists() and json.loads(meta_path.read_text()) == meta and folder.is_dir():
        return None, folder
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    start = time.perf_counter()
    tpl = templates()
    made = set()
    for i, rel in enumerate(library_paths(n)):
        d = os.path.dirname(rel)
        if d not in made:
            os.makedirs(folder / d, exist_ok=True)
            made.add(d)
        with open(folder / rel, "wb") as fh:
            fh.write(with_comment(tpl[i % len(tpl)], f"tagger reindex bench photo {i}".encode()))
    seconds = time.perf_counter() - start
    meta_path.write_text(json.dumps(meta))
    return seconds, folder


# ---------------------------------------------------------------------------- the catalog


def populate(catalog: Catalog, library: Path, engine, seed: int = 0, chunk: int = 1000) -> dict:
    """One 'indexed' row per file with real size/mtime and synthetic vectors, without running the model."""
    rng = np.random.default_rng(seed)
    root = catalog.add_root(library)
    found = list(scan(root.path))
    dim, t = engine.word_space.dim, engine.top_t
    feat_dim = int(engine.manifest["backbone"]["feature_dim"])
    texts = engine.tag_set.texts
    start = time.perf_counter()
    for lo in range(0, len(found), chunk):
        part = found[lo:lo + chunk]
        m = len(part)
        emb = rng.standard_normal((m, dim)).astype(np.float32)
        emb /= np.linalg.norm(emb, axis=1, keepdims=True)
        feats = rng.standard_normal((m, feat_dim)).astype(np.float32)
        classes = np.argsort(rng.random((m, 1000)), axis=1)[:, :t].astype(np.int16)
        probs = rng.dirichlet(np.full(t, 0.3), m).astype(np.float32)
        probs = -np.sort(-probs, axis=1)
        tags = rng.integers(0, len(texts), (m, AUTO_TAGS_PER_PHOTO))
        records = [PhotoRecord(
            root.id, f.path_key, f.size, f.mtime_ns, "indexed", hash=os.urandom(16).hex(), width=200, height=150,
            format="JPEG", features=feats[i], top_classes=classes[i], top_probs=probs[i], embedding=emb[i],
            auto_tags=[(texts[j], float(1.0 - k / AUTO_TAGS_PER_PHOTO)) for k, j in enumerate(dict.fromkeys(tags[i]))],
        ) for i, f in enumerate(part)]
        catalog.write_batch(records, engine.backbone, engine.model_id)
    return {"rows": len(found), "write_s": round(time.perf_counter() - start, 3), "root_id": root.id}


# ---------------------------------------------------------------------------- timings


def walk_stat(folder: Path) -> int:
    n = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            os.stat(os.path.join(dirpath, name))
            n += 1
    return n


def cli_run(db: Path, library: Path) -> dict:
    """`python -m tagger index --db DB ROOT --json` in a fresh process, with its own import and engine-load split."""
    probe = (
        "import time, sys, json; t0 = time.perf_counter()\n"
        "from tagger import cli\n"
        "import tagger.engine.core, tagger.library.indexer\n"
        "t1 = time.perf_counter()\n"
        "from tagger.engine.core import Engine\n"
        "Engine.load()\n"
        "t2 = time.perf_counter()\n"
        "print(json.dumps({'imports_s': t1 - t0, 'engine_load_s': t2 - t1}), file=sys.stderr)\n"
    )
    env = {**os.environ, "TAGGER_DEVICE": "cpu", "PYTHONDONTWRITEBYTECODE": "1"}
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "tagger", "index", "--db", str(db), str(library), "--json"],
                          capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"tagger index failed: {proc.stderr[-2000:]}")
    out = json.loads(proc.stdout)
    start = time.perf_counter()
    p2 = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT)
    probe_wall = time.perf_counter() - start
    split = json.loads(p2.stderr.strip().splitlines()[-1]) if p2.returncode == 0 else {}
    return {"wall_s": wall, "index_s": out["seconds"], "unchanged": out["unchanged"], "indexed": out["indexed"],
            "probe_wall_s": probe_wall, **split}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cli-runs", type=int, default=3)
    ap.add_argument("--library", type=Path, default=ROOT / "bench" / "out" / "reindex_library")
    ap.add_argument("--fresh", action="store_true", help="regenerate the library")
    ap.add_argument("--quiet-wait", type=float, default=20.0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    started = time.perf_counter()

    gen_s, library = ensure_library(args.library.resolve(), args.files, args.fresh)
    sizes = [os.path.getsize(library / p) for p in library_paths(args.files)[:: max(1, args.files // 500)]]
    sample = [library / p for p in library_paths(args.files)[:: max(1, args.files // 20)]]
    from tagger.engine.imageio import Preprocessing

    decodes_ok = sum(1 for p in sample if decode_photo(p.read_bytes(), Preprocessing()) is not None)

    from tagger.engine.core import Engine

    t = time.perf_counter()
    engine = Engine.load()
    engine_load_s = time.perf_counter() - t

    with tempfile.TemporaryDirectory(prefix="tagger-reindex-") as tmp:
        db = Path(tmp) / "catalog.db"
        t = time.perf_counter()
        catalog = Catalog.open(db)
        open_s = time.perf_counter() - t
        log(f"populating a catalog with {args.files} rows (no model) ...")
        pop = populate(catalog, library, engine)
        catalog.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db_bytes = db.stat().st_size

        timings: dict[str, list[float]] = {"scan": [], "os_walk_stat": [], "known_files": [], "indexer": []}
        usage: dict[str, list[dict]] = {k: [] for k in timings}
        check = {}
        for run in range(args.runs + 1):  # run 0 warms the dentry/inode and page caches, not recorded
            wait_for_quiet(args.quiet_wait, log=log)
            for name in timings:
                a = cpu_sample()
                if name == "scan":
                    n = sum(1 for _ in scan(library))
                elif name == "os_walk_stat":
                    n = walk_stat(library)
                elif name == "known_files":
                    n = len(catalog.known_files(pop["root_id"], engine.model_id))
                else:
                    stats = Indexer(catalog, engine).index([library])
                    n = stats.scanned
                    check = {"scanned": stats.scanned, "unchanged": stats.unchanged, "new": stats.new,
                             "changed": stats.changed, "indexed": stats.indexed, "failed": stats.failed,
                             "gone": stats.gone, "moved": stats.moved, "stats_seconds": round(stats.seconds, 4)}
                b = cpu_sample()
                if n != args.files:
                    raise RuntimeError(f"{name} saw {n} files, expected {args.files}")
                if run:
                    timings[name].append(b.wall - a.wall)
                    usage[name].append(cpu_usage(a, b))
        if check["unchanged"] != args.files or check["indexed"] or check["failed"] or check["new"]:
            raise RuntimeError(f"the indexer did not see an unchanged library: {check}")
        catalog.close()

        cli = []
        for i in range(args.cli_runs):
            wait_for_quiet(args.quiet_wait, log=log)
            log(f"tagger index in a fresh process ({i + 1}/{args.cli_runs}) ...")
            cli.append(cli_run(db, library))

    med = {k: statistics.median(v) for k, v in timings.items()}
    result = {
        "library": {"files": args.files, "folders": args.files // PER_FOLDER, "per_folder": PER_FOLDER,
                    "generated_s": None if gen_s is None else round(gen_s, 2), "cached": gen_s is None,
                    "mean_file_bytes": round(statistics.mean(sizes)), "min_file_bytes": min(sizes),
                    "max_file_bytes": max(sizes), "sample_decoded_ok": f"{decodes_ok}/{len(sample)}",
                    "path": str(library)},
        "catalog": {"rows": pop["rows"], "populate_write_s": pop["write_s"], "open_s": round(open_s, 4),
                    "bytes": db_bytes, "embedding_dim": engine.word_space.dim, "top_t": engine.top_t},
        "engine_load_s": round(engine_load_s, 3),
        "runs": args.runs,
        "timings": {k: summary_ms(v) for k, v in timings.items()},
        "foreign_cores_max": {k: max((u.get("foreign_cores") or 0) for u in v) for k, v in usage.items()},
        "indexer_check": check,
        "files_per_s": {k: round(args.files / v) for k, v in med.items()},
        "ratios": {"indexer_vs_scan": round(med["indexer"] / med["scan"], 3),
                   "indexer_vs_os_walk_stat": round(med["indexer"] / med["os_walk_stat"], 3),
                   "scan_vs_os_walk_stat": round(med["scan"] / med["os_walk_stat"], 3),
                   "known_files_share_of_indexer": round(med["known_files"] / med["indexer"], 3)},
        "cli": {"runs": cli, "median_wall_s": round(statistics.median(c["wall_s"] for c in cli), 3) if cli else None,
                "median_index_s": round(statistics.median(c["index_s"] for c in cli), 3) if cli else None,
                "median_imports_s": round(statistics.median(c.get("imports_s", 0) for c in cli), 3) if cli else None,
                "median_engine_load_s": round(statistics.median(c.get("engine_load_s", 0) for c in cli), 3)
                if cli else None},
        "target_3s": {"indexer_call": med["indexer"] <= 3.0,
                      "cli_process": (statistics.median(c["wall_s"] for c in cli) <= 3.0) if cli else None},
        "machine": machine(),
        "bench_seconds": round(time.perf_counter() - started, 1),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_report(result)
    return 0


def print_report(r: dict) -> None:
    lib, cat = r["library"], r["catalog"]
    made = "cached" if lib["cached"] else f"generated in {lib['generated_s']} s"
    print(f"library: {lib['files']} JPEGs in {lib['folders']} folders, mean {lib['mean_file_bytes'] / 1000:.1f} KB "
          f"({lib['min_file_bytes'] / 1000:.1f}-{lib['max_file_bytes'] / 1000:.1f} KB), {made}; "
          f"sample decoded {lib['sample_decoded_ok']}")
    print(f"catalog: {cat['rows']} rows written in {cat['populate_write_s']} s without the model "
          f"({cat['bytes'] / 1e6:.1f} MB); engine load {r['engine_load_s']} s")
    print(f"\nmedian of {r['runs']} runs:")
    for k, t in r["timings"].items():
        print(f"  {k:<14}{t['median_ms']:>9.1f} ms  (p90 {t['p90_ms']:.1f}, max {t['max_ms']:.1f})  "
              f"{r['files_per_s'][k]:>9} files/s")
    ra = r["ratios"]
    print(f"indexer / scan = {ra['indexer_vs_scan']:.2f}x, "
          f"indexer / os.walk+stat = {ra['indexer_vs_os_walk_stat']:.2f}x, "
          f"known_files = {ra['known_files_share_of_indexer']:.0%} of the indexer call")
    print(f"indexer check: {r['indexer_check']}")
    c = r["cli"]
    if c["runs"]:
        print(f"`python -m tagger index` in a fresh process: {c['median_wall_s']:.2f} s wall (index itself "
              f"{c['median_index_s']:.2f} s; imports {c['median_imports_s']:.2f} s, "
              f"Engine.load {c['median_engine_load_s']:.2f} s)")
    print(f"target <= 3 s: {r['target_3s']}")


if __name__ == "__main__":
    raise SystemExit(main())
