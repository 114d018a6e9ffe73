"""Command-line start-up latency: each command in a fresh process against a 10k-photo catalog, next to the floor.

    python bench/cli_latency.py [--runs 7] [--photos 10000] [--source CATALOG.db] [--json]

Issue 16 ("speed"): `search` floor <= 0.3 s on a 10k catalog (warm page cache), `status` floor <= 0.15 s, where the
floor is `python -c pass` timed in the same run (so a busy machine moves both).

The catalog (bench/out/cli10k/catalog-N.db) is built once, cheaply: a small real catalog (by default 48 Caltech-101
photos indexed with `tagger index` into bench/out/cli10k/source.db) is copied and its rows (photos, embeddings,
features, automatic tags, faces, printed text, detections) are repeated under prefixed paths until it holds N photos.
The copies' files do not exist; no command timed here reads a photo except `tags` on an original.

Each command runs --runs times in a fresh `python -m tagger` process, interleaved (so drift hits all alike), after one
untimed warm-up round (page cache, .pyc). Reported: median wall seconds and median minus the floor.

The .pyc files are written even where PYTHONDONTWRITEBYTECODE is set (as in CI and some dev shells), under
bench/out/pycache (PYTHONPYCACHEPREFIX), so the tree stays clean: without them every run compiles all ~250 tagger
modules it imports from source (~0.1 s), which an installed Tagger never does. ``--no-pyc`` times that case.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "cli10k"
CALTECH = ROOT.parent / "shared" / "data" / "caltech101"
SOURCE_CLASSES = ("dalmatian", "ketch", "sunflower", "Faces_easy", "pizza", "grand_piano", "Leopards", "stop_sign")
PER_CLASS = 6
COPIED = ("embeddings", "features", "auto_tags", "faces", "photo_text", "detections")


def build_source() -> Path:
    """A small real catalog: PER_CLASS photos of each SOURCE_CLASSES class, indexed by the real `tagger index`."""
    db = OUT / "source.db"
    if db.exists():
        return db
    photos = OUT / "photos"
    for cls in SOURCE_CLASSES:
        (photos / cls).mkdir(parents=True, exist_ok=True)
        for src in sorted((CALTECH / cls).glob("*.jpg"))[:PER_CLASS]:
            shutil.copy2(src, photos / cls / src.name)
    tmp = OUT / "source.tmp.db"
    tmp.unlink(missing_ok=True)
    subprocess.run([sys.executable, "-m", "tagger", "--db", str(tmp), "index", str(photos)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    (OUT / "source.tmp.thumbnails").rename(OUT / "source.thumbnails")
    tmp.rename(db)
    return db


def build_catalog(source: Path, n: int) -> Path:
    """``source`` copied, its photos repeated under ``copyK/`` paths until the catalog holds ``n`` photos."""
    db = OUT / f"catalog-{n}.db"
    if db.exists():
        return db
    tmp = OUT / f"catalog-{n}.tmp.db"
    tmp.unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(tmp) as dst:
        src.backup(dst)
    con = sqlite3.connect(tmp)
    ids = [r[0] for r in con.execute("SELECT id FROM photos ORDER BY id")]
    top = max(ids)
    copies = -(-n // len(ids)) - 1
    for k in range(1, copies + 1):
        take = min(len(ids), n - len(ids) * k)
        last = ids[take - 1]
        off = k * top
        prefix = f"copy{k:04d}/"
        cols = ("size, mtime_ns, hash, width, height, format, taken_at, status, reason, indexed_at, "
                "sidecar_sig")
        con.execute(f"INSERT INTO photos (id, root_id, path_key, rel_path, {cols}) "
                    f"SELECT id + {off}, root_id, CAST(CAST(? AS TEXT) || CAST(path_key AS TEXT) AS BLOB), "
                    f"? || rel_path, {cols} FROM photos WHERE id <= {last} AND id <= {top}", (prefix, prefix))
        for table in COPIED:
            cols = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
            rest = ", ".join(c for c in cols if c != "photo_id")
            con.execute(f"INSERT INTO {table} (photo_id, {rest}) SELECT photo_id + {off}, {rest} FROM {table} "
                        f"WHERE photo_id <= {last}")
    con.commit()
    got = con.execute("SELECT count(*) FROM photos").fetchone()[0]
    con.close()
    if got != n:
        raise RuntimeError(f"built {got} photos, wanted {n}")
    (OUT / f"catalog-{n}.thumbnails").unlink(missing_ok=True)
    (OUT / f"catalog-{n}.thumbnails").symlink_to((source.parent / (source.stem + ".thumbnails")).resolve())
    tmp.rename(db)
    return db


def commands(db: Path, photo: Path) -> dict[str, list[str]]:
    py = [sys.executable]
    tagger = [*py, "-m", "tagger", "--db", str(db)]
    return {
        "floor (python -c pass)": [*py, "-c", "pass"],
        "tagger --version": [*py, "-m", "tagger", "--version"],
        "status": [*tagger, "status"],
        "search dog": [*tagger, "search", "dog"],
        "search 'boats at sunset'": [*tagger, "search", "boats at sunset"],
        "tags PHOTO": [*tagger, "tags", str(photo)],
    }


def child_env(pyc: bool) -> dict[str, str]:
    """The commands' environment: with ``pyc``, bytecode cached under bench/out/pycache whatever the shell says."""
    env = dict(os.environ)
    if pyc:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(ROOT / "bench" / "out" / "pycache")
    return env


ENV = child_env(True)


def time_once(argv: list[str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV)
    seconds = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def measure(cmds: dict[str, list[str]], runs: int) -> dict[str, list[float]]:
    for argv in cmds.values():  # warm-up: page cache, .pyc, lazily built caches
        time_once(argv)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(runs):
        for name, argv in cmds.items():
            times[name].append(time_once(argv))
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--photos", type=int, default=10_000)
    ap.add_argument("--source", type=Path, help="an indexed catalog to repeat (default: build one from Caltech-101)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-pyc", action="store_true", help="keep the shell's PYTHONDONTWRITEBYTECODE (compile each run)")
    args = ap.parse_args()
    global ENV
    ENV = child_env(not args.no_pyc)
    OUT.mkdir(parents=True, exist_ok=True)
    source = args.source or build_source()
    db = build_catalog(source, args.photos)
    with sqlite3.connect(db) as con:
        root, rel = con.execute("SELECT r.path, p.rel_path FROM photos p JOIN roots r ON r.id = p.root_id "
                                "ORDER BY p.id LIMIT 1").fetchone()
    times = measure(commands(db, Path(root) / rel), args.runs)
    floor = statistics.median(times["floor (python -c pass)"])
    rows = {name: {"median_s": round(statistics.median(ts), 3), "over_floor_s": round(statistics.median(ts) - floor, 3),
                   "min_s": round(min(ts), 3), "runs": [round(t, 3) for t in ts]} for name, ts in times.items()}
    result = {"catalog": str(db), "photos": args.photos, "runs": args.runs, "cpus": os.cpu_count(),
              "pyc": not args.no_pyc, "commands": rows}
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    pyc = "cached .pyc" if not args.no_pyc else "no .pyc (compiled each run)"
    print(f"{args.photos} photos, {args.runs} runs each, {pyc}, median of fresh processes ({db})")
    print(f"{'command':28} {'median s':>9} {'- floor':>8} {'min s':>7}")
    for name, r in rows.items():
        print(f"{name:28} {r['median_s']:9.3f} {r['over_floor_s']:8.3f} {r['min_s']:7.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
