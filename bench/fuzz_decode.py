"""Fuzzing the indexer's decode path with mutated real photos: no crash, no hang, every file accounted for.

    python bench/fuzz_decode.py [--files 1000] [--seed 0] [--limit 5] [--no-index] [--keep DIR] [--json]

1. Corpus: ``--files`` mutants of the image files in ../shared/data/photo_folder (JPEG, PNG, GIF, WebP, TIFF,
   HEIC, AVIF, BMP...; broken ones included), made with a seeded RNG, cycling through the mutations: bit flips
   (1-64 bits), random byte runs, truncations (anywhere, also to 0 bytes), header swaps (the first 2-64 bytes of a
   file of another format), header-field corruption (JPEG SOF and PNG IHDR sizes set to huge or zero values; TIFF
   IFD offsets), zeroed runs, and duplicated slices. Each mutant is named after its number, mutation and source.
2. Guarded worker: a separate Python process runs the indexer's own per-file path (``_read_and_decode``: read,
   hash, keywords, decode to network input and thumbnail) on one file at a time; the parent waits at most
   ``--limit`` seconds (5) for each answer. A worker that dies is a crash (its signal is recorded), one that does
   not answer in time is a hang (it is killed); either way a fresh worker takes the next file. Each file ends up
   indexed, failed with a reason, crash or hang.
3. The real indexer (``Indexer.index`` with the model) then indexes the whole corpus folder in one run: it must
   finish, find every file, and record each as indexed or failed with a reason, agreeing with step 2.
Prints a summary, or with --json one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.shared import PHOTO_FOLDER

MUTATIONS = ("bitflip", "bytes", "truncate", "header_swap", "header_field", "zero_run", "duplicate")
SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".tif", ".tiff", ".heic", ".heif", ".avif", ".bmp"}
MAX_SEED_BYTES = 4_000_000  # keeps a 1,000-file corpus small on disk and quick to decode

WORKER = r"""
import json, os, sys, time
from pathlib import Path
from tagger.library.catalog import Root
from tagger.engine.imageio import Preprocessing
from tagger.library.indexer import FoundFile, _read_and_decode

folder = sys.argv[1]
root, prep = Root(0, Path(folder)), Preprocessing()
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    name = line.rstrip("\n")
    st = os.stat(os.path.join(folder, name))
    t = time.perf_counter()
    d = _read_and_decode(root, FoundFile(os.fsencode(name), st.st_size, st.st_mtime_ns), prep, {})
    print(json.dumps({"name": name, "status": "indexed" if d.photo is not None else "failed", "reason": d.reason,
                      "seconds": time.perf_counter() - t}), flush=True)
"""


def seed_files(folder: Path = PHOTO_FOLDER) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                  and 0 < p.stat().st_size <= MAX_SEED_BYTES)


def mutate(data: bytes, kind: str, rng: random.Random, other: bytes) -> bytes:
    """One mutation of ``data`` (``other``: a file of another format, for header swaps)."""
    buf = bytearray(data)
    n = len(buf)
    if n == 0:
        return bytes(rng.randbytes(rng.randint(1, 64)))
    if kind == "bitflip":
        for _ in range(rng.randint(1, 64)):
            i = rng.randrange(min(n, 4096) if rng.random() < 0.5 else n)  # headers first, half of the time
            buf[i] ^= 1 << rng.randrange(8)
    elif kind == "bytes":
        i = rng.randrange(n)
        run = rng.randint(1, 64)
        buf[i:i + run] = rng.randbytes(min(run, n - i))
    elif kind == "truncate":
        return bytes(buf[:rng.randrange(n)])
    elif kind == "header_swap":
        k = rng.randint(2, 64)
        return bytes(other[:k]) + bytes(buf[k:])
    elif kind == "header_field":
        return _corrupt_header(buf, rng)
    elif kind == "zero_run":
        i = rng.randrange(n)
        run = rng.randint(1, 4096)
        buf[i:i + run] = bytes(min(run, n - i))
    elif kind == "duplicate":
        i = rng.randrange(n)
        j = min(n, i + rng.randint(1, 4096))
        k = rng.randrange(n)
        buf[k:k] = buf[i:j]
    return bytes(buf)


def _corrupt_header(buf: bytearray, rng: random.Random) -> bytes:
    """Image sizes and offsets are where decoders trust the file most: set them to huge, zero or random values."""
    value = rng.choice([0, 1, 0xFFFF, 0x7FFF, 0x8000, rng.randrange(1 << 16)])
    if buf[:3] == b"\xff\xd8\xff":  # JPEG: height/width of the first SOF segment
        for marker in (b"\xff\xc0", b"\xff\xc2", b"\xff\xc1"):
            i = buf.find(marker)
            if 0 < i < len(buf) - 9:
                struct.pack_into(">H", buf, i + 5 + rng.randrange(2) * 2, value)
                return bytes(buf)
    if buf[:8] == b"\x89PNG\r\n\x1a\n" and len(buf) > 24:  # PNG: IHDR width or height (the CRC is left stale)
        struct.pack_into(">I", buf, 16 + rng.randrange(2) * 4, rng.choice([0, 1 << 31, 0xFFFFFFFF, value]))
        return bytes(buf)
    if buf[:4] in (b"II*\x00", b"MM\x00*") and len(buf) > 8:  # TIFF: the first IFD offset
        fmt = "<I" if buf[:2] == b"II" else ">I"
        struct.pack_into(fmt, buf, 4, rng.choice([0, 8, len(buf) - 2, 0xFFFFFFF0, rng.randrange(len(buf))]))
        return bytes(buf)
    if buf[:6] in (b"GIF87a", b"GIF89a") and len(buf) > 10:  # GIF: logical screen size
        struct.pack_into("<H", buf, 6 + rng.randrange(2) * 2, value)
        return bytes(buf)
    i = rng.randrange(min(len(buf), 64))
    buf[i:i + 4] = struct.pack(">I", rng.choice([0, 0xFFFFFFFF, 0x7FFFFFFF]))[:len(buf) - i]
    return bytes(buf)


def make_corpus(dest: Path, n: int, seed: int = 0, sources: list[Path] | None = None) -> list[dict]:
    """Write ``n`` mutants into ``dest``; returns [{name, mutation, source}] (deterministic for a seed)."""
    rng = random.Random(seed)
    sources = sources or seed_files()
    if not sources:
        raise FileNotFoundError(f"no seed images under {PHOTO_FOLDER}")
    datas = {p: p.read_bytes() for p in sources}
    dest.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        src = sources[i % len(sources)] if i < len(sources) else rng.choice(sources)
        kind = MUTATIONS[i % len(MUTATIONS)]
        others = [p for p in sources if p.suffix.lower() != src.suffix.lower()] or sources
        data = mutate(datas[src], kind, rng, datas[rng.choice(others)])
        name = f"{i:05d}_{kind}_{src.stem[:40]}{src.suffix.lower()}"
        (dest / name).write_bytes(data)
        out.append({"name": name, "mutation": kind, "source": str(src.relative_to(PHOTO_FOLDER))})
    return out


class GuardedDecoder:
    """The indexer's per-file decode path in a worker process, one file at a time, each with a time limit."""

    def __init__(self, folder: Path, limit: float = 5.0):
        self.folder, self.limit = folder, limit
        self.proc: subprocess.Popen | None = None
        self.restarts = 0

    def _start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", WORKER, str(self.folder)], cwd=ROOT, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     bufsize=1)
        if not select.select([self.proc.stdout], [], [], 120)[0] or "ready" not in self.proc.stdout.readline():
            raise RuntimeError("the decode worker did not start")

    def decode(self, name: str) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        t0 = time.perf_counter()
        try:
            self.proc.stdin.write(name + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            return self._lost(name, t0)
        if not select.select([self.proc.stdout], [], [], self.limit)[0]:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            self.restarts += 1
            return {"name": name, "status": "hang", "reason": f"no answer within {self.limit} s",
                    "seconds": time.perf_counter() - t0}
        line = self.proc.stdout.readline()
        if not line:
            return self._lost(name, t0)
        return json.loads(line)

    def _lost(self, name: str, t0: float) -> dict:
        code = self.proc.wait()
        self.proc = None
        self.restarts += 1
        return {"name": name, "status": "crash", "reason": f"worker died (exit {code})",
                "seconds": time.perf_counter() - t0}

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)


def fuzz(folder: Path, names: list[str], limit: float = 5.0, log=None) -> list[dict]:
    guard = GuardedDecoder(folder, limit)
    results = []
    try:
        for i, name in enumerate(names):
            results.append(guard.decode(name))
            if log and (i + 1) % 100 == 0:
                log(f"  {i + 1}/{len(names)} decoded")
    finally:
        guard.close()
    return results


def index_corpus(folder: Path, db: Path, engine=None) -> dict:
    """The real indexer over the corpus: must finish and record every file as indexed or failed with a reason."""
    from tagger.library.catalog import Catalog
    from tagger.library.indexer import Indexer

    if engine is None:
        from tagger.engine.core import Engine

        engine = Engine.load("lite0")
    with Catalog.open(db) as cat:
        stats = Indexer(cat, engine).index([folder])
        rows = {os.fsdecode(bytes(k)): (st, r) for k, st, r in
                cat.db.execute("SELECT path_key, status, reason FROM photos")}
    return {"scanned": stats.scanned, "indexed": stats.indexed, "failed": stats.failed, "rows": rows,
            "seconds": round(stats.seconds, 2)}


def summarize(corpus: list[dict], results: list[dict], indexed: dict | None) -> dict:
    by_name = {r["name"]: r for r in results}
    outcome = Counter(r["status"] for r in results)
    kinds: dict[str, Counter] = {}
    for c in corpus:
        kinds.setdefault(c["mutation"], Counter())[by_name[c["name"]]["status"]] += 1
    reasons = Counter((r["reason"] or "").split(" (")[0] for r in results if r["status"] == "failed")
    times = sorted(r["seconds"] for r in results)
    out = {
        "files": len(results), "indexed": outcome["indexed"], "failed": outcome["failed"],
        "crashes": outcome["crash"], "hangs": outcome["hang"],
        "failed_without_reason": sum(1 for r in results if r["status"] == "failed" and not r["reason"]),
        "max_seconds": round(times[-1], 3) if times else 0.0,
        "p99_seconds": round(times[int(0.99 * (len(times) - 1))], 3) if times else 0.0,
        "by_mutation": {k: dict(v) for k, v in sorted(kinds.items())},
        "failure_reasons": dict(reasons.most_common(12)),
        "crash_or_hang_files": [r for r in results if r["status"] in ("crash", "hang")],
    }
    if indexed is not None:
        rows = indexed["rows"]
        disagree = [n for n, r in by_name.items() if r["status"] in ("indexed", "failed")
                    and rows.get(n, ("missing",))[0] != r["status"]]
        out["indexer"] = {
            "scanned": indexed["scanned"], "indexed": indexed["indexed"], "failed": indexed["failed"],
            "seconds": indexed["seconds"],
            "every_file_recorded": indexed["scanned"] == len(results) == len(rows)
            and all(st in ("indexed", "failed") for st, _ in rows.values()),
            "failed_without_reason": sum(1 for st, r in rows.values() if st == "failed" and not r),
            "disagreements_with_worker": disagree[:20],
        }
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=float, default=5.0, help="seconds a file may take before it counts as a hang")
    ap.add_argument("--no-index", action="store_true", help="skip step 3 (the real indexer with the model)")
    ap.add_argument("--keep", type=Path, help="write the corpus here and keep it (default: a temp dir)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not PHOTO_FOLDER.is_dir():
        print(f"shared photo folder not found at {PHOTO_FOLDER}", file=sys.stderr)
        return 2
    log = (lambda m: print(m, file=sys.stderr)) if args.json else print
    work = args.keep or Path(tempfile.mkdtemp(prefix="tagger-fuzz-"))
    folder = work / "corpus"
    t0 = time.perf_counter()
    corpus = make_corpus(folder, args.files, args.seed)
    log(f"corpus: {len(corpus)} mutants of {len(seed_files())} files in {time.perf_counter() - t0:.1f} s ({folder})")
    results = fuzz(folder, [c["name"] for c in corpus], args.limit, log)
    indexed = None if args.no_index else index_corpus(folder, work / "fuzz.db")
    out = {"seed": args.seed, "limit_s": args.limit, **summarize(corpus, results, indexed),
           "seconds": round(time.perf_counter() - t0, 1)}
    ok = (out["crashes"] == out["hangs"] == out["failed_without_reason"] == 0
          and (indexed is None or (out["indexer"]["every_file_recorded"]
                                   and not out["indexer"]["failed_without_reason"]
                                   and not out["indexer"]["disagreements_with_worker"])))
    out["ok"] = ok
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print(f"{out['files']} fuzzed files: {out['indexed']} indexed, {out['failed']} failed with a reason, "
              f"{out['crashes']} crashes, {out['hangs']} hangs (limit {args.limit:g} s); "
              f"slowest {out['max_seconds']} s, p99 {out['p99_seconds']} s")
        for kind, counts in out["by_mutation"].items():
            print(f"  {kind:<13} {counts}")
        print("  reasons: " + "; ".join(f"{k} ({v})" for k, v in out["failure_reasons"].items()))
        if indexed is not None:
            i = out["indexer"]
            print(f"indexer: {i['scanned']} found, {i['indexed']} indexed, {i['failed']} failed in {i['seconds']} s; "
                  f"every file recorded: {i['every_file_recorded']}; "
                  f"disagreements: {len(i['disagreements_with_worker'])}")
        print(f"{'OK' if ok else 'FAILED'} in {out['seconds']} s (seed {args.seed})")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
