"""Prototypes refined on the unlabelled library (``library_prototypes``) and the instant label model built on them
(``prototype_model``): small synthetic worlds, no model build, milliseconds."""

from __future__ import annotations

import numpy as np
import pytest

from tagger.engine.label_scorer import (
    DEFAULT_MIX,
    REFINE_MAX_PHOTOS,
    Gate,
    OpenSet,
    library_prototypes,
    library_sample,
    load_open_set,
    prototype_model,
    prototype_sums,
    prototypes,
    save_open_set,
)
from tagger.engine.vectors import unit

N_LABELS, DIM = 40, 512


def _clusters(seed: int = 0, spread: float = 1.5):
    """Unit vectors around ``N_LABELS`` random centres in a wide space (each label a few percent of the library, as
    in a real one): a draw of ``per_label`` photos of each of ``labels``, with their labels."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.normal(size=(N_LABELS, DIM))).astype(np.float32)

    def draw(per_label: int, labels: int = N_LABELS):
        y = np.repeat(np.arange(labels), per_label)
        return unit(centres[y] + spread * rng.normal(size=(len(y), DIM)) / np.sqrt(DIM)).astype(np.float32), y

    return centres, draw


def _alignment(protos: np.ndarray, centres: np.ndarray) -> float:
    return float(np.mean(np.sum(unit(protos) * centres[: len(protos)], 1)))


def test_the_library_moves_one_photo_prototypes_toward_their_labels():
    """One labelled photo a label is a noisy prototype; the unlabelled library holds twenty more of each label, and
    the refined prototypes are much nearer the true centres."""
    centres, draw = _clusters(0)
    labelled, y = draw(1)
    library, _ = draw(20)
    plain = prototypes(labelled, y, N_LABELS)
    refined = library_prototypes(labelled, y, N_LABELS, library)
    assert _alignment(refined, centres) > _alignment(plain, centres) + 0.3


def test_photos_of_labels_nobody_trained_stay_out_of_the_prototypes():
    """Three labels trained among forty: every library photo is *some* trained label's best, so a softmax alone pulls
    the whole library in and the prototypes drift away from their labels; the floor (a photo must stand out for the
    label, against the library's own cosines to it) keeps them on their labels."""
    for seed in range(3):
        centres, draw = _clusters(seed)
        labelled, y = draw(1, labels=3)
        library, _ = draw(20)
        plain = prototypes(labelled, y, 3)
        refined = library_prototypes(labelled, y, 3, library)
        unguarded = library_prototypes(labelled, y, 3, library, min_z=-np.inf)
        assert _alignment(unguarded, centres) < _alignment(plain, centres)  # what the floor is for
        assert _alignment(refined, centres) > _alignment(plain, centres) + 0.2


def test_without_a_library_or_at_weight_zero_the_prototypes_are_the_labelled_photos():
    u = np.eye(2, DIM, dtype=np.float32)
    y = np.array([0, 1])
    _, draw = _clusters(1)
    library, _ = draw(5)
    np.testing.assert_allclose(library_prototypes(u, y, 2, u[:0]), u)
    np.testing.assert_allclose(library_prototypes(u, y, 2, library, weight=0.0), u)


def test_a_label_without_labelled_photos_takes_no_library_photo():
    """Otherwise a zero prototype (cosine 0) would collect every photo that is negative to the labelled ones."""
    u = np.eye(1, DIM, dtype=np.float32)
    library = -unit(np.abs(np.random.default_rng(1).normal(size=(20, DIM)))).astype(np.float32)
    out = library_prototypes(u, np.array([0]), 3, library)
    assert not out[1:].any()


def test_a_confidence_below_half_is_refused():
    u = np.eye(2, DIM, dtype=np.float32)
    with pytest.raises(ValueError):
        library_prototypes(u, np.array([0, 1]), 2, u, confidence=0.4)


def test_a_large_library_is_sampled_evenly_and_a_small_one_kept_whole():
    small = np.arange(10, dtype=np.float32)[:, None]
    assert library_sample(small) is small
    big = np.arange(REFINE_MAX_PHOTOS * 3 + 7, dtype=np.float32)[:, None]
    sample = library_sample(big)
    assert len(sample) == REFINE_MAX_PHOTOS and sample[0, 0] == 0 and sample[-1, 0] == len(big) - 1
    np.testing.assert_array_equal(sample, library_sample(big))


def _features(seed: int = 0):
    """Non-negative pooled-activation-like features: a sparse pattern per label times multiplicative noise, and
    zero-shot scores that know a little."""
    rng = np.random.default_rng(seed)
    patterns = rng.gamma(0.6, 1.0, (10, 48)).astype(np.float32)

    def draw(per_label: int, labels: int = 10):
        y = np.repeat(np.arange(labels), per_label)
        x = (patterns[y] * np.exp(rng.normal(0, 1.4, (len(y), 48)))).astype(np.float32)
        zero = rng.normal(0, 0.1, (len(y), 10)).astype(np.float32)
        zero[np.arange(len(y)), y] += 0.1
        return x, y, zero

    return draw


def test_the_instant_model_refines_its_prototypes_on_the_library():
    """``prototype_model`` (what a label is scored by before any training) with the library: its prototypes are the
    labelled photos' refined on the library, in its own feature map; without one, exactly today's model."""
    draw = _features(0)
    x, y, zero = draw(2)
    library, _, _ = draw(30)
    alone = prototype_model(x, y, zero, 10)
    helped = prototype_model(x, y, zero, 10, library=library)
    u = unit(alone.fmap.apply(x))
    np.testing.assert_allclose(helped.prototypes, unit(library_prototypes(u, y, 10, unit(alone.fmap.apply(library)))),
                               atol=1e-5)
    np.testing.assert_array_equal(alone.prototypes, prototypes(u, y, 10))
    np.testing.assert_array_equal(prototype_model(x, y, zero, 10, library=None).prototypes, alone.prototypes)
    assert helped.library_photos == len(library) and alone.library_photos == 0
    assert helped.mix == alone.mix == DEFAULT_MIX  # the default refines on a library whenever it is given one


def test_prototype_sums_are_per_label_sums():
    u = np.eye(3, 4, dtype=np.float32)
    np.testing.assert_allclose(prototype_sums(u, np.array([0, 0, 2]), 3), [[1, 1, 0, 0], [0, 0, 0, 0], [0, 0, 1, 0]])


def test_a_saved_model_with_library_prototypes_loads_the_same(tmp_path):
    draw = _features(2)
    x, y, zero = draw(3, labels=6)
    library, _, _ = draw(10)
    model = prototype_model(x, y, zero[:, :6], 6, library=library)
    trained = np.array([True] * 6 + [False] * 4)
    open_set = OpenSet(model, trained, Gate(), None)
    save_open_set(tmp_path / "m.npz", open_set, [f"w{i}" for i in range(6)])
    loaded, labels = load_open_set(tmp_path / "m.npz")
    assert labels == [f"w{i}" for i in range(6)] and loaded.model.mix == model.mix
    x_test, _, zero_test = draw(2)
    np.testing.assert_allclose(loaded.scores(x_test, zero_test), open_set.scores(x_test, zero_test), atol=1e-3)


def test_a_model_saved_before_the_library_weight_still_loads(tmp_path):
    """Files written before ``Mix.library`` hold five mix numbers."""
    draw = _features(3)
    x, y, zero = draw(2, labels=4)
    open_set = OpenSet(prototype_model(x, y, zero[:, :4], 4), np.array([True] * 4 + [False] * 6), Gate(), None)
    path = tmp_path / "old.npz"
    save_open_set(path, open_set, ["a", "b", "c", "d"])
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["mix"] = arrays["mix"][:5]
    np.savez(path, **arrays)
    loaded, _ = load_open_set(path)
    assert loaded.model.mix.library == 0.0 and loaded.model.mix.prior == open_set.model.mix.prior
