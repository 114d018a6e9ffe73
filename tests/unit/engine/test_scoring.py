"""Label scoring and the evaluation metrics, on examples small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest

from tagger.engine.scoring import LabelSet, evidence_matrix, hits_at, top_classes
from tagger.engine.wordnet import class_affinity, imagenet_classes, senses
from tagger.research.evaluate import metrics, random_vectors, similarity_at_3


def test_hits_at_k_by_hand():
    scores = np.array([
        [0.9, 0.1, 0.0],  # truth 0 ranked 1st
        [0.9, 0.5, 0.1],  # truth 1 ranked 2nd
        [0.9, 0.5, 0.1],  # truth 2 ranked 3rd
        [0.2, 0.2, 0.2],  # all tied: counts against the truth (rank 3)
    ])
    truth = np.array([0, 1, 2, 0])
    h = hits_at(scores, truth, ks=(1, 2, 3))
    assert h == {1: 0.25, 2: 0.5, 3: 1.0}


def test_metrics_split_by_imagenet_labels():
    scores = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    truth = np.array([0, 1, 1])
    m = metrics(scores, truth, np.array([True, False]))
    assert m["hit@1"] == pytest.approx(2 / 3)
    assert m["imagenet"]["hit@1"] == 1.0 and m["imagenet"]["n_images"] == 1
    assert m["non_imagenet"]["hit@1"] == 0.5 and m["non_imagenet"]["n_labels"] == 1


def test_similarity_at_3_by_hand():
    tags = np.array([[1.0, 0.0], [0.0, 1.0], [np.sqrt(0.5), np.sqrt(0.5)]], np.float32)
    labels = np.array([[1.0, 0.0]], np.float32)
    top3 = np.array([[0, 1, 2]])
    assert similarity_at_3(tags, top3, labels, np.array([0])) == pytest.approx((1 + 0 + np.sqrt(0.5)) / 3, abs=1e-6)


def test_top_classes_are_sorted_and_renormalised():
    logits = np.log(np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]], np.float32))
    idx, p = top_classes(logits, 2)
    assert idx.tolist() == [[1, 2], [0, 2]]
    np.testing.assert_allclose(p, [[0.6 / 0.9, 0.3 / 0.9], [0.5 / 0.8, 0.3 / 0.8]], rtol=1e-5)


def test_evidence_matrix_places_probabilities():
    m = evidence_matrix(np.array([[3, 7]], np.int16), np.array([[0.75, 0.25]], np.float32)).toarray()
    assert m.shape == (1, 1000) and m[0, 3] == 0.75 and m[0, 7] == 0.25 and m.sum() == 1.0


def test_wordnet_affinity_follows_the_taxonomy():
    names = {c.label: c.index for c in imagenet_classes()}
    kangaroo = class_affinity("kangaroo")
    assert kangaroo[names["wallaby"]] == 1.0  # a wallaby is a kangaroo
    gerenuk = class_affinity("gerenuk")
    assert gerenuk[names["impala"]] == 0.5 and gerenuk[names["gazelle"]] == 0.5  # cousins, one hop up
    assert gerenuk[names["wallaby"]] < 0.1
    assert not class_affinity("zorblax").any()
    assert senses("headphones") and senses("ceiling fan")  # plural and head-noun fallbacks


def test_label_scores_fuse_word_and_taxonomy_and_correct_hubs():
    names = {c.label: c.index for c in imagenet_classes()}
    class_vectors = random_vectors([c.label for c in imagenet_classes()], 8)
    labels = ["kangaroo", "zorblax"]
    vectors = random_vectors(labels, 8)
    plain = LabelSet.build(labels, vectors, class_vectors, use_wordnet=False)
    fused = LabelSet.build(labels, vectors, class_vectors, use_wordnet=True)
    emb = vectors[1:2]  # the photo's embedding points exactly at "zorblax"
    cls = np.array([[names["wallaby"]]], np.int16)
    probs = np.array([[1.0]], np.float32)
    s_plain = plain.scores(emb, cls, probs, hub_correction=False)[0]
    assert s_plain[1] == pytest.approx(1.0, abs=1e-6)
    s_fused = fused.scores(emb, cls, probs, hub_correction=False)[0]
    assert s_fused[0] == pytest.approx(0.5 * (vectors[0] @ vectors[1] + 1.0), abs=1e-6)  # wallaby evidence counts
    assert s_fused[1] == pytest.approx(0.5, abs=1e-6)  # WordNet does not know zorblax
    corrected = fused.scores(emb, cls, probs)[0]
    np.testing.assert_allclose(corrected, s_fused - 0.5 * fused.hub, atol=1e-6)
    assert fused.hub[0] > fused.hub[1]  # kangaroo is close to every marsupial class, zorblax to none


def test_top_k_matches_full_sort(rng):
    class_vectors = rng.standard_normal((1000, 6)).astype(np.float32)
    labels = [f"w{i}" for i in range(50)]
    ls = LabelSet.build(labels, rng.standard_normal((50, 6)).astype(np.float32), class_vectors, use_wordnet=False)
    emb = rng.standard_normal((7, 6)).astype(np.float32)
    cls, p = np.zeros((7, 1), np.int16), np.ones((7, 1), np.float32)
    idx, val = ls.top(emb, cls, p, 5, chunk=3)
    full = ls.scores(emb, cls, p)
    np.testing.assert_array_equal(idx, np.argsort(-full, axis=1)[:, :5])
    np.testing.assert_allclose(val, np.sort(full, axis=1)[:, ::-1][:, :5], rtol=1e-6)
