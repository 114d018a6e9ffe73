"""Your words are found: tags typed with `tagger tag` and keywords read from XMP sidecars rank their photos first.

    python bench/your_words.py [--json] [--seed N] [--keep DIR]

Bar (issue 13, "Tags"): a catalog of the Caltech-101 test photos with 5 made-up words x 10 photos each added through
`tagger tag`: `search WORD` gives P@10 = 1.0 for each, with no training; the same for 5 keywords written into XMP
sidecars and imported by `tagger index`.

1. A library in a temp folder (or ``--keep DIR``): all 2,893 photos of ../shared/data/caltech101/test.txt, copied.
2. Ten words, each given to 10 photos drawn at random (``--seed``) from 10 different classes, no photo twice:
   5 keywords written as Lightroom XMP sidecars before ``tagger index`` (real and made-up words, capitals and accents,
   one hierarchical ``Places|Italy|Rome``, and "Airplanes", a real word whose meaning finds the library's ~200
   airplane photos, given to 10 photos that are not airplanes (photos taken from a plane, say): the keyword must
   still come first), then ``tagger index``;
   5 made-up words added by ``tagger tag P1 ... P10 --add WORD`` (one call per word). No ``tagger train``.
3. For each word, P@10 of ``tagger search WORD --json`` (the photos carrying the word among the first 10), the number
   of photos ``match`` flags, and the P@10 of the same query typed differently (case, accents, plural; other levels
   of the hierarchy). Baseline, same run: the ranking by meaning alone (``Library.scores``, what search ranked by
   before issue 13). And whether the tags cost other words anything: P@10 and the match count of six Caltech class
   words (OTHER_WORDS) searched before the tags were added and after.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._benchutil import run_cli as cli
from tests.shared import lightroom_sidecar

CALTECH = ROOT.parent / "shared" / "data" / "caltech101"
PER_WORD = 10

# stored word -> queries typed differently (case, accents, plural, another level of the path)
KEYWORDS = {
    "Places|Italy|Rome": ["rome", "ROME", "Italy", "places"],
    "Café": ["cafe", "CAFÉ", "cafés", "Cafes"],
    "Holidays": ["holiday", "HOLIDAYS", "Holiday"],
    "Zümbelwick": ["zumbelwick", "ZÜMBELWICK", "Zumbelwicks"],
    "Airplanes": ["airplane", "AIRPLANES", "Airplane"],
}
TAGS = {
    "Blorptik": ["blorptik", "BLORPTIK", "blorptiks"],
    "quonzel": ["Quonzel", "QUONZEL", "quonzels"],
    "Fribbet": ["fribbet", "FRIBBET", "Fribbets"],
    "snarkle": ["Snarkle", "SNARKLE", "snarkles"],
    "vumbo": ["Vumbo", "VUMBO", "vumbos"],
}

# Caltech classes that meaning alone finds: searched before and after the tags, the tags must not hide them
OTHER_WORDS = {"motorbike": "Motorbikes", "leopard": "Leopards", "dalmatian": "dalmatian", "sunflower": "sunflower",
               "helicopter": "helicopter", "grand piano": "grand_piano"}

def draw(files: list[str], words: list[str], seed: int) -> dict[str, list[str]]:
    """For each word, PER_WORD photos from PER_WORD different classes, chosen at random; no photo for two words."""
    rng = random.Random(seed)
    by_class: dict[str, list[str]] = defaultdict(list)
    for rel in files:
        by_class[rel.split("/")[0]].append(rel)
    used: set[str] = set()
    out = {}
    for word in words:
        classes = rng.sample(sorted(by_class), PER_WORD)
        out[word] = [rng.choice([f for f in by_class[c] if f not in used]) for c in classes]
        used.update(out[word])
    return out


def precision(db: Path, query: str, relevant: set[Path], k: int = PER_WORD) -> tuple[float, int]:
    """(P@k of ``tagger search QUERY``, how many photos of the library its ``match`` flag picks)."""
    hits = json.loads(cli("search", query, "--db", str(db), "--limit", "100000", "--json"))
    return sum(Path(h["path"]).resolve() in relevant for h in hits[:k]) / k, sum(h["match"] for h in hits)


def other_words(db: Path, k: int = PER_WORD) -> dict[str, dict]:
    """For each of OTHER_WORDS: P@k of its class and how many photos match (all of them, of any class)."""
    out = {}
    for word, folder in OTHER_WORDS.items():
        hits = json.loads(cli("search", word, "--db", str(db), "--limit", "100000", "--json"))
        out[word] = {"p@10": sum(Path(h["path"]).parent.name == folder for h in hits[:k]) / k,
                     "matches": sum(h["match"] for h in hits)}
    return out


def meaning_only(db: Path, queries: list[str], relevant: dict[str, set[Path]], k: int = PER_WORD) -> dict[str, float]:
    """P@k of the ranking by meaning alone (``Library.scores``): what `tagger search` ranked by before issue 13."""
    from tagger.engine.core import Engine
    from tagger.library.catalog import Catalog
    from tagger.library.search import Library

    with Catalog.open(db) as catalog:
        lib = Library(catalog, Engine.load("lite0"))
        out = {}
        for q in queries:
            ids, raw = lib.scores(q)
            top = ids[np.argsort(-raw, kind="stable")[:k]].tolist()
            paths = catalog.photo_paths(top)
            out[q] = sum(Path(paths[i]).resolve() in relevant[q] for i in top) / k
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--keep", type=Path, help="build the library here and keep it")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="your-words-"))
    try:
        lib, db = work / "photos", work / "catalog.db"
        files = (CALTECH / "test.txt").read_text().split()
        for rel in files:
            if not (lib / rel).exists():
                (lib / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(CALTECH / rel, lib / rel)
        chosen = draw(files, list(KEYWORDS) + list(TAGS), args.seed)
        for word in KEYWORDS:
            for rel in chosen[word]:
                lightroom_sidecar(lib / rel, word)

        t = time.perf_counter()
        cli("index", str(lib), "--db", str(db))
        index_s = time.perf_counter() - t
        others_before = other_words(db)
        t = time.perf_counter()
        for word in TAGS:
            cli("tag", *(str(lib / rel) for rel in chosen[word]), "--add", word, "--db", str(db))
        tag_s = time.perf_counter() - t

        rows, relevant = [], {}
        t = time.perf_counter()
        searches = 0
        for source, words in (("keyword", KEYWORDS), ("tag", TAGS)):
            for word, variants in words.items():
                photos = {(lib / rel).resolve() for rel in chosen[word]}
                query = word.split("|")[-1]
                p, matches = precision(db, query, photos)
                typed = {v: precision(db, v, photos)[0] for v in variants}
                searches += 1 + len(variants)
                relevant[query] = photos
                rows.append({"word": word, "source": source, "query": query, "photos": len(photos),
                             "classes": len({rel.split('/')[0] for rel in chosen[word]}), "p@10": p,
                             "matches": matches, "typed_differently": typed})
        search_s = (time.perf_counter() - t) / searches
        others_after = other_words(db)
        baseline = meaning_only(db, [r["query"] for r in rows], relevant)
        for r in rows:
            r["p@10_meaning_only"] = baseline[r["query"]]
        result = {"test_photos": len(files), "seed": args.seed, "words": rows, "bar": 1.0,
                  "all_p@10_1.0": all(r["p@10"] == 1.0 for r in rows),
                  "all_typed_differently_1.0": all(v == 1.0 for r in rows for v in r["typed_differently"].values()),
                  "other_words": {w: {"before_tags": others_before[w], "after_tags": others_after[w]}
                                  for w in OTHER_WORDS},
                  "trained": False, "index_seconds": round(index_s, 1), "tag_seconds_5_calls": round(tag_s, 1),
                  "search_seconds_mean": round(search_s, 2)}
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    print(f"{result['test_photos']} Caltech test photos, {PER_WORD} photos per word from {PER_WORD} classes "
          f"(seed {args.seed}), no training")
    print(f"{'word':<20} {'source':<8} {'P@10':>5} {'meaning only':>12} {'matches':>7}  typed differently (P@10)")
    for r in rows:
        typed = ", ".join(f"{q} {p:.1f}" for q, p in r["typed_differently"].items())
        print(f"{r['word']:<20} {r['source']:<8} {r['p@10']:5.1f} {r['p@10_meaning_only']:12.1f} "
              f"{r['matches']:7d}  {typed}")
    print("other words, meaning alone (P@10 of their class, photos matching): before the tags -> after")
    for w, r in result["other_words"].items():
        b, a = r["before_tags"], r["after_tags"]
        print(f"  {w:<12} P@10 {b['p@10']:.1f} -> {a['p@10']:.1f}, matches {b['matches']} -> {a['matches']}")
    print(f"bar P@10 = 1.0 for every word: {'met' if result['all_p@10_1.0'] else 'MISSED'}; typed differently: "
          f"{'all 1.0' if result['all_typed_differently_1.0'] else 'NOT all 1.0'}")
    print(f"index {result['index_seconds']} s, 5 tag calls {result['tag_seconds_5_calls']} s, "
          f"one search {result['search_seconds_mean']} s (a CLI call in-process)")


if __name__ == "__main__":
    main()
