"""Which design choices move zero-shot accuracy, measured on the same extracted outputs in one run.

    python bench/zero_shot_choices.py [--caltech ../shared/data/caltech101] [--backbone lite0] [--json]

Extracts Caltech-101 test photos once through the default model (onnxruntime), then rescores the labels under each
variant: ConSE's T and softmax temperature, the class-name recipe, the WordNet affinity (gamma), the CSLS hub
correction and its k, and a horizontal-flip test-time augmentation. Nothing is fitted on Caltech: every row is a fixed
choice, so the table shows sensitivity, and the default row is the one `tagger eval` reports.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tagger.engine.core import Engine
from tagger.engine.imageio import load_for_network
from tagger.engine.scoring import LabelSet, top_classes
from tagger.engine.semantics import is_imagenet_label
from tagger.engine.wordnet import imagenet_classes
from tagger.research.evaluate import metrics, read_dataset


def conse(logits: np.ndarray, class_vectors: np.ndarray, t: int, temperature: float = 1.0):
    idx, p = top_classes(logits / temperature, t)
    emb = np.einsum("nt,ntd->nd", p, class_vectors[idx.astype(np.int64)])
    return emb / (np.linalg.norm(emb, axis=1, keepdims=True) + 1e-12), idx, p


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--caltech", type=Path, default=ROOT.parent / "shared" / "data" / "caltech101")
    ap.add_argument("--backbone", default="lite0")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    ds = read_dataset(args.caltech, args.caltech / "labels.tsv", args.caltech / "test.txt")
    engine = Engine.load(args.backbone)
    out = engine.embed_files([ds.root / f for f in ds.files], keep_logits=True)
    flipped = engine.embed_files([ds.root / f for f in ds.files], keep_logits=True,
                                 loader=lambda p, prep: load_for_network(p, prep)[:, :, ::-1].copy())
    truth, labels = ds.truth()[out.ok], ds.labels
    inet = np.array([is_imagenet_label(t) for t in labels])
    space, cv = engine.word_space, engine.class_vectors
    label_vecs = space.text_vectors(labels)

    def syn_vectors():
        rows = []
        for c in imagenet_classes():
            v = space.text_vectors(list(c.synonyms) + [c.label]).mean(0)
            rows.append(v / (np.linalg.norm(v) + 1e-12))
        return np.stack(rows).astype(np.float32)

    emb0, idx0, p0 = conse(out.logits, cv, engine.top_t)
    parity = float(np.abs(emb0 - out.embeddings).max())
    rows: list[tuple[str, dict]] = []

    def run(name, logits=out.logits, class_vectors=cv, t=engine.top_t, temperature=1.0, wordnet=True, hub=True,
            gamma=0.5, k=10):
        emb, idx, p = conse(logits, class_vectors, t, temperature)
        ls = LabelSet.build(labels, label_vecs, class_vectors, wordnet, gamma, hub_k=k)
        m = metrics(ls.scores(emb, idx, p, hub), truth, inet)
        rows.append((name, {key: m[key] for key in ("hit@1", "hit@2", "hit@5", "hit@10", "hit@20")}))

    run("default (T=10, WordNet gamma=0.5, CSLS k=10)")
    run("plain ConSE (no WordNet, no hub correction)", wordnet=False, hub=False)
    run("ConSE + WordNet", hub=False)
    run("ConSE + hub correction", wordnet=False)
    for t in (1, 5, 20):
        run(f"T={t}", t=t)
    for temp in (0.5, 2.0):
        run(f"softmax temperature {temp}", temperature=temp)
    run("class vectors: mean of all WordNet synonyms", class_vectors=syn_vectors())
    for g in (0.3, 0.7):
        run(f"WordNet gamma={g}", gamma=g)
    for k in (5, 20):
        run(f"CSLS k={k}", k=k)
    run("test-time flip (mean of logits)", logits=(out.logits + flipped.logits) / 2)
    result = {"backbone": args.backbone, "n_images": len(truth), "onnx_vs_numpy_conse_max_abs_diff": parity,
              "rows": {name: r for name, r in rows}}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{len(truth)} Caltech-101 test images, backbone {args.backbone}; "
              f"ONNX vs numpy ConSE max |diff| {parity:.2e}")
        print(f"{'variant':<48}" + "".join(f"{k:>8}" for k in ("hit@1", "hit@2", "hit@5", "hit@10", "hit@20")))
        base = rows[0][1]
        for name, r in rows:
            delta = r["hit@1"] - base["hit@1"]
            print(f"{name:<48}" + "".join(f"{v:>8.3f}" for v in r.values())
                  + (f"  ({delta:+.3f})" if name != rows[0][0] else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
