"""A made-up word learnt from one labelled folder: "zorblax" = Caltech-101's okapi.

    python bench/zorblax.py [--json] [--keep DIR]

Bars: (issue "retraining") the okapi folder labelled "zorblax" and trained on its train images -> searching
"zorblax" gives precision@10 >= 0.9 over a catalog of the test images; (issue "your-words") `tagger label` returns in
<= 2 s and the next `search zorblax`, with no training, has precision@10 >= 0.9 (instant labels), 1.0 after training.

1. A library in a temp folder (or ``--keep DIR``): ``train/okapi`` (the 26 okapi photos of train.txt) and
   ``test/<class>/`` (all 2,893 photos of test.txt, 13 of them okapis), copied from ../shared/data/caltech101.
2. ``tagger index`` of both, ``tagger label train/okapi zorblax``, ``tagger train`` (the app's defaults), all
   through the CLI as a user would run them.
3. precision@10 of ``tagger search zorblax --folder test`` before labelling (the word's subword vector alone: the
   baseline), right after labelling (no training: the prototypes of the stored features) and after training; also
   for the real word "okapi" (zero-shot, untrained) as a reference. The labelled photos themselves (train/okapi)
   carry the word and rank first in a search of the whole library, so they are left out: ``--folder test``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._benchutil import run_cli as cli

CALTECH = ROOT.parent / "shared" / "data" / "caltech101"


def precision(db: Path, word: str, folder: Path, k: int = 10) -> float:
    hits = json.loads(cli("search", word, "--db", str(db), "--folder", str(folder), "--limit", str(k), "--json"))
    return sum(Path(h["path"]).parent.name == "okapi" for h in hits) / k


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--keep", type=Path, help="build the library here and keep it")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="zorblax-"))
    try:
        lib, db = work / "photos", work / "catalog.db"
        for split, keep in (("train", lambda f: f.startswith("okapi/")), ("test", lambda f: True)):
            for rel in (CALTECH / f"{split}.txt").read_text().split():
                if keep(rel) and not (lib / split / rel).exists():
                    (lib / split / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy(CALTECH / rel, lib / split / rel)
        t = time.perf_counter()
        cli("index", str(lib), "--db", str(db))
        index_s = time.perf_counter() - t
        before = precision(db, "zorblax", lib / "test")
        okapi = precision(db, "okapi", lib / "test")
        t = time.perf_counter()
        cli("label", str(lib / "train" / "okapi"), "zorblax", "--db", str(db))
        label_s = time.perf_counter() - t
        t = time.perf_counter()
        instant = precision(db, "zorblax", lib / "test")
        instant_search_s = time.perf_counter() - t
        whole = json.loads(cli("search", "zorblax", "--db", str(db), "--limit", "10", "--json"))
        whole_p = sum(Path(h["path"]).parent.name == "okapi" for h in whole) / 10
        report = json.loads(cli("train", "--db", str(db), "--json"))
        after = precision(db, "zorblax", lib / "test")
        result = {"test_photos": 2893, "okapi_test_photos": 13, "trained_on": report["labels"],
                  "precision@10_before": before, "precision@10_instant": instant, "precision@10_after": after,
                  "precision@10_instant_whole_library": whole_p, "label_seconds": round(label_s, 2),
                  "first_search_seconds": round(instant_search_s, 2), "bar": 0.9,
                  "zero_shot_okapi_precision@10": okapi, "train_seconds": report["seconds"],
                  "val_acc_before": report["val_acc_before"], "val_acc_after": report["val_acc_after"],
                  "index_seconds": round(index_s, 1)}
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"'zorblax' precision@10 over the {result['test_photos']} test photos: {before:.1f} before labelling, "
              f"{instant:.1f} right after `tagger label` ({label_s:.2f} s, no training), {after:.1f} after training "
              f"(bar 0.9); the real word 'okapi', untrained: {okapi:.1f}")
        print(f"training: {result['train_seconds']}")


if __name__ == "__main__":
    main()
