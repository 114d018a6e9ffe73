"""The simple few-shot baselines a label scorer must beat, on the backbone features the catalog stores.

- ``nearest_class_mean``: cosine to the mean of each label's L2-normalised (optionally standardised first) features;
  no training at all.
- ``logistic_regression``: multinomial, L2, on standardised features, with scikit-learn's default objective (sum of
  cross-entropies + |W|^2 / 2C, C = 1) solved to convergence by L-BFGS; scikit-learn is not a dependency, the solver is
  the label model's (``tagger.training.label_model.fit_logistic``).

Both are closed-set classifiers: they score the trained labels only.
"""

from __future__ import annotations

import numpy as np

from tagger.engine.vectors import unit

LOGISTIC_ITERATIONS = 500


def _standardise(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both sets scaled by the training photos' per-feature mean and spread."""
    mean, sd = train.mean(0), train.std(0) + 1e-6
    return (train - mean) / sd, (test - mean) / sd


def nearest_class_mean(train: np.ndarray, y: np.ndarray, test: np.ndarray, n_labels: int, *,
                       standardise: bool = False) -> np.ndarray:
    """(n, L) cosine of each test photo to each label's mean unit feature (a label without photos scores 0)."""
    train, test = np.asarray(train, np.float32), np.asarray(test, np.float32)
    if standardise:
        train, test = _standardise(train, test)
    sums = np.zeros((n_labels, train.shape[1]), np.float32)
    np.add.at(sums, np.asarray(y, np.int64), unit(train))
    return unit(test) @ unit(sums).T


def logistic_regression(train: np.ndarray, y: np.ndarray, test: np.ndarray, n_labels: int, *, c: float = 1.0,
                        seed: int = 0) -> np.ndarray:
    """(n, L) logits of a multinomial logistic regression fitted on the standardised training features."""
    from tagger.training.label_model import fit_logistic
    from tagger.training.trainer import single_threaded_torch

    x_train, x_test = _standardise(np.asarray(train, np.float32), np.asarray(test, np.float32))
    with single_threaded_torch():
        w, b = fit_logistic(x_train, y, n_labels, c, seed=seed, iterations=LOGISTIC_ITERATIONS)
    return x_test @ w.T + b
