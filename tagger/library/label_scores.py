"""How likely each photo of the library is each of the person's labels — at once, from the stored features.

A label is a word the person gave photos on purpose: a labelled folder, or a tag typed in Tagger (keywords read
from other programs' files are found by name, but are not learned from: "Family" on 2,000 photos of everything is no
visual concept). The moment a label exists it counts: its photos' stored backbone features make a prototype (no photo
is decoded, nothing is trained), scored with the zero-shot prior by the few-shot label model
(``tagger.engine.label_scorer``); Retrain replaces the prototypes with the cross-validated model of the active
version when that version knows the same labels.

The result is a probability per (photo, label): p = softmax(label logits / T) * g, where g, the label's gate, says
whether the photo scores like the label's own photos and well above the library's usual level (``label_lines``).
Search uses
p as a label's relevance and 1 - sum(p) as the room left for every other word, so a photo that is plainly one of the
person's dolphins is not also a "shark" because ImageNet confuses the two.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from tagger.engine.label_scorer import (
    DEFAULT_MIX,
    DEFAULT_TEMPERATURE,
    LabelModel,
    OpenSet,
    feature_map,
    leave_one_out_logits,
    logsumexp,
    prototypes,
)
from tagger.engine.vectors import unit
from tagger.library.user_words import UserWords, fold

MAX_LABELS = 2000  # beyond this many labels, the prototypes of the most used ones
MAX_PHOTOS_PER_LABEL = 500  # a label's prototype from a seeded sample of this many of its photos
# each label's line (``label_lines``): its photos' 5% weakest leave-one-out logit, and at least the library's median
# + 3 robust deviations; slope 4 per spread. Caltech-101 with 97 labels on the train photos: match precision ~0.9,
# recall ~0.84 on the test photos (bench/relevance.py)
MEMBER_QUANTILE = 0.05
MEMBER_SLOPE = 4.0
LIBRARY_MARGIN = 3.0
LIBRARY_SAMPLE = 10_000  # photos whose statistics centre and scale the features (the library's, not the labels')


@dataclass
class LabelScores:
    """p(label | photo) for every photo of the library (rows aligned with the library's table)."""

    labels: list[str]
    log_probs: np.ndarray  # (N, L) float32
    strength: np.ndarray  # (N, L) float32: log softmax + the gate's margin, unbounded: p saturates at 1 for every
    # photo that is surely the label, and they must still be ranked
    source: str  # 'prototypes (no training)' or 'version N'

    @property
    def probs(self) -> np.ndarray:
        return np.exp(self.log_probs)

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


def label_lines(logits: np.ndarray, own_loo: np.ndarray, rows: np.ndarray,
                y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((L,) line, (L,) spread) of each label's gate, on its logit.

    The line is the higher of two: the MEMBER_QUANTILE of the label's photos' leave-one-out logits (each scored by a
    prototype without itself: what a new photo of the label looks like), and the typical logit of the photos that do
    NOT carry the label plus LIBRARY_MARGIN robust deviations (median + k * 1.4826 MAD: robust to the label's
    unlabelled look-alikes among them, as long as they are fewer than half). The second is what keeps a tag put on a
    few unrelated photos ("2019", "to print") from claiming the library: their leave-one-out logits are no higher than
    any photo's, so only photos far above the library's own level match. ``logits`` (N, L) every photo's; ``own_loo``
    (n,) each labelled photo's leave-one-out logit for its own label ``y`` (n,); ``rows`` (n,) its row in ``logits``."""
    n_labels = logits.shape[1]
    line = np.zeros(n_labels, np.float32)
    spread = np.zeros(n_labels, np.float32)
    others = np.ones(len(logits), bool)
    for j in range(n_labels):
        mine = y == j
        others[:] = True
        others[rows[mine]] = False
        column = logits[others, j] if others.any() else logits[:, j]
        median = float(np.median(column))
        mad = 1.4826 * float(np.median(np.abs(column - median))) + 1e-6
        line[j], spread[j] = median + LIBRARY_MARGIN * mad, mad
        own = own_loo[mine]
        if len(own):
            line[j] = max(line[j], float(np.quantile(own, MEMBER_QUANTILE)))
            spread[j] = max(spread[j], float(own.std()))
    return line, spread


def gated_log_probabilities(logits: np.ndarray, line: np.ndarray,
                            spread: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """((n, L) log p(label | photo), (n, L) strength), p = softmax(logits) * sigmoid(a), a = MEMBER_SLOPE (logit -
    line) / spread per label: the labels share a photo by their softmax, and each keeps its share only where the photo
    clears its line. The strength, log softmax + a, orders photos where p has saturated at 1."""
    z = np.asarray(logits, np.float64)
    log_soft = z - logsumexp(z)[:, None]
    a = MEMBER_SLOPE * (z - line) / spread
    return ((log_soft - np.logaddexp(0.0, -a)).astype(np.float32), (log_soft + a).astype(np.float32))


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
    rows, y = training_rows(labels, ids)
    if not len(rows):
        return None
    x = features[rows].astype(np.float32)
    if trained is not None and sorted(map(fold, trained[1])) == sorted(map(fold, texts)):
        open_set, trained_texts, source = trained
        position = {fold(t): j for j, t in enumerate(trained_texts)}
        y = np.array([position[fold(texts[j])] for j in y], np.int64)  # in the version's order of labels
        model, texts = open_set.model, trained_texts
        prior = np.asarray(prior_of(texts), np.float32)
    else:
        prior = np.asarray(prior_of(texts), np.float32)
        sample = np.sort(np.random.default_rng(0).permutation(len(ids))[:LIBRARY_SAMPLE])
        model = library_prototype_model(x, y, prior[rows], len(labels), features[sample].astype(np.float32))
        source = "prototypes (no training)"
    logits = np.zeros((len(ids), len(texts)), np.float32)
    for lo in range(0, len(ids), chunk):
        hi = min(lo + chunk, len(ids))
        logits[lo:hi] = model.logits(features[lo:hi].astype(np.float32), prior[lo:hi]) / model.temperature
    loo = leave_one_out_logits(model, x, y, prior[rows]) / model.temperature
    line, spread = label_lines(logits, loo[np.arange(len(y)), y], rows, y)
    log_probs, strength = gated_log_probabilities(logits, line, spread)
    return LabelScores(texts, log_probs, strength, source)


def library_prototype_model(features: np.ndarray, y: np.ndarray, prior: np.ndarray, n_labels: int,
                            library: np.ndarray) -> LabelModel:
    """The instant label model: prototypes + the zero-shot prior (``DEFAULT_MIX``, no refinement on the library), on
    the features as a fit maps them (``feature_map``: the library's statistics when the labels are few)."""
    fmap = feature_map(features, y, library)
    u = unit(fmap.apply(features))
    mix = dataclasses.replace(DEFAULT_MIX, library=0.0) if hasattr(DEFAULT_MIX, "library") else DEFAULT_MIX
    return LabelModel(fmap, prototypes(u, y, n_labels), u, np.asarray(y, np.int64), None, None, mix,
                      DEFAULT_TEMPERATURE, "prototypes (no training)")
