"""Ranking words for a photo and photos for a word: one scorer for tags, search and evaluation.

A label's score mixes two views of how the classifier's evidence relates to it:
- distributional: cosine between the photo's word-space embedding and the label's word vector (ConSE/DeViSE);
- taxonomic: the photo's top-T ImageNet probabilities weighted by the classes' WordNet affinity to the label
  (a wallaby is a kangaroo; a gazelle is a cousin of a gerenuk), see :func:`tagger.engine.wordnet.class_affinity`.
When ranking labels for one photo, generic "hub" words that sit close to everything would win every photo; each label's
score is therefore corrected CSLS-style (Conneau et al. 2018, k = 10) by its mean similarity to its 10 most similar
ImageNet classes, a reference set that needs no user data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tagger.engine.wordnet import affinity_recipe, class_affinity
from tagger.fileio import atomic_path

if TYPE_CHECKING:
    from scipy import sparse

HUB_K = 10
WORDNET_GAMMA = 0.5
WORDNET_DELTA = 1.0  # labels: an ancestor collects all its descendants' evidence (a wallaby is a kangaroo)
# Tag clouds: each hop down from a tag to the class that supports it keeps 0.7 of the evidence, so a moped photo is
# tagged "moped, scooter, motorbike" before "wheeled vehicle", "vehicle", "artifact" (similarity@3 0.560 -> 0.576).
TAG_DELTA = 0.7
MIN_AFFINITY = 0.1  # drop links more than 3 hops up (0.5**4): flat on Caltech, keeps the matrix sparse
_CHUNK = 2048


@dataclass
class LabelSet:
    """Label texts with everything needed to score them, computed once per model and label list."""

    texts: list[str]
    vectors: np.ndarray  # (n, D) unit word vectors
    affinity: sparse.csr_matrix  # (1000, n) WordNet affinity of each ImageNet class to each label
    hub: np.ndarray  # (n,) CSLS correction: mean fused similarity to the label's HUB_K most similar classes

    @classmethod
    def build(cls, texts: Sequence[str], label_vectors: np.ndarray, class_vectors: np.ndarray,
              use_wordnet: bool = True, gamma: float = WORDNET_GAMMA, delta: float = WORDNET_DELTA,
              hub_k: int = HUB_K) -> LabelSet:
        texts = list(texts)
        vectors = np.asarray(label_vectors, np.float32).reshape(len(texts), -1)
        rows, cols, vals = [], [], []
        if use_wordnet:
            for j, text in enumerate(texts):
                a = class_affinity(text, gamma, delta)
                nz = np.flatnonzero(a >= MIN_AFFINITY)
                rows.append(nz)
                cols.append(np.full(len(nz), j))
                vals.append(a[nz])
        cat = lambda xs, dt: np.concatenate(xs).astype(dt) if xs else np.zeros(0, dt)
        from scipy import sparse  # 0.4 s to import: not at start-up of every command that scores

        affinity = sparse.csr_matrix((cat(vals, np.float32), (cat(rows, np.int64), cat(cols, np.int64))),
                                     shape=(1000, len(texts)))
        class_vectors = np.asarray(class_vectors, np.float32)
        k = min(hub_k, class_vectors.shape[0])
        hub = np.zeros(len(texts), np.float32)
        for lo in range(0, len(texts), _CHUNK):
            hi = min(lo + _CHUNK, len(texts))
            sim = fused(class_vectors @ vectors[lo:hi].T, affinity[:, lo:hi].toarray(), use_wordnet)
            hub[lo:hi] = np.sort(sim, axis=0)[-k:].mean(axis=0)
        return cls(texts, vectors, affinity, hub)

    def __len__(self) -> int:
        return len(self.texts)

    @staticmethod
    def recipe(gamma: float = WORDNET_GAMMA, delta: float = WORDNET_DELTA, hub_k: int = HUB_K) -> str:
        """Everything that changes the numbers a LabelSet holds, for cache keys."""
        return f"gamma={gamma},delta={delta},min={MIN_AFFINITY},hub_k={hub_k},v1,{affinity_recipe()}"

    def save(self, path: Path, key: str) -> None:
        """Cache to disk atomically (temp file + rename)."""
        with atomic_path(path, suffix=".npz", fsync=False) as tmp:
            np.savez(tmp, key=np.array(key), texts=np.array(self.texts, dtype=str), vectors=self.vectors,
                     hub=self.hub, data=self.affinity.data, indices=self.affinity.indices,
                     indptr=self.affinity.indptr, shape=np.array(self.affinity.shape))

    @classmethod
    def load(cls, path: Path, key: str) -> LabelSet | None:
        """The cached set if ``path`` holds one made under ``key``; None otherwise (missing, stale, damaged)."""
        try:
            with np.load(path, allow_pickle=False) as z:
                if str(z["key"]) != key:
                    return None
                from scipy import sparse  # 0.4 s to import: not at start-up of every command that scores

                affinity = sparse.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
                return cls([str(t) for t in z["texts"]], z["vectors"], affinity, z["hub"])
        except Exception:  # any unreadable cache is simply rebuilt
            return None

    @property
    def uses_wordnet(self) -> bool:
        return self.affinity.nnz > 0

    def scores(self, embeddings: np.ndarray, top_classes: np.ndarray, top_probs: np.ndarray,
               hub_correction: bool = True) -> np.ndarray:
        """(N, n) scores of every label for every photo.

        ``top_classes``/``top_probs`` are each photo's T most probable ImageNet classes and their probabilities
        renormalised over those T (what ConSE mixes); the catalog stores just these.
        """
        word = np.asarray(embeddings, np.float32) @ self.vectors.T
        if self.uses_wordnet:
            out = fused(word, (evidence_matrix(top_classes, top_probs) @ self.affinity).toarray(), True)
        else:
            out = word
        return out - 0.5 * self.hub if hub_correction else out

    def top(self, embeddings: np.ndarray, top_classes: np.ndarray, top_probs: np.ndarray, k: int,
            hub_correction: bool = True, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Indices and scores of each photo's k best labels, chunked so a 30k-word vocabulary stays small in memory."""
        n = len(embeddings)
        k = min(k, len(self.texts))
        idx = np.zeros((n, k), np.int64)
        val = np.zeros((n, k), np.float32)
        for lo in range(0, n, chunk):
            hi = min(lo + chunk, n)
            s = self.scores(embeddings[lo:hi], top_classes[lo:hi], top_probs[lo:hi], hub_correction)
            part = np.argpartition(-s, k - 1, axis=1)[:, :k]
            ps = np.take_along_axis(s, part, axis=1)
            order = np.argsort(-ps, axis=1)
            idx[lo:hi] = np.take_along_axis(part, order, axis=1)
            val[lo:hi] = np.take_along_axis(ps, order, axis=1)
        return idx, val


def evidence_matrix(top_classes: np.ndarray, top_probs: np.ndarray) -> sparse.csr_matrix:
    """Sparse (N, 1000) matrix of each photo's renormalised top-T class probabilities."""
    top_classes = np.asarray(top_classes, np.int64)
    n, t = top_classes.shape
    from scipy import sparse  # 0.4 s to import: not at start-up of every command that scores

    return sparse.csr_matrix((np.asarray(top_probs, np.float32).ravel(), top_classes.ravel(),
                              np.arange(0, n * t + 1, t)), shape=(n, 1000))


def fused(word: np.ndarray, taxonomic: np.ndarray, use_wordnet: bool) -> np.ndarray:
    return 0.5 * (word + taxonomic) if use_wordnet else word


def top_classes(logits: np.ndarray, t: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and renormalised probabilities of the T most probable classes (ConSE's mixing weights)."""
    logits = np.asarray(logits, np.float32)
    z = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(z)
    probs /= probs.sum(axis=1, keepdims=True)
    idx = np.argpartition(-probs, t - 1, axis=1)[:, :t]
    p = np.take_along_axis(probs, idx, axis=1)
    order = np.argsort(-p, axis=1)
    idx, p = np.take_along_axis(idx, order, axis=1), np.take_along_axis(p, order, axis=1)
    return idx.astype(np.int16), (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def hits_at(scores: np.ndarray, truth: np.ndarray, ks: Sequence[int] = (1, 2, 5, 10, 20)) -> dict[int, float]:
    """Fraction of rows whose true column ranks within the top k (ties broken against the truth)."""
    if len(truth) == 0:
        return {k: float("nan") for k in ks}
    true_score = scores[np.arange(len(truth)), truth]
    rank = (scores > true_score[:, None]).sum(axis=1) + (scores == true_score[:, None]).sum(axis=1) - 1
    return {k: float((rank < k).mean()) for k in ks}


def harmonic_mean(pred: np.ndarray, truth: np.ndarray, is_seen: np.ndarray) -> float:
    """GZSL H of top-1 accuracy on seen-label photos and on unseen-label photos: high only when neither is sacrificed,
    which a plain mean would hide (trained labels winning every photo still averages half)."""
    s = float((pred[is_seen] == truth[is_seen]).mean()) if is_seen.any() else 0.0
    u = float((pred[~is_seen] == truth[~is_seen]).mean()) if (~is_seen).any() else 0.0
    return 2 * s * u / (s + u) if s + u > 0 else 0.0
