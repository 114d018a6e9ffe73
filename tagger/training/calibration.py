"""How much a trained label trusts the trained head: the calibration (lam, gamma) of the two experts' mix.

Training only moves what the labels need. A trained version scores every word that was not trained with the
zero-training expert alone, and a trained label with ``combine``: lam * trained + (1 - lam) * zero-training - gamma.
The pair is measured on the training photos (``calibrate``), never on test data: a head that replaces the embedding
pulls everything onto the seen labels (GZSL collapse), and gamma is what keeps unseen words able to win.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tagger.engine.scoring import harmonic_mean
from tagger.training.trainer import TrainConfig, TrainingSet, stratified_split, train_head

DEFAULT_LAM = 0.5  # trained and zero-training experts weigh the same for a trained label
DEFAULT_GAMMA = 0.2  # used when there are too few labels to calibrate (measured on Caltech-101 seen labels)
MIN_LABELS_TO_CALIBRATE = 4
LAM_GRID = (0.25, 0.5, 0.75, 1.0)
GAMMA_GRID = tuple(round(0.05 * i, 2) for i in range(13))  # 0 .. 0.6
PSEUDO_UNSEEN_FRACTION = 0.3  # of the trained labels, playing unseen in each calibration split


@dataclass
class Calibration:
    """How the trained expert joins the zero-training one for trained labels (see ``combine``)."""

    lam: float = DEFAULT_LAM
    gamma: float = DEFAULT_GAMMA
    source: str = "default"  # 'validation' when measured, 'default' when there were too few labels
    harmonic_mean: float = float("nan")  # validation H at the chosen point

    def to_json(self) -> dict:
        return {"lam": self.lam, "gamma": self.gamma, "source": self.source,
                "validation_H": None if math.isnan(self.harmonic_mean) else self.harmonic_mean}


def combine(s0: np.ndarray, s1: np.ndarray, trained: np.ndarray, lam: float, gamma: float) -> np.ndarray:
    """Scores of every label: the zero-training score, or for trained labels lam*trained + (1-lam)*zero - gamma."""
    mixed = lam * s1 + (1 - lam) * s0 - gamma
    return np.where(trained[None, :], mixed, s0)


def calibrate(data: TrainingSet, zero_scores: np.ndarray, candidate_is_label: np.ndarray,
              config: TrainConfig = TrainConfig(), *, repeats: int = 3, closed: bool | None = None,
              should_stop: Callable[[], bool] | None = None) -> Calibration:
    """Choose (lam, gamma) by generalized zero-shot H on the training photos alone.

    The trained labels are split into pseudo-seen (70%) and pseudo-unseen (30%); a head trained on the pseudo-seen
    photos is scored on held-out pseudo-seen photos and on all pseudo-unseen photos, with every candidate in play;
    the grid point with the best mean H over ``repeats`` random splits wins. ``closed`` (default: every candidate
    is a training label) skips that and only picks lam by held-out accuracy; the app passes False, because every
    word of the vocabulary is a candidate there even though only labels are scored here. ``zero_scores`` (N, C) are the
    zero-training scores of the labelled photos against the C candidates; ``candidate_is_label`` (C,) maps the
    training labels into the candidates (the index of label i is ``np.flatnonzero(candidate_is_label)[i]``).
    """
    labels = np.unique(data.y)
    if (candidate_is_label.all() if closed is None else closed):
        return _calibrate_closed(data, zero_scores, config, should_stop)
    if len(labels) < MIN_LABELS_TO_CALIBRATE:
        return Calibration()
    grid = np.zeros((len(LAM_GRID), len(GAMMA_GRID)))
    for r in range(repeats):
        grid += _pseudo_gzsl_grid(data, zero_scores, candidate_is_label, config, r, should_stop) / repeats
    i, j = np.unravel_index(np.argmax(grid), grid.shape)
    return Calibration(float(LAM_GRID[i]), float(GAMMA_GRID[j]), "validation", float(grid[i, j]))


def _pseudo_gzsl_grid(data: TrainingSet, zero_scores: np.ndarray, candidate_is_label: np.ndarray,
                      config: TrainConfig, repeat: int, should_stop: Callable[[], bool] | None) -> np.ndarray:
    """H at every (lam, gamma) of LAM_GRID x GAMMA_GRID for one pseudo-seen / pseudo-unseen split of the labels
    (seeds config.seed + 1000 + repeat for the split, config.seed + repeat for the head)."""
    labels = np.unique(data.y)
    cand_of_label = np.flatnonzero(candidate_is_label)
    rng = np.random.default_rng(config.seed + 1000 + repeat)
    pseudo_unseen = rng.choice(labels, size=max(1, int(round(PSEUDO_UNSEEN_FRACTION * len(labels)))), replace=False)
    seen_mask = ~np.isin(data.y, pseudo_unseen)
    seen_rows = np.flatnonzero(seen_mask)
    fit, held = stratified_split(data.y[seen_rows], config.val_fraction, config.seed + repeat)
    head = train_head(data.subset(seen_rows[fit]), TrainConfig(**{**config.__dict__, "seed": config.seed + repeat}),
                      should_stop=should_stop)
    eval_rows = np.concatenate([seen_rows[held], np.flatnonzero(~seen_mask)])
    s1 = np.zeros((len(eval_rows), len(candidate_is_label)), np.float32)
    s1[:, cand_of_label] = head.project(data.features[eval_rows], data.conse[eval_rows]) @ data.label_vectors.T
    trained = np.zeros(len(candidate_is_label), bool)
    trained[cand_of_label[np.setdiff1d(labels, pseudo_unseen)]] = True
    truth = cand_of_label[data.y[eval_rows]]
    is_seen = np.isin(data.y[eval_rows], pseudo_unseen, invert=True)
    s0 = zero_scores[eval_rows]
    return np.array([[harmonic_mean(combine(s0, s1, trained, lam, gamma).argmax(1), truth, is_seen)
                      for gamma in GAMMA_GRID] for lam in LAM_GRID])


def _calibrate_closed(data: TrainingSet, zero_scores: np.ndarray, config: TrainConfig,
                      should_stop: Callable[[], bool] | None) -> Calibration:
    """Every candidate is a trained label (a closed set, e.g. supervised evaluation): no unseen label to protect, so
    only lam matters; pick it by held-out accuracy."""
    fit, held = stratified_split(data.y, config.val_fraction, config.seed + 7)
    if not len(held):
        return Calibration(1.0, 0.0, "default")
    head = train_head(data.subset(fit), config, should_stop=should_stop)
    s1 = head.project(data.features[held], data.conse[held]) @ data.label_vectors.T
    s0 = zero_scores[held]
    trained = np.ones(s0.shape[1], bool)
    acc = [float((combine(s0, s1, trained, lam, 0.0).argmax(1) == data.y[held]).mean()) for lam in LAM_GRID]
    best = int(np.argmax(acc))
    return Calibration(float(LAM_GRID[best]), 0.0, "validation (closed set)", acc[best])
