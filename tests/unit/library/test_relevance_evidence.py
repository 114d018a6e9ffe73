"""Issue 16 ("speed"): the query path scores the photos' class evidence without a sparse matrix, to the same numbers."""

from __future__ import annotations

import numpy as np
import pytest

from tagger.engine.scoring import TAG_DELTA, LabelSet, evidence_matrix
from tagger.library import relevance


def _evidence(n: int = 200, t: int = 10, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    classes = np.stack([rng.choice(1000, t, replace=False) for _ in range(n)]).astype(np.int16)
    probs = rng.dirichlet(np.ones(t), n).astype(np.float32)
    return classes, probs


def test_class_evidence_gives_the_sparse_products():
    classes, probs = _evidence()
    sparse_ev = evidence_matrix(classes, probs)
    ev = relevance.ClassEvidence.of(classes, probs)
    assert ev.shape == sparse_ev.shape
    weights = np.random.default_rng(1).random((1000, 3)).astype(np.float32)
    assert ev.weigh(weights) == pytest.approx(np.asarray(sparse_ev @ weights), abs=1e-6)
    assert ev.weigh(weights[:, 0]) == pytest.approx(np.asarray(sparse_ev @ weights[:, 0]).ravel(), abs=1e-6)
    cols = np.unique(classes[:20].ravel())[:50]
    assert ev.mass(cols) == pytest.approx(np.asarray(sparse_ev[:, cols].sum(axis=1)).ravel(), abs=1e-6)
    from tagger.engine.wordnet import class_affinity

    dogs = np.flatnonzero(class_affinity("dog") >= relevance.OWN_AFFINITY)
    assert relevance.taxonomy_probability("dog", ev) == pytest.approx(
        np.asarray(sparse_ev.tocsc()[:, dogs].sum(axis=1)).ravel(), abs=1e-6)


@pytest.mark.parametrize("text", ["dog", "boat", "food", "zorblax"])
def test_a_query_word_scores_on_the_tag_scale_as_a_label_set_does(text):
    """The match line compares a query with the photo's best stored tag: both must be scored by one recipe."""
    rng = np.random.default_rng(2)
    class_vectors = rng.normal(size=(1000, 16)).astype(np.float32)
    class_vectors /= np.linalg.norm(class_vectors, axis=1, keepdims=True)
    vector = rng.normal(size=16).astype(np.float32)
    vector /= np.linalg.norm(vector)
    embeddings = rng.normal(size=(200, 16)).astype(np.float32)
    classes, probs = _evidence()
    labels = LabelSet.build([text], vector[None], class_vectors, delta=TAG_DELTA)
    word = relevance.QueryWord.build(text, vector, class_vectors, delta=TAG_DELTA)
    assert word.hub == pytest.approx(float(labels.hub[0]), abs=1e-6)
    assert word.affinity == pytest.approx(labels.affinity.toarray()[:, 0], abs=1e-7)
    # the tag vocabulary's recipe: word and taxonomy fused even where WordNet does not know the word
    taxonomic = (evidence_matrix(classes, probs) @ labels.affinity).toarray()[:, 0]
    want = 0.5 * (embeddings @ labels.vectors[0] + taxonomic) - 0.5 * labels.hub[0]
    got = relevance.tag_scale(word, embeddings, relevance.ClassEvidence.of(classes, probs))
    assert got == pytest.approx(want, abs=1e-5)


def test_an_empty_library_has_empty_evidence():
    """A catalog with no indexed photo yet: the table is (0, 0) and every query must still answer (no photo)."""
    ev = relevance.ClassEvidence.of(np.zeros((0, 0), np.int16), np.zeros((0, 0), np.float32))
    assert ev.shape == (0, 1000)
    assert ev.weigh(np.ones(1000, np.float32)).shape == (0,)
    assert relevance.taxonomy_probability("dog", ev).shape == (0,)
