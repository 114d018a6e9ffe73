"""Free-text query latency and memory with 100k and 1M stored photos (synthetic vectors), against bare numpy.

    python bench/query_latency.py [--sizes 100000,1000000] [--repeat 5] [--json]

Targets (issue): median query latency <= 10 ms with 100k photos and <= 50 ms with 1M, with the memory it takes.

For each size N:
1. Synthetic table, the way ``Library.table()`` holds it: ids 1..N, unit random vectors of the engine's word-space
   dim (float32), top-T ImageNet classes per photo (int16, distinct, drawn from a Zipf-like popularity over the 1,000
   classes so a few classes dominate, as in real libraries), their probabilities (float32, Dirichlet, sorted,
   renormalised, rounded through float16 as the catalog stores them), and the sparse evidence matrix ``table()``
   builds. Memory: bytes of these arrays, the growth of VmRSS while building them (after malloc_trim, so freed
   temporaries do not count) and the peak VmRSS above that while the queries run (temporaries per query).
2. A real catalog holding the same photo ids, so ``search()`` resolves paths and ``Library`` checks the catalog's data
   version as it does for every query: for 100k a full catalog written with ``Catalog.write_batch`` from the same
   arrays (write time reported; its ``Catalog.embedding_table`` load, the cold-start cost of a search in a new
   process, is timed and checked to equal the arrays); for 1M only the ``photos`` rows (raw INSERTs: a 1M-row
   write_batch catalog would take ~4 min and ~7 GB), vectors injected.
3. The table injected into ``tagger.library.search.Library`` (``_table``, ``_evidence``, ``_version`` set as ``table()``
   sets them), then ~30 realistic queries (ImageNet nouns, generic words, a zero-shot word, multi-word, typos), each
   timed ``--repeat`` times, interleaved: ``scores()``, top-20 (argpartition + sort as ``Library._top``, no paths),
   ``search(q, 20)`` (paths included) and the catalog data-version check alone. Same run, same matrix: the baseline,
   bare numpy brute force (``vectors @ q`` + argpartition + sort of the top 20, query vector given), and ``search()``
   through a Library whose version check uses ``PRAGMA data_version`` (a proposed fix, bench-local).
The first query of a process (WordNet and word-space warm-up) is reported separately.
Prints a table, or with --json one JSON object.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import sparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._benchutil import (
    machine,
    malloc_trim,
    peak_rss_bytes,
    reset_peak_rss,
    rss_bytes,
    summary_ms,
    wait_for_quiet,
)
from tagger.engine.core import Engine
from tagger.library.catalog import Catalog, EmbeddingTable, PhotoRecord
from tagger.library.indexer import AUTO_TAGS_PER_PHOTO
from tagger.library.search import Library

QUERIES = [
    # ImageNet-ish nouns
    "dog", "cat", "boat", "car", "pizza", "guitar", "airplane", "bicycle", "horse", "bird", "sunflower", "piano",
    "laptop", "umbrella", "castle",
    # generic words (many classes each)
    "animal", "vehicle", "food", "furniture", "musical instrument",
    # zero-shot / rare
    "okapi", "kitesurfing",
    # multi-word
    "boats at sunset", "dog on the beach", "red sports car", "birthday cake with candles", "grand piano", "sea horse",
    # typos
    "pizzza", "bicyle",
]
LIMIT = 20


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def ints(text: str) -> list[int]:
    return [int(x) for x in text.replace("_", "").split(",") if x.strip()]


# ---------------------------------------------------------------------------- synthetic table


def skewed_top_classes(rng: np.random.Generator, n: int, t: int, zipf_s: float = 1.0, offset: float = 5.0,
                       chunk: int = 200_000) -> np.ndarray:
    """(n, t) distinct ImageNet class ids per row, most probable first, from a Zipf-like class popularity."""
    perm = rng.permutation(1000)  # which classes are popular
    p = 1.0 / (np.arange(1000) + offset) ** zipf_s
    cdf = np.cumsum(p / p.sum())
    out = np.empty((n, t), np.int16)
    cand_k = 4 * t
    for lo in range(0, n, chunk):
        m = min(chunk, n - lo)
        cand = perm[np.minimum(np.searchsorted(cdf, rng.random((m, cand_k))), 999)]
        order = np.argsort(cand, axis=1, kind="stable")
        srt = np.take_along_axis(cand, order, axis=1)
        dup_sorted = np.zeros_like(srt, bool)
        dup_sorted[:, 1:] = srt[:, 1:] == srt[:, :-1]
        dup = np.empty_like(dup_sorted)
        np.put_along_axis(dup, order, dup_sorted, axis=1)
        pos = np.where(dup, cand_k, np.arange(cand_k))
        first = np.sort(pos, axis=1)[:, :t]
        short = first[:, -1] == cand_k  # fewer than t distinct draws: fill uniformly (rare)
        first[short] = 0
        rows = np.take_along_axis(cand, first, axis=1)
        for i in np.flatnonzero(short):
            seen = list(dict.fromkeys(cand[i].tolist()))
            extra = [c for c in rng.permutation(1000).tolist() if c not in seen]
            rows[i] = (seen + extra)[:t]
        out[lo:lo + m] = rows
    return out


def synthetic_table(n: int, dim: int, t: int, seed: int = 0) -> EmbeddingTable:
    rng = np.random.default_rng([seed, n])
    ids = np.arange(1, n + 1, dtype=np.int64)
    vectors = np.empty((n, dim), np.float32)
    for lo in range(0, n, 200_000):
        v = rng.standard_normal((min(200_000, n - lo), dim), dtype=np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        vectors[lo:lo + len(v)] = v
    classes = skewed_top_classes(rng, n, t)
    probs = rng.gamma(0.3, size=(n, t)).astype(np.float32) + 1e-6
    probs = -np.sort(-probs, axis=1)
    probs /= probs.sum(axis=1, keepdims=True)
    probs = probs.astype(np.float16).astype(np.float32)  # what the catalog gives back
    return EmbeddingTable(ids, vectors, classes, probs)


def evidence_matrix(t: EmbeddingTable) -> sparse.csc_matrix:
    """Exactly what ``Library.table()`` builds next to the table."""
    n, k = t.top_classes.shape if t.top_classes.size else (len(t.ids), 0)
    rows = np.repeat(np.arange(n), k)
    return sparse.csc_matrix((t.top_probs.ravel(), (rows, t.top_classes.astype(np.int64).ravel())), shape=(n, 1000))


def inject(lib: Library, table: EmbeddingTable, evidence: sparse.csc_matrix) -> None:
    lib._table = table
    lib._evidence = evidence
    lib._version = lib._data_version()


class FastVersionLibrary(Library):
    """Proposed fix (bench-local): an O(1) change check instead of aggregating the whole photos table per query.

    ``PRAGMA data_version`` changes when another connection commits; ``total_changes`` counts this connection's own
    writes. Together they change whenever the catalog may have changed."""

    def _data_version(self) -> tuple:
        conn = self.catalog.db.conn
        return conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes


# ---------------------------------------------------------------------------- catalogs


def write_full_catalog(db: Path, table: EmbeddingTable, engine, auto_tags: bool, chunk: int = 1000) -> dict:
    """A real catalog with these rows, through Catalog.write_batch (ids come out 1..N in order)."""
    rng = np.random.default_rng(1)
    catalog = Catalog.open(db)
    root = catalog.add_root(db.parent)
    feat_dim = int(engine.manifest["backbone"]["feature_dim"])
    texts = engine.tag_set.texts
    start = time.perf_counter()
    n = len(table.ids)
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        feats = rng.standard_normal((hi - lo, feat_dim)).astype(np.float32)
        tags = rng.integers(0, len(texts), (hi - lo, AUTO_TAGS_PER_PHOTO)) if auto_tags else None
        records = [PhotoRecord(
            root.id, f"{i // 1000:04d}/IMG_{i:07d}.jpg".encode(), 2_500_000, 1_700_000_000_000_000_000 + i, "indexed",
            hash=f"{i:032x}", width=4000, height=3000, format="JPEG", features=feats[i - lo],
            top_classes=table.top_classes[i], top_probs=table.top_probs[i], embedding=table.vectors[i],
            auto_tags=[(texts[j], 1.0 - k / AUTO_TAGS_PER_PHOTO) for k, j in enumerate(dict.fromkeys(tags[i - lo]))]
            if auto_tags else (),
        ) for i in range(lo, hi)]
        ids = catalog.write_batch(records, engine.backbone, engine.model_id)
        if ids[0] != table.ids[lo] or ids[-1] != table.ids[hi - 1]:
            raise RuntimeError("catalog ids do not follow the table's ids")
    seconds = time.perf_counter() - start
    catalog.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    catalog.close()
    return {"write_s": round(seconds, 2), "rows_per_s": round(n / seconds), "auto_tags": auto_tags,
            "bytes": db.stat().st_size}


def write_photos_only_catalog(db: Path, n: int, chunk: int = 50_000) -> dict:
    """A catalog whose photos table has ids 1..n (paths, stats, status) and nothing else: enough for search()'s path
    lookup and the data-version check; the vectors are injected."""
    catalog = Catalog.open(db)
    root = catalog.add_root(db.parent)
    start = time.perf_counter()
    now = time.time()
    for lo in range(0, n, chunk):
        rows = [(i + 1, root.id, k := f"{i // 1000:04d}/IMG_{i:07d}.jpg".encode(), k.decode(), 2_500_000,
                 1_700_000_000_000_000_000 + i, f"{i:032x}", 4000, 3000, "JPEG", None, "indexed", None, now)
                for i in range(lo, min(n, lo + chunk))]
        with catalog.transaction():
            catalog.db.conn.executemany(
                "INSERT INTO photos (id, root_id, path_key, rel_path, size, mtime_ns, hash, width, height, format, "
                "taken_at, status, reason, indexed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    seconds = time.perf_counter() - start
    catalog.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    catalog.close()
    return {"write_s": round(seconds, 2), "rows_per_s": round(n / seconds), "photos_only": True,
            "bytes": db.stat().st_size}


# ---------------------------------------------------------------------------- timing


def top_k(ids: np.ndarray, scores: np.ndarray, limit: int = LIMIT) -> np.ndarray:
    """Library._top without the folder filter and the path lookup."""
    k = min(limit, len(ids))
    top = np.argpartition(-scores, k - 1)[:k]
    return top[np.lexsort((ids[top], -scores[top]))]


def brute_force(vectors: np.ndarray, q: np.ndarray, limit: int = LIMIT) -> np.ndarray:
    s = vectors @ q
    top = np.argpartition(-s, limit - 1)[:limit]
    return top[np.argsort(-s[top])]


def measure_size(n: int, engine: Engine, tmp: Path, args, seed: int) -> dict:
    gc.collect()
    malloc_trim()
    rss0 = rss_bytes()
    t0 = time.perf_counter()
    table = synthetic_table(n, engine.word_space.dim, engine.top_t, seed)
    t1 = time.perf_counter()
    evidence = evidence_matrix(table)
    t2 = time.perf_counter()
    gc.collect()
    malloc_trim()  # freed generation temporaries would otherwise count as growth
    rss1 = rss_bytes()
    array_bytes = {"ids": table.ids.nbytes, "vectors": table.vectors.nbytes, "top_classes": table.top_classes.nbytes,
                   "top_probs": table.top_probs.nbytes,
                   "evidence_csc": evidence.data.nbytes + evidence.indices.nbytes + evidence.indptr.nbytes}
    counts = np.bincount(table.top_classes[:, 0].astype(np.int64), minlength=1000)
    skew = {"top1_class_share_of_most_common": round(float(counts.max() / n), 4),
            "top1_share_of_10_most_common_classes": round(float(np.sort(counts)[-10:].sum() / n), 4),
            "classes_never_top1": int((counts == 0).sum())}
    log(f"N={n}: synthetic table {t1 - t0:.1f} s, evidence {t2 - t1:.2f} s, "
        f"{sum(array_bytes.values()) / 1e6:.1f} MB of arrays, RSS +{(rss1 - rss0) / 1e6:.1f} MB")

    db = tmp / f"catalog_{n}" / "catalog.db"
    db.parent.mkdir(parents=True, exist_ok=True)
    cold = None
    if n <= args.full_catalog_max:
        log(f"N={n}: writing a full catalog with write_batch ...")
        written = write_full_catalog(db, table, engine, not args.no_auto_tags)
        cold = cold_start(db, engine, table, args.repeat_load)
    else:
        log(f"N={n}: writing the photos rows only ...")
        written = write_photos_only_catalog(db, n)

    catalog = Catalog.open(db)
    lib = Library(catalog, engine)
    inject(lib, table, evidence)
    fast = FastVersionLibrary(catalog, engine)
    inject(fast, table, evidence)
    if lib.table() is not table or fast.table() is not table:
        raise RuntimeError("the injected table was reloaded: the data version does not match")

    first = None
    if args.first_query:
        start = time.perf_counter()
        lib.search(QUERIES[0], LIMIT)
        first = time.perf_counter() - start
    qvec = {q: engine.word_space.text_vectors([q])[0].astype(np.float32) for q in QUERIES}
    for q in QUERIES:  # warm every query's word-space and WordNet look-ups once
        lib.search(q, LIMIT)
    samples = {k: [] for k in ("scores", "top_k", "scores_plus_top_k", "search", "search_fast_version",
                               "data_version", "baseline_numpy")}
    per_query: dict[str, list[float]] = {q: [] for q in QUERIES}
    per_query_fast: dict[str, list[float]] = {q: [] for q in QUERIES}
    agree = []
    wait_for_quiet(args.quiet_wait, log=log)
    malloc_trim()
    rss_q = rss_bytes()
    peak_ok = reset_peak_rss()
    for _ in range(args.repeat):
        for q in QUERIES:
            a = time.perf_counter()
            ids, scores = lib.scores(q)
            b = time.perf_counter()
            top = top_k(ids, scores)
            c = time.perf_counter()
            hits = lib.search(q, LIMIT)
            d = time.perf_counter()
            fast.search(q, LIMIT)
            e = time.perf_counter()
            lib._data_version()
            f = time.perf_counter()
            base = brute_force(table.vectors, qvec[q])
            g = time.perf_counter()
            samples["scores"].append(b - a)
            samples["top_k"].append(c - b)
            samples["scores_plus_top_k"].append(c - a)
            samples["search"].append(d - c)
            samples["search_fast_version"].append(e - d)
            samples["data_version"].append(f - e)
            samples["baseline_numpy"].append(g - f)
            per_query[q].append(d - c)
            per_query_fast[q].append(e - d)
            r_ids, rel, raw, why = lib.relevance(q)  # what search() ranks by: relevance, the user's words, meaning
            order = np.lexsort((r_ids, -raw, why != 3, -rel))[:LIMIT]
            agree.append([h.photo_id for h in hits] == r_ids[order].tolist())
            del base, top
    if not all(agree):
        raise RuntimeError("search() and relevance() + its ordering disagree")
    catalog.close()
    summ = {k: summary_ms(v) for k, v in samples.items()}
    med = {k: v["median_ms"] for k, v in summ.items()}
    peak_extra = (peak_rss_bytes() - rss_q) if peak_ok else None
    rss2 = rss_bytes()
    del table, evidence, lib, fast
    gc.collect()
    return {
        "n": n,
        "build_s": {"synthetic_arrays": round(t1 - t0, 2), "evidence_matrix": round(t2 - t1, 3)},
        "array_bytes": array_bytes, "array_mb_total": round(sum(array_bytes.values()) / 1e6, 1),
        "rss_growth_mb": round((rss1 - rss0) / 1e6, 1), "rss_after_queries_mb": round(rss2 / 1e6, 1),
        "query_peak_rss_extra_mb": None if peak_extra is None else round(peak_extra / 1e6, 1),
        "class_skew": skew,
        "catalog": written,
        "cold_start_100k": cold,
        "first_query_in_process_ms": None if first is None else round(first * 1000, 1),
        "latency": summ,
        "per_query_median_search_ms": {q: round(statistics.median(v) * 1000, 3) for q, v in per_query.items()},
        "per_query_median_search_fast_version_ms": {q: round(statistics.median(v) * 1000, 3)
                                                    for q, v in per_query_fast.items()},
        "ratios": {"search_vs_baseline": round(med["search"] / med["baseline_numpy"], 2),
                   "scores_plus_top_k_vs_baseline": round(med["scores_plus_top_k"] / med["baseline_numpy"], 2),
                   "search_fast_version_vs_baseline": round(med["search_fast_version"] / med["baseline_numpy"], 2),
                   "data_version_share_of_search": round(med["data_version"] / med["search"], 3)},
    }


def cold_start(db: Path, engine: Engine, table: EmbeddingTable, repeat: int) -> dict:
    """Loading the table from the catalog, as the first search of a new process does (page cache warm)."""
    loads = []
    for _ in range(repeat):
        catalog = Catalog.open(db)
        lib = Library(catalog, engine)
        a = time.perf_counter()
        loaded = catalog.embedding_table(engine.model_id, engine.backbone)
        b = time.perf_counter()
        lib.table()  # embedding_table again + the evidence matrix + the version check
        c = time.perf_counter()
        loads.append((b - a, c - b))
        catalog.close()
    same = (np.array_equal(loaded.ids, table.ids) and np.array_equal(loaded.vectors, table.vectors)
            and np.array_equal(loaded.top_classes, table.top_classes)
            and np.allclose(loaded.top_probs, table.top_probs))
    if not same:
        raise RuntimeError("the catalog's embedding table differs from the synthetic arrays")
    return {"embedding_table_s": round(statistics.median(x[0] for x in loads), 3),
            "library_table_s": round(statistics.median(x[1] for x in loads), 3), "runs": repeat,
            "equals_injected": same, "page_cache": "warm"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=ints, default=[100_000, 1_000_000])
    ap.add_argument("--repeat", type=int, default=5, help="timed passes over the query list")
    ap.add_argument("--repeat-load", type=int, default=3, help="timed embedding-table loads (100k)")
    ap.add_argument("--full-catalog-max", type=int, default=100_000,
                    help="largest size that gets a full write_batch catalog (larger: photos rows only)")
    ap.add_argument("--no-auto-tags", action="store_true", help="write the full catalog without automatic tags")
    ap.add_argument("--quiet-wait", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    started = time.perf_counter()
    rss_start = rss_bytes()
    engine = Engine.load()
    engine.tag_set  # noqa: B018 - for the catalog's automatic tags
    args.first_query = True
    results = []
    with tempfile.TemporaryDirectory(prefix="tagger-query-") as tmp:
        for n in args.sizes:
            results.append(measure_size(n, engine, Path(tmp), args, args.seed))
            args.first_query = False  # only the first size sees a cold process
            r = results[-1]
            log(f"N={n}: search median {r['latency']['search']['median_ms']:.2f} ms, scores+top-k "
                f"{r['latency']['scores_plus_top_k']['median_ms']:.2f} ms, "
                f"numpy {r['latency']['baseline_numpy']['median_ms']:.2f} ms")
    targets = {}
    for r in results:
        if r["n"] == 100_000:
            targets["100k_median_le_10ms"] = r["latency"]["search"]["median_ms"] <= 10.0
        if r["n"] == 1_000_000:
            targets["1M_median_le_50ms"] = r["latency"]["search"]["median_ms"] <= 50.0
    out = {"queries": QUERIES, "limit": LIMIT, "repeat": args.repeat, "sizes": results, "targets": targets,
           "engine": {"model": engine.model_id, "dim": engine.word_space.dim, "top_t": engine.top_t},
           "rss_at_start_mb": round(rss_start / 1e6, 1), "machine": machine(),
           "bench_seconds": round(time.perf_counter() - started, 1)}
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        print_report(out)
    return 0


def print_report(out: dict) -> None:
    print(f"{len(out['queries'])} queries x {out['repeat']} passes, top {out['limit']}; "
          f"dim {out['engine']['dim']}, T {out['engine']['top_t']}")
    for r in out["sizes"]:
        print(f"\nN = {r['n']:,}: arrays {r['array_mb_total']} MB, RSS +{r['rss_growth_mb']} MB (queries: peak "
              f"+{r['query_peak_rss_extra_mb']} MB), "
              f"catalog written in {r['catalog']['write_s']} s ({r['catalog']['bytes'] / 1e6:.0f} MB"
              f"{', photos rows only' if r['catalog'].get('photos_only') else ''})")
        if r["cold_start_100k"]:
            c = r["cold_start_100k"]
            print(f"  cold start: Catalog.embedding_table {c['embedding_table_s']} s, Library.table() "
                  f"{c['library_table_s']} s")
        if r["first_query_in_process_ms"] is not None:
            print(f"  first query in the process: {r['first_query_in_process_ms']} ms")
        print(f"  {'':<22}{'median':>9}{'p90':>9}{'max':>9}  ms")
        for k, v in r["latency"].items():
            print(f"  {k:<22}{v['median_ms']:>9.2f}{v['p90_ms']:>9.2f}{v['max_ms']:>9.2f}")
        ra = r["ratios"]
        print(f"  search / numpy = {ra['search_vs_baseline']}x; scores+top-k / numpy = "
              f"{ra['scores_plus_top_k_vs_baseline']}x; "
              f"with O(1) version check: {ra['search_fast_version_vs_baseline']}x; "
              f"version check = {ra['data_version_share_of_search']:.0%} of search")
        for key, name in (("per_query_median_search_ms", "search"),
                          ("per_query_median_search_fast_version_ms", "with O(1) version check")):
            slow = sorted(r[key].items(), key=lambda kv: -kv[1])[:4]
            print(f"  slowest queries ({name}): " + ", ".join(f"{q!r} {ms:.1f} ms" for q, ms in slow))
    print(f"\ntargets: {out['targets']}")


if __name__ == "__main__":
    raise SystemExit(main())
