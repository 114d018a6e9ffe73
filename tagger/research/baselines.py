"""The simple few-shot baselines a label scorer must beat, on the backbone features the catalog stores.

- ``nearest_class_mean``: cosine to the mean of each label's L2-normalised (optionally standardised first) features;
  no training at all.
- ``logistic_regression``: multinomial, L2, on standardised features, with scikit-learn's default objective (sum of
  cross-entropies + |W|^2 / 2C, C = 1) solved to convergence by L-BFGS; scikit-learn is not a dependency, the solver is
  the label model's (``tagger.training.label_model.fit_logistic``).

Both are closed-set classifiers: they score the trained labels only.

Beside them, to show where the label model's use of the unlabelled library pays (not baselines of the issue: they see
the library): ``library_nearest_class_mean``, nearest-class-mean on the label model's feature map (square root, unit
length, standardised) with the library's statistics (SimpleShot's centring by the base data), or with the prototypes
refined on the library as the label model's are.
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


def library_nearest_class_mean(train: np.ndarray, y: np.ndarray, test: np.ndarray, n_labels: int,
                               library: np.ndarray, *, refine: bool = False) -> np.ndarray:
    """(n, L) cosine to each label's prototype on features mapped by the label model's ``FeatureMap``.

    Without ``refine``: the map's statistics are those of ``library`` (every photo, unlabelled) instead of the
    training photos' (library centring). With ``refine``: the label model's prototype part itself, the map of the
    training photos and the prototypes refined on the library (``library_prototypes``)."""
    from tagger.engine.label_scorer import FeatureMap, library_prototypes, library_sample

    sample = library_sample(np.asarray(library, np.float32))
    fmap = FeatureMap.of(train if refine else sample)
    u_train, u_test = unit(fmap.apply(train)), unit(fmap.apply(test))
    u_library = unit(fmap.apply(sample)) if refine else u_train[:0]
    return u_test @ unit(library_prototypes(u_train, np.asarray(y, np.int64), n_labels, u_library)).T


def logistic_regression(train: np.ndarray, y: np.ndarray, test: np.ndarray, n_labels: int, *, c: float = 1.0,
                        seed: int = 0) -> np.ndarray:
    """(n, L) logits of a multinomial logistic regression fitted on the standardised training features."""
    from tagger.training.label_model import fit_logistic
    from tagger.training.trainer import single_threaded_torch

    x_train, x_test = _standardise(np.asarray(train, np.float32), np.asarray(test, np.float32))
    with single_threaded_torch():
        w, b = fit_logistic(x_train, y, n_labels, c, seed=seed, iterations=LOGISTIC_ITERATIONS)
    return x_test @ w.T + b
