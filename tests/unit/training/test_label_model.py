"""The label model on small synthetic data (seconds; no model build): it learns separable labels from one photo each
at least as well as nearest-class-mean, its hyper-parameters come from the training photos, untrained words stay
findable behind the calibrated gate, and a seed fixes every number."""

from __future__ import annotations

import numpy as np
import pytest

from tagger.research.baselines import nearest_class_mean
from tagger.training.label_model import (
    DEFAULT_MIX,
    fit_label_model,
    fit_logistic,
    fit_open_set,
    stratified_folds,
)

N_LABELS, DIM = 8, 48


def _world(seed: int = 0, n_labels: int = N_LABELS):
    """Labels as activation patterns of a non-negative, sparse, heavy-tailed feature space (what pooled CNN activations
    look like), photos as their label's pattern with multiplicative noise, and zero-shot scores that know a little
    about every label (the word space): the truth gets +0.15 over noise."""
    rng = np.random.default_rng(seed)
    centres = rng.gamma(0.6, 1.0, (n_labels, DIM)).astype(np.float32)

    def photos(per_label: int, noise: float = 1.6):
        y = np.repeat(np.arange(n_labels), per_label)
        x = (centres[y] * np.exp(rng.normal(0, noise, (len(y), DIM)))).astype(np.float32)
        zero = rng.normal(0, 0.1, (len(y), n_labels)).astype(np.float32)
        zero[np.arange(len(y)), y] += 0.15
        return x, y, zero

    return photos


def _accuracy(scores: np.ndarray, y: np.ndarray) -> float:
    return float((scores.argmax(1) == y).mean())


def test_one_photo_a_label_beats_chance_and_matches_nearest_class_mean():
    photos = _world(0)
    x_test, y_test, zero_test = photos(60)
    ours, ncm = [], []
    for draw in range(5):
        x, y, zero = photos(1)
        model = fit_label_model(x, y, zero, N_LABELS, seed=draw)
        assert model.mix == DEFAULT_MIX and model.source.startswith("default")  # one photo: nothing to hold out
        ours.append(_accuracy(model.logits(x_test, zero_test), y_test))
        ncm.append(_accuracy(nearest_class_mean(x, y, x_test, N_LABELS), y_test))
    assert np.mean(ours) > 2.5 / N_LABELS  # chance is 1/8
    assert np.mean(ours) >= np.mean(ncm)


def test_more_photos_are_cross_validated_and_learn_better():
    photos = _world(1)
    x_test, y_test, zero_test = photos(60)
    x, y, zero = photos(5)
    model = fit_label_model(x, y, zero, N_LABELS, seed=0)
    assert model.source.startswith("cross-validation (3 folds, 40 held-out photos)")
    assert 0 <= model.cv_accuracy <= 1 and len(model.grid) > 100
    five = _accuracy(model.logits(x_test, zero_test), y_test)
    one = _accuracy(fit_label_model(x[::5], y[::5], zero[::5], N_LABELS).logits(x_test, zero_test), y_test)
    assert five > one
    assert five >= _accuracy(nearest_class_mean(x, y, x_test, N_LABELS), y_test) - 0.02
    log_p = model.log_probs(x_test, zero_test)
    np.testing.assert_allclose(np.exp(log_p).sum(1), 1.0, rtol=1e-4)


def test_the_zero_shot_prior_counts_when_photos_are_ambiguous():
    """Features that say nothing (pure noise): the learner falls back on the prior and does as well as it."""
    rng = np.random.default_rng(2)
    y = np.repeat(np.arange(N_LABELS), 4)
    x = rng.random((len(y), DIM)).astype(np.float32)
    zero = rng.normal(0, 0.1, (len(y), N_LABELS)).astype(np.float32)
    zero[np.arange(len(y)), y] += 0.3
    y_test = np.repeat(np.arange(N_LABELS), 20)
    x_test = rng.random((len(y_test), DIM)).astype(np.float32)
    zero_test = rng.normal(0, 0.1, (len(y_test), N_LABELS)).astype(np.float32)
    zero_test[np.arange(len(y_test)), y_test] += 0.3
    model = fit_label_model(x, y, zero, N_LABELS, seed=0)
    assert model.mix.prior > 0
    assert _accuracy(model.logits(x_test, zero_test), y_test) >= _accuracy(zero_test, y_test) - 0.05


def _fit_some(photos, shots: int, trained: np.ndarray):
    """(the world, its open set fitted on ``shots`` photos a label of the ``trained`` labels only)."""
    x, y, zero = photos(shots)
    keep = trained[y]
    return photos, fit_open_set(x[keep], y[keep], zero[keep], trained, seed=0)


def test_the_gate_keeps_untrained_labels_findable():
    """Eight labels, six trained: photos of the two untrained ones are found by their zero-shot scores (all eight are
    candidates), photos of the trained ones by the model; without the gate the untrained ones could never win."""
    trained = np.array([True] * 6 + [False] * 2)
    photos, open_set = _fit_some(_world(3), 12, trained)
    assert open_set.gate.source.startswith("pseudo-GZSL")
    x_test, y_test, zero_test = photos(40)
    scores = open_set.scores(x_test, zero_test)
    assert scores.shape == (len(y_test), N_LABELS)
    pred = scores.argmax(1)
    seen, unseen = trained[y_test], ~trained[y_test]
    assert (pred[unseen] == y_test[unseen]).mean() >= 0.5
    assert (pred[seen] == y_test[seen]).mean() >= 0.8
    # scores are log-probabilities of one model: they sum to one over every candidate
    np.testing.assert_allclose(np.exp(scores).sum(1), 1.0, rtol=1e-4)


def test_with_too_few_labels_to_calibrate_the_default_gate_still_lets_other_words_win():
    trained = np.array([True] * 2 + [False] * 6)
    photos, open_set = _fit_some(_world(8), 10, trained)
    assert open_set.gate.source.startswith("default")
    x_test, y_test, zero_test = photos(30)
    pred = open_set.scores(x_test, zero_test).argmax(1)
    seen, unseen = trained[y_test], ~trained[y_test]
    assert (pred[unseen] == y_test[unseen]).mean() >= 0.4
    assert (pred[seen] == y_test[seen]).mean() >= 0.8


def test_one_photo_a_label_with_untrained_words_uses_the_default_gate():
    trained = np.array([True] * 6 + [False] * 2)
    photos, open_set = _fit_some(_world(9), 1, trained)
    assert open_set.gate.source.startswith("default")
    x_test, y_test, zero_test = photos(10)
    scores = open_set.scores(x_test, zero_test)
    np.testing.assert_allclose(np.exp(scores).sum(1), 1.0, rtol=1e-4)
    pred, unseen = scores.argmax(1), ~trained[y_test]
    assert (pred[unseen] == y_test[unseen]).mean() >= 0.5  # untrained words stay findable
    assert (pred[~unseen] == y_test[~unseen]).mean() > 0  # and the trained labels are not shut out


def test_every_candidate_trained_is_a_closed_set():
    photos = _world(4)
    x, y, zero = photos(4)
    open_set = fit_open_set(x, y, zero, np.ones(N_LABELS, bool), seed=0)
    assert open_set.gate.source.startswith("closed set")
    x_test, y_test, zero_test = photos(10)
    np.testing.assert_allclose(open_set.scores(x_test, zero_test), open_set.model.log_probs(x_test, zero_test),
                               atol=1e-5)


def test_a_seed_fixes_every_number():
    photos = _world(5)
    x, y, zero = photos(4)
    x_test, _, zero_test = photos(5)
    trained = np.array([True] * 6 + [False] * 2)
    a = fit_open_set(x[trained[y]], y[trained[y]], zero[trained[y]], trained, seed=7)
    b = fit_open_set(x[trained[y]], y[trained[y]], zero[trained[y]], trained, seed=7)
    assert a.model.mix == b.model.mix and a.gate == b.gate
    np.testing.assert_array_equal(a.scores(x_test, zero_test), b.scores(x_test, zero_test))


def test_folds_never_hold_out_a_labels_last_photo():
    y = np.array([0] * 5 + [1] * 2 + [2])
    folds = stratified_folds(y, 3, seed=0)
    assert folds[7] == -1  # a single photo is never held out
    for fold in range(3):
        kept = y[folds != fold]
        assert {0, 1, 2} <= set(kept.tolist())
    assert sorted(folds[:5].tolist()) == [0, 0, 1, 1, 2]
    np.testing.assert_array_equal(folds, stratified_folds(y, 3, seed=0))


def test_logistic_regression_reaches_the_optimum_of_its_objective():
    """sum of cross-entropies + |W|^2 / 2C (scikit-learn's), bias free: the gradient vanishes at the solution."""
    import torch

    photos = _world(6, n_labels=4)
    x, y, _ = photos(10)
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    c = 1.0
    w, b = fit_logistic(x, y, 4, c, iterations=500)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(torch.from_numpy(x) @ wt.T + bt, torch.from_numpy(y), reduction="sum")
    (loss + (wt ** 2).sum() / (2 * c)).backward()
    assert float(wt.grad.abs().max()) < 1e-2 and float(bt.grad.abs().max()) < 1e-2


def test_no_photos_is_refused():
    with pytest.raises(ValueError):
        fit_label_model(np.zeros((0, DIM), np.float32), np.zeros(0, np.int64), np.zeros((0, 3), np.float32), 3)


def _wide_world(seed: int = 0, n_labels: int = 40, dim: int = 256, spread: float = 1.5):
    """Many labels, each a few percent of the library (as in a real one): non-negative features around random
    directions, and weak zero-shot scores."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_labels, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)

    def photos(per_label: int):
        y = np.repeat(np.arange(n_labels), per_label)
        g = centres[y] + spread * rng.normal(size=(len(y), dim)) / np.sqrt(dim)
        g /= np.linalg.norm(g, axis=1, keepdims=True)
        zero = rng.normal(0, 0.1, (len(y), n_labels)).astype(np.float32)
        zero[np.arange(len(y)), y] += 0.1
        return (np.maximum(g, 0) ** 2).astype(np.float32), y, zero

    return photos


def test_the_library_is_a_choice_of_the_cross_validation():
    """The library (every photo, none labelled, the ones to be scored among them): prototypes refined on it are one
    more option the held-out photos judge, and what is chosen does no worse than the labelled photos alone."""
    photos = _wide_world(0)
    x, y, zero = photos(3)
    library, y_library, zero_library = photos(20)
    alone = fit_label_model(x, y, zero, 40, seed=0)
    helped = fit_label_model(x, y, zero, 40, seed=0, library=library)
    assert {g["library"] for g in helped.grid} == {0.0, 1.0} and {g["library"] for g in alone.grid} == {0.0}
    assert alone.library_photos == 0
    assert helped.library_photos == (len(library) if helped.mix.library else 0)
    assert helped.summary()["library_photos"] == helped.library_photos
    assert _accuracy(helped.logits(library, zero_library), y_library) >= \
        _accuracy(alone.logits(library, zero_library), y_library) - 0.01


def test_one_photo_a_label_refines_on_the_library_by_default():
    photos = _wide_world(0)
    x, y, zero = photos(1)
    library, y_library, zero_library = photos(20)
    model = fit_label_model(x, y, zero, 40, seed=0, library=library)
    assert model.source.startswith("default") and model.library_photos == len(library)
    alone = fit_label_model(x, y, zero, 40, seed=0)
    assert _accuracy(model.logits(library, zero_library), y_library) > \
        _accuracy(alone.logits(library, zero_library), y_library)


def test_untrained_words_stay_findable_with_their_photos_in_the_library():
    """In the app the library holds photos of words nobody trained: the gate is calibrated with that library in play,
    and those photos still go to their words."""
    photos = _world(3)
    x, y, zero = photos(12)
    trained = np.array([True] * 6 + [False] * 2)
    keep = trained[y]
    library, y_library, zero_library = photos(20)
    open_set = fit_open_set(x[keep], y[keep], zero[keep], trained, seed=0, library=library)
    alone = fit_open_set(x[keep], y[keep], zero[keep], trained, seed=0)
    seen, unseen = trained[y_library], ~trained[y_library]
    pred, pred_alone = open_set.scores(library, zero_library).argmax(1), alone.scores(library, zero_library).argmax(1)
    assert (pred[unseen] == y_library[unseen]).mean() >= 0.5
    assert (pred[unseen] == y_library[unseen]).mean() >= (pred_alone[unseen] == y_library[unseen]).mean() - 0.05
    assert (pred[seen] == y_library[seen]).mean() >= (pred_alone[seen] == y_library[seen]).mean() - 0.05
    again = fit_open_set(x[keep], y[keep], zero[keep], trained, seed=0, library=library)
    np.testing.assert_array_equal(again.scores(library, zero_library), open_set.scores(library, zero_library))


def test_the_open_set_keeps_the_library_only_if_pseudo_gzsl_says_so(monkeypatch):
    """The cross-validation sees trained labels' photos only; with untrained words among the candidates the refined
    model must also win the pseudo-GZSL, else the best unrefined model is used (and says so)."""
    import dataclasses

    from tagger.training import label_model

    photos = _wide_world(1)
    x, y, zero = photos(3)
    library, _, _ = photos(20)
    trained = np.array([True] * 30 + [False] * 10)
    keep = trained[y]
    honest = fit_open_set(x[keep], y[keep], zero[keep], trained, seed=0, library=library)
    calibrate = label_model.calibrate_gate

    def refined_loses(*args, **kwargs):
        gate = calibrate(*args, **kwargs)
        return dataclasses.replace(gate, harmonic_mean=0.1 if args[4].library else 0.9)

    monkeypatch.setattr(label_model, "calibrate_gate", refined_loses)
    rigged = fit_open_set(x[keep], y[keep], zero[keep], trained, seed=0, library=library)
    assert rigged.model.library_photos == 0 and rigged.model.mix.library == 0.0
    assert "left unrefined" in rigged.model.source and rigged.gate.harmonic_mean == 0.9
    if honest.model.library_photos:  # this world's cross-validation refines; the honest pseudo-GZSL agreed
        assert "left unrefined" not in honest.model.source


def test_only_the_first_classifier_fit_starts_cold(monkeypatch):
    """Speed at scale (issue 16: 5,784 photos): a cold L-BFGS fit takes ~5x the evaluations of a warm one, so every
    fit but the first starts from a neighbouring solution (the previous fold's, the previous C's), and the refit on
    every photo starts from the cross-validated solutions at the chosen C rather than from the prototypes."""
    import tagger.training.label_model as lm

    calls = []
    real = lm.fit_logistic

    def spy(x, y, n_labels, c=1.0, *, init=None, **kw):
        out = real(x, y, n_labels, c, init=init, **kw)
        calls.append((c, init, out))
        return out

    monkeypatch.setattr(lm, "fit_logistic", spy)
    photos = _world(8)
    x, y, zero = photos(6)
    model = fit_label_model(x, y, zero, N_LABELS, seed=0, mix=None)
    cold = [c for c, init, _ in calls if init is None]
    assert len(cold) == 1
    if model.mix.linear:
        c, init, _ = calls[-1]
        folds = [out[0] for cc, _, out in calls[:-1] if cc == c]
        assert len(folds) == 3
        np.testing.assert_allclose(init[0], np.mean(folds, axis=0), rtol=1e-5, atol=1e-6)


def test_at_scale_two_folds_choose_the_mix():
    """Every label with SCALE_PHOTOS_PER_LABEL photos or more: two folds hold out enough photos to choose the mix
    (issue 16: a third of the fits of a 5,784-photo retraining saved); fewer photos keep three."""
    from tagger.training.label_model import SCALE_PHOTOS_PER_LABEL

    photos = _world(9)
    x, y, zero = photos(SCALE_PHOTOS_PER_LABEL)
    model = fit_label_model(x, y, zero, N_LABELS, seed=0)
    assert model.source.startswith(f"cross-validation (2 folds, {len(y)} held-out photos)")
    x, y, zero = photos(SCALE_PHOTOS_PER_LABEL - 1)
    assert fit_label_model(x, y, zero, N_LABELS, seed=0).source.startswith("cross-validation (3 folds")
