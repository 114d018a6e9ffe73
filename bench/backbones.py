"""Choose the backbone by measurement: accuracy on Caltech-101 test and ONNX Runtime throughput, both backbones,
one run.

    python bench/backbones.py [--caltech ../shared/data/caltech101] [--json]

Throughput is measured twice: the network alone on a fixed batch (what the backbone costs) and end to end on the
Caltech test photos (decode + network, what `tagger eval` sees). Prints a table and, with --json, one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tagger.engine.core import Engine
from tagger.research.evaluate import evaluate, read_dataset


def network_throughput(engine: Engine, batch: int = 32, seconds: float = 8.0) -> float:
    s = engine.prep.input_size
    x = np.random.default_rng(0).standard_normal((batch, 3, s, s)).astype(np.float32)
    engine.runtime.run(x)  # warm-up
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        engine.runtime.run(x)
        n += batch
    return n / (time.perf_counter() - start)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--caltech", type=Path, default=ROOT.parent / "shared" / "data" / "caltech101")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    ds = read_dataset(args.caltech, args.caltech / "labels.tsv", args.caltech / "test.txt")
    rows = {}
    for name in ("lite0", "lite2"):
        engine = Engine.load(name)
        net = network_throughput(engine)
        r = evaluate(engine, ds)
        rows[name] = {"hit@1": r["hit@1"], "hit@5": r["hit@5"], "similarity@3": r["similarity@3"],
                      "conse_hit@1": r["baselines"]["conse"]["hit@1"], "network_images_per_second": net,
                      "end_to_end_images_per_second": r["images_per_second"], "provider": engine.runtime.provider,
                      "input_size": engine.prep.input_size}
    base = rows["lite0"]
    for row in rows.values():
        row["network_speed_vs_lite0"] = row["network_images_per_second"] / base["network_images_per_second"]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{'backbone':<8}{'hit@1':>8}{'hit@5':>8}{'sim@3':>8}{'conse@1':>9}"
              f"{'net img/s':>11}{'e2e img/s':>11}{'speed':>8}")
        for name, r in rows.items():
            print(f"{name:<8}{r['hit@1']:>8.3f}{r['hit@5']:>8.3f}{r['similarity@3']:>8.3f}{r['conse_hit@1']:>9.3f}"
                  f"{r['network_images_per_second']:>11.1f}{r['end_to_end_images_per_second']:>11.1f}"
                  f"{r['network_speed_vs_lite0']:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
