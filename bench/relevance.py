"""Does a `match` mean a match? Precision and recall of the match line on Caltech-101, and words that must not match.

    python bench/relevance.py [--db CATALOG] [--json]

The library: every Caltech-101 photo (train and test lists, 8,677), indexed into a temp catalog (or ``--db``, an
existing catalog of ../shared/data/caltech101, copied first: the bench tags photos and never changes the original).

- **label queries**: the 97 label texts of labels.tsv ("face" covers Faces and Faces_easy); for each, the match set
  over the 2,893 test photos: precision (photos of the label among the matches; a query with no match counts 0) and
  recall, averaged over the queries;
- **absent queries**: 30 words naming things Caltech-101 does not show (``ABSENT``, a reason each): the share that
  match no photo of the whole library.

Both in two states of the same library: *zero-shot* (nothing told), and *labels* (each train photo tagged with its
label through the catalog, as `tagger tag` does, no training run: the instant label scorer), and after `tagger
train` on those tags (the label model of the new version). The time from the tags' commit to the first search's
answer is the "instant" cost.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CALTECH = ROOT.parent / "shared" / "data" / "caltech101"

# things absent from Caltech-101, with why: the share of these with no match is the bar (>= 80%)
ABSENT = {
    "volcano": "a landform; no Caltech class shows mountains or lava",
    "snowboard": "winter sports gear; Caltech has no sports scenes",
    "bicycle": "no Caltech class (motorbikes and wheelchair are)",
    "school bus": "a vehicle Caltech does not have",
    "locomotive": "trains are not in Caltech",
    "tractor": "a farm machine not in Caltech",
    "toaster": "a kitchen appliance not in Caltech",
    "refrigerator": "a kitchen appliance not in Caltech",
    "bathtub": "a bathroom fixture not in Caltech",
    "toilet": "a bathroom fixture not in Caltech",
    "banana": "a fruit not in Caltech (strawberry and pizza are its only food)",
    "broccoli": "a vegetable not in Caltech",
    "hamburger": "a food not in Caltech",
    "wine bottle": "bottles are not a Caltech class",
    "skyscraper": "Caltech's buildings are pagodas and minarets",
    "lighthouse": "a building not in Caltech",
    "castle": "a building not in Caltech",
    "waterfall": "a landscape not in Caltech",
    "penguin": "a bird not in Caltech (emu, flamingo, ibis, pigeon, rooster are)",
    "owl": "a bird not in Caltech",
    "shark": "a fish not in Caltech (dolphins are mammals, and a class)",
    "mushroom": "a fungus not in Caltech",
    "pineapple": "a fruit not in Caltech",
    "bowling ball": "a ball other than Caltech's soccer ball",
    "pumpkin": "a vegetable not in Caltech",
    "kite": "a toy not in Caltech",
    "typewriter": "an office machine not in Caltech (the stapler is)",
    "sewing machine": "a machine not in Caltech",
    "zorblax": "a made-up word: nothing can match it",
    "flurbish": "a made-up word: nothing can match it",
}


def caltech_truth() -> tuple[dict[str, str], set[str], set[str]]:
    """(relative path -> label text, train paths, test paths)."""
    folder_label = dict(line.split("\t") for line in (CALTECH / "labels.tsv").read_text().splitlines()[1:])
    train = set((CALTECH / "train.txt").read_text().split())
    test = set((CALTECH / "test.txt").read_text().split())
    return {rel: folder_label[rel.split("/")[0]] for rel in train | test}, train, test


def copy_catalog(src: Path, dst: Path) -> None:
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    thumbs = src.parent / (src.stem + ".thumbnails")
    if thumbs.is_dir():
        (dst.parent / (dst.stem + ".thumbnails")).symlink_to(thumbs)


def measure(lib, rel_of: dict[int, str], truth: dict[str, str], test: set[str]) -> dict:
    """Mean precision / recall of the match sets of the label queries over the test photos; absent words' matches."""
    ids = lib.table().ids
    rels = [rel_of.get(int(i), "") for i in ids]
    is_test = np.array([r in test for r in rels])
    labels = sorted(set(truth.values()))
    label_of = np.array([truth.get(r, "") for r in rels])
    precision, recall, empty = [], [], 0
    t0 = time.perf_counter()
    for label in labels:
        _, rel, _, _ = lib.relevance(label)
        match = (rel >= 0.5) & is_test
        pos = (label_of == label) & is_test
        if match.sum():
            precision.append(float((match & pos).sum() / match.sum()))
        else:
            precision.append(0.0)
            empty += 1
        recall.append(float((match & pos).sum() / max(pos.sum(), 1)))
    label_s = time.perf_counter() - t0
    absent = {}
    for word in ABSENT:
        _, rel, _, _ = lib.relevance(word)
        absent[word] = int((rel >= 0.5).sum())
    return {"label_queries": len(labels), "mean_precision": round(float(np.mean(precision)), 4),
            "mean_recall": round(float(np.mean(recall)), 4), "queries_without_match": empty,
            "absent_queries": len(ABSENT),
            "absent_no_match_share": round(sum(n == 0 for n in absent.values()) / len(ABSENT), 4),
            "absent_matches": absent, "seconds_per_label_query": round(label_s / len(labels), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, help="an existing catalog of ../shared/data/caltech101 (copied, not changed)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from tagger.cli import main as cli
    from tagger.engine.core import Engine
    from tagger.library.catalog import Catalog
    from tagger.library.search import Library

    work = Path(tempfile.mkdtemp(prefix="relevance-"))
    try:
        db = work / "catalog.db"
        if args.db:
            copy_catalog(args.db, db)
        else:
            cli(["index", str(CALTECH), "--db", str(db)])
        truth, train, test = caltech_truth()
        catalog = Catalog.open(db)
        engine = Engine.load("lite0", None)
        lib = Library(catalog, engine)
        table_ids = lib.table().ids.tolist()
        rel_of = {pid: str(p.relative_to(CALTECH)) for pid, p in catalog.photo_paths(table_ids).items()}
        zero = measure(lib, rel_of, truth, test)
        t0 = time.perf_counter()
        with catalog.transaction():
            for pid, rel in rel_of.items():
                if rel in train:
                    catalog.add_user_tag(pid, truth[rel])
        tag_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        lib.find("okapi", 10)
        first_s = time.perf_counter() - t0
        labelled = measure(lib, rel_of, truth, test)
        source = lib.label_scores().source
        from tagger.training.retrain import train_version

        report = train_version(catalog, engine)
        trained = measure(lib, rel_of, truth, test)
        result = {"photos": len(table_ids), "test_photos": len(test), "zero_shot": zero,
                  "labels_instant": {**labelled, "tagging_seconds": round(tag_s, 2),
                                     "first_search_seconds": round(first_s, 2), "label_source": source},
                  "labels_trained": {**trained, "train_seconds": report.seconds,
                                     "label_source": lib.label_scores().source,
                                     "label_model": report.calibration},
                  "bar": {"mean_precision": 0.8, "mean_recall": 0.7, "absent_no_match_share": 0.8}}
        catalog.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for name, r in (("zero-shot", result["zero_shot"]), ("labels (instant)", result["labels_instant"]),
                    ("labels (trained)", result["labels_trained"])):
        print(f"{name:17s} label queries: precision {r['mean_precision']:.3f}  recall {r['mean_recall']:.3f}  "
              f"({r['queries_without_match']} without match);  absent words with no match: "
              f"{r['absent_no_match_share']:.0%}")
    print(f"tagging {result['labels_instant']['tagging_seconds']} s, first search after "
          f"{result['labels_instant']['first_search_seconds']} s")


if __name__ == "__main__":
    main()
