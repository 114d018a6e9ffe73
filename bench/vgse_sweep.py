"""Does VGSE beat word vectors here? Word / VGSE / both through the same zero-shot classifier, over Dv and Nt.

    python bench/vgse_sweep.py [--caltech ../shared/data/caltech101] [--dv 16 32 64 128] [--patches 1 1+4 1+9]
                               [--w-clu 1.0] [--alpha 0.0] [--kinds word vgse both relation] [--seed 0]
                               [--no-reference] [--out bench/out/vgse_sweep.json]

Caltech-101 "retraining" protocol (train.txt photos of the 49 seen labels; test.txt photos; 48 unseen labels): ZSL
unseen hit@1 (candidates = unseen labels) and calibrated GZSL seen/unseen hit@1 and H (candidates = all labels),
for every (patch layout, Dv). Whole-photo and patch features are cached (tagger.research.cache), so only the first run
pays for the model (~70 patches/s on 2 cores: 1+9 over 3,577 photos is ~9 min). The 'calH' column is the pseudo-GZSL
H on training photos that chose gamma: the figure a setting may be picked by without looking at test photos.
Prints a table and writes the full JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tagger.engine.core import Engine
from tagger.research.evaluate import read_dataset, read_list, read_split
from tagger.research.evaluate_vgse import CompatConfig, evaluate_embeddings, rows
from tagger.research.vgse import ClusterConfig


def table(result: dict) -> str:
    head = (f"{'kind':<9}{'Nt':>6}{'Dv':>5}{'ZSL u@1':>9}{'seen@1':>8}{'unseen@1':>9}{'H':>7}{'H(g=0)':>8}{'gamma':>7}"
            f"{'calH':>7}{'app+':>7}")
    lines = [head, "-" * len(head)]
    for r in rows(result):
        lines.append(f"{r['kind']:<9}{r['patches']:>6}{r['dv']!s:>5}{r['zsl_unseen@1']:>9.3f}{r['seen@1']:>8.3f}"
                     f"{r['unseen@1']:>9.3f}{r['H']:>7.3f}{r['raw_H']:>8.3f}{r['gamma']:>7.2f}"
                     f"{r['calibration_H']:>7.3f}{r['app+']:>7.3f}")
    if "app" in result:
        a = result["app"]
        lines.append(f"app (trained head + zero-training expert, word space): ZSL u@1 {a['zsl_unseen@1']:.3f} "
                     f"seen@1 {a['seen@1']:.3f} "
                     f"unseen@1 {a['unseen@1']:.3f} H {a['H']:.3f}; app+ = its H with the row's classifier added, "
                     "tuned on test photos (a ceiling)")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--caltech", type=Path, default=ROOT.parent / "shared" / "data" / "caltech101")
    ap.add_argument("--dv", type=int, nargs="+", default=[16, 32, 64, 128])
    ap.add_argument("--patches", nargs="*", default=["1", "1+4", "1+9"])
    ap.add_argument("--kinds", nargs="+", default=["word", "vgse", "both"],
                    help="word vgse both, and the control 'relation' (one-hot seen labels through the relation module)")
    ap.add_argument("--w-clu", type=float, default=ClusterConfig.w_clu)
    ap.add_argument("--alpha", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-reference", action="store_true", help="skip the app's own trained model row")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "vgse_sweep.json")
    args = ap.parse_args()

    root = args.caltech
    engine = Engine.load("lite0")
    dataset = read_dataset(root, root / "labels.tsv", root / "test.txt")
    settings = [(p, dv) for p in args.patches for dv in args.dv]
    start = time.perf_counter()
    result = evaluate_embeddings(engine, dataset, read_list(root / "train.txt"), read_split(root / "zsl_split.tsv"),
                                 kinds=args.kinds, settings=settings,
                                 cluster=ClusterConfig(w_clu=args.w_clu, seed=args.seed),
                                 compat=CompatConfig(seed=args.seed), alpha=args.alpha, seed=args.seed,
                                 reference=not args.no_reference)
    result["wall_seconds"] = round(time.perf_counter() - start, 1)
    print(table(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=lambda o: o.item() if hasattr(o, "item") else str(o)))
    print(f"wrote {args.out} ({result['wall_seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
