"""How likely each photo of the library is each of the person's labels — at once, from the stored features.

A label is a word the person gave photos on purpose: a labelled folder, or a tag typed in Tagger (keywords read
from other programs' files are found by name, but are not learned from: "Family" on 2,000 photos of everything is no
visual concept). The moment a label exists it counts: its photos' stored backbone features make a prototype (no photo
is decoded, nothing is trained), scored with the zero-shot prior by the few-shot label model
(``tagger.engine.label_scorer``); Retrain replaces the prototypes with the cross-validated model of the active
version when that version knows the same labels.

The result is a probability per (photo, label): p = g * softmax(label logits / T), where g, the gate, says how much
the photo looks like the labelled photos at all (the logits' energy against the labelled photos' own). Search uses
p as a label's relevance and 1 - sum(p) as the room left for every other word, so a photo that is plainly one of the
person's dolphins is not also a "shark" because ImageNet confuses the two.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tagger.engine.label_scorer import LabelModel, OpenSet, leave_one_out_logits, logsumexp, prototype_model
from tagger.library.user_words import UserWords, fold

MAX_LABELS = 2000  # beyond this many labels, the prototypes of the most used ones
MAX_PHOTOS_PER_LABEL = 500  # a label's prototype from a seeded sample of this many of its photos
# the gate's line: a photo whose label energy clears the 5% weakest labelled photos' (left out of their prototype) is
# one of the labels. Caltech-101, 97 labels tagged on the train photos, test photos: quantile 0.05 and slope 4 give
# match precision 0.94 / recall 0.84; 0.2 gives 0.955 / 0.70 (bench/relevance.py)
MEMBER_QUANTILE = 0.05
MEMBER_SLOPE = 4.0
HELD_OUT_QUANTILE_Z = 1.645  # the 5% quantile of a normal, for a model that keeps only held-out (mean, sd)


@dataclass
class LabelScores:
    """p(label | photo) for every photo of the library (rows aligned with the library's table)."""

    labels: list[str]
    probs: np.ndarray  # (N, L) float32
    source: str  # 'prototypes (no training)' or 'version N'

    @property
    def inside(self) -> np.ndarray:
        """(N,) how much of each photo the labels explain (the gate)."""
        return self.probs.sum(axis=1) if self.probs.size else np.zeros(len(self.probs), np.float32)

    def column(self, label: str) -> np.ndarray | None:
        key = fold(label)
        for j, text in enumerate(self.labels):
            if fold(text) == key:
                return self.probs[:, j]
        return None


def learnable(words: UserWords) -> list[tuple[str, list[int]]]:
    """(label text, photo ids) of the words that are learned: folder labels and tags typed in Tagger."""
    out = [(w.text, sorted(w.photos)) for w in words.words() if w.sources & {"label", "tag"}]
    return out[:MAX_LABELS]


def training_rows(labels: list[tuple[str, list[int]]], ids: np.ndarray,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(rows of the library table, label index) of the photos each label is learned from: a photo with two labels
    counts for both."""
    rng = np.random.default_rng(seed)
    rows, y = [], []
    for j, (_, photos) in enumerate(labels):
        pos = np.searchsorted(ids, photos)
        pos = pos[(pos < len(ids)) & (ids[np.minimum(pos, len(ids) - 1)] == np.asarray(photos))]
        if len(pos) > MAX_PHOTOS_PER_LABEL:
            pos = np.sort(rng.choice(pos, MAX_PHOTOS_PER_LABEL, replace=False))
        rows.append(pos)
        y.append(np.full(len(pos), j))
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(rows).astype(np.int64), np.concatenate(y).astype(np.int64)


def membership_line(model: LabelModel, features: np.ndarray, y: np.ndarray, prior: np.ndarray) -> tuple[float, float]:
    """(energy, spread) of the gate's line: the MEMBER_QUANTILE of the labelled photos' leave-one-out energies (each
    scored by prototypes without itself: what a new photo of the label looks like), and their spread. Measured on
    Caltech-101 (bench/relevance.py): the test photos' energies follow the leave-one-out ones closely."""
    loo = logsumexp(leave_one_out_logits(model, features, y, prior) / model.temperature)
    return float(np.quantile(loo, MEMBER_QUANTILE)), float(loo.std() + 1e-6)


def gated_probabilities(model: LabelModel, features: np.ndarray, prior: np.ndarray,
                        line: tuple[float, float]) -> np.ndarray:
    """(n, L) p(label | photo) = g * softmax(logits / T), g = sigmoid(MEMBER_SLOPE (energy - line) / spread): a
    photo scored like the labelled photos (above the weakest few of them) is surely one of the labels."""
    z = model.logits(features, prior) / model.temperature
    lse = logsumexp(z)
    g = 1.0 / (1.0 + np.exp(-np.clip(MEMBER_SLOPE * (lse - line[0]) / line[1], -50, 50)))
    soft = np.exp(z - lse[:, None])
    return (g[:, None] * soft).astype(np.float32)


def instant_scores(words: UserWords, ids: np.ndarray, features: np.ndarray, prior_of,
                   trained: tuple[OpenSet, list[str], str] | None = None,
                   chunk: int = 20_000) -> LabelScores | None:
    """The labels' probabilities for every photo of the table (``ids`` (N,), ``features`` (N, F) stored features).

    ``prior_of(texts)`` gives the zero-shot scores (N, L) of the label texts for every photo. ``trained``: the active
    version's (open set, labels, source), used when it knows exactly these labels. None when there is no label."""
    labels = learnable(words)
    if not labels or not len(ids):
        return None
    texts = [t for t, _ in labels]
    prior = np.asarray(prior_of(texts), np.float32)
    if trained is not None and sorted(map(fold, trained[1])) == sorted(map(fold, texts)):
        open_set, trained_texts, source = trained
        prior = np.asarray(prior_of(trained_texts), np.float32)
        model, texts = open_set.model, trained_texts
        mean, sd = model.reference_energy  # held-out photos' energies (cross-validation)
        line = (mean - HELD_OUT_QUANTILE_Z * sd, sd)
    else:
        rows, y = training_rows(labels, ids)
        if not len(rows):
            return None
        x = features[rows].astype(np.float32)
        model = prototype_model(x, y, prior[rows], len(labels))
        line, source = membership_line(model, x, y, prior[rows]), "prototypes (no training)"
    probs = np.zeros((len(ids), len(texts)), np.float32)
    for lo in range(0, len(ids), chunk):
        hi = min(lo + chunk, len(ids))
        probs[lo:hi] = gated_probabilities(model, features[lo:hi].astype(np.float32), prior[lo:hi], line)
    return LabelScores(texts, probs, source)
