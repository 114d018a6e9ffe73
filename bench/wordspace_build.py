"""Benchmark of the default word space build against the prototype recipe and controls, as JSON on stdout.

    python bench/wordspace_build.py [OUT_DIR]      # default: a temporary folder, deleted afterwards

Builds (same seed, same held-out draw), timed on this machine:
  * default                    - tagger.engine.wordspace_build defaults (150k words, 200k buckets, frequency-weighted
                                 n-gram fit plus two synthetic typo rows per frequent word)
  * default_without_typo_rows  - the same without the typo rows (ablation)
  * prototype                  - the recipe that was prototyped: 50k words, 200k buckets, n-grams fitted on the
                                 vocabulary with equal weights, no typo rows
They are compared on the SAME words: the default's held-out words that the prototype did not fit either (its own
held-out words below rank 50k, and every word from 50k on, which it never sees). A word's "unknown-word" vector is
the mean of its n-gram rows only, read back from the .bin files through fastText. Also: typos (see below) and the
controls "mean vector" (predict the mean direction for every word), "permuted rows" (the default's fitted n-gram
rows assigned to the wrong buckets) and "random rows"."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tagger.engine.wordspace_build import (
    DEFAULT_N_WORDS,
    build_glove_fasttext,
    heldout_ranks,
    is_clean_token,
    load_glove,
    make_typo,
)

PROTOTYPE = dict(n_words=50_000, bucket=200_000, typo_words=0, weight_scale=None)
RUNS = {"default": {}, "default_without_typo_rows": dict(typo_words=0), "prototype": PROTOTYPE}


def _unit(m: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(m, axis=-1, keepdims=True)
    return m / np.where(n > 0, n, 1.0)


def ngram_vectors(model, matrix: np.ndarray, words: list[str]) -> np.ndarray:
    """Mean of each word's character n-gram rows (its word row left out, as if it were unknown)."""
    out = np.zeros((len(words), matrix.shape[1]))
    for i, w in enumerate(words):
        ids = model.get_subwords(w)[1]
        if model.get_word_id(w) >= 0:
            ids = ids[1:]
        if len(ids):
            out[i] = matrix[ids].mean(axis=0)
    return out


def main() -> None:
    import fasttext
    import fasttext.FastText

    fasttext.FastText.eprint = lambda *a, **k: None
    out_arg = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    with tempfile.TemporaryDirectory(prefix="tagger-bench-") as tmp:
        out_dir = out_arg or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        reports, models = {}, {}
        for name, kw in RUNS.items():
            reports[name] = build_glove_fasttext(out_dir / f"{name}.bin", **kw)
            models[name] = fasttext.load_model(str(out_dir / f"{name}.bin"))

        words, glove = load_glove()
        clean = [i for i, w in enumerate(words) if is_clean_token(w)]
        vocab = [words[i] for i in clean[:DEFAULT_N_WORDS]]
        truth = _unit(np.asarray(glove[clean[:DEFAULT_N_WORDS]], dtype=np.float64))
        held_default = heldout_ranks(len(clean), DEFAULT_N_WORDS, 0.05, 0)
        held_proto = set(heldout_ranks(len(clean), PROTOTYPE["n_words"], 0.05, 0).tolist())
        same = np.array([r for r in held_default if r >= PROTOTYPE["n_words"] or r in held_proto])
        same_words = [vocab[r] for r in same]

        comparable: dict = {"n_words": len(same), "note": "default held-out words the prototype did not fit either"}
        vectors = {}
        for name, model in models.items():
            matrix = model.get_input_matrix()
            vectors[name] = ngram_vectors(model, matrix, same_words)
            cos = np.einsum("ij,ij->i", _unit(vectors[name]), truth[same])
            comparable[name] = {"mean_cosine": round(float(cos.mean()), 4)} | {
                f"rank {lo}-{lo + 50_000}": round(float(cos[(same >= lo) & (same < lo + 50_000)].mean()), 4)
                for lo in range(0, DEFAULT_N_WORDS, 50_000)}

        # controls, on the same words
        d = models["default"]
        matrix = d.get_input_matrix()
        nw = len(d.get_words())
        rng = np.random.default_rng(0)
        permuted = matrix.copy()
        permuted[nw:] = matrix[nw:][rng.permutation(matrix.shape[0] - nw)]
        random_rows = matrix.copy()
        random_rows[nw:] = rng.normal(0, matrix[nw:].std(), size=(matrix.shape[0] - nw, matrix.shape[1]))
        fit_mean = _unit(np.delete(truth, held_default, axis=0).mean(axis=0))
        controls = {
            "mean_vector": round(float((truth[same] @ fit_mean).mean()), 4),
            "permuted_rows": round(float(np.einsum("ij,ij->i", _unit(ngram_vectors(d, permuted, same_words)),
                                                   truth[same]).mean()), 4),
            "random_rows": round(float(np.einsum("ij,ij->i", _unit(ngram_vectors(d, random_rows, same_words)),
                                                 truth[same]).mean()), 4),
        }

        # typos (the commonest unknown words in a search box), scored against the true word's GloVe vector and
        # by whether the true word is among the 5 nearest of the 150k vocabulary. "held-out": typos of the
        # comparable words (no build saw the word); "fitted": typos of words ranked 2k-50k that every build fitted
        # (the realistic case: people misspell words the vocabulary knows). Lengths >= 5.
        trng = np.random.default_rng(12345)
        fitted = [r for r in trng.choice(np.arange(2000, 50_000), 4000, replace=False)
                  if r not in set(held_default.tolist()) | held_proto and len(vocab[r]) >= 5][:3000]
        pools = {"heldout": [r for r in same if r < 50_000 and len(vocab[r]) >= 5], "fitted": fitted}
        truth32 = truth.astype(np.float32)
        typo_report: dict = {}
        for pool_name, pool in pools.items():
            typos = [make_typo(vocab[r], trng) for r in pool]
            entry: dict = {"n": len(typos), "examples": typos[:6]}
            for name, model in models.items():
                v = _unit(np.stack([model.get_word_vector(t) for t in typos]).astype(np.float64)).astype(np.float32)
                cos = np.einsum("ij,ij->i", v, truth32[pool])
                top5 = np.concatenate([np.argpartition(-(v[i:i + 512] @ truth32.T), 5, axis=1)[:, :5]
                                       for i in range(0, len(v), 512)])
                hit = np.mean([r in row for r, row in zip(pool, top5)])
                entry[name] = {"mean_cosine": round(float(cos.mean()), 4), "true_word_in_top5": round(float(hit), 3)}
            typo_report[pool_name] = entry

        result = {
            "machine": {"cpus": os.cpu_count()},
            "comparable_heldout": comparable,
            "controls": controls,
            "typos": typo_report,
            "builds": reports,
        }
        print(json.dumps(result, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
