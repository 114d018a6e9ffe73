"""WordNet from its array cache: the same answers as parsing the text files, without parsing them at start."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from tagger.engine import wordnet as wn

WORDS = ["dog", "person", "mouse", "boat", "sunset", "grand piano", "ceiling fan", "kid", "headphones", "zorblax",
         "beach", "Dalmatian", "t-shirt"]


def _fresh() -> None:
    for f in (wn.wordnet, wn._sense_counts, wn._classes_under, wn._meets_specifically, wn.class_affinity,
              wn._arrays):
        getattr(f, "cache_clear", lambda: None)()  # _arrays may be a test's stand-in


@pytest.fixture
def parsed():
    """The WordNet and sense counts as the text files say, parsed directly."""
    return wn._parse_wordnet(), wn._parse_senses()


def test_cached_wordnet_answers_as_parsed(parsed) -> None:
    _fresh()
    net, senses = parsed
    cached = wn.wordnet()
    assert cached is not net and type(cached.by_lemma) is not dict  # really the array-backed one
    for word in WORDS:
        key = wn.normalise_lemma(word)
        assert cached.synsets(word) == net.synsets(word)
        assert wn._sense_counts().get(key, {}) == senses.get(key, {})
        for s in net.synsets(word):
            assert cached.lemmas[s] == net.lemmas[s]
            assert cached.parents.get(s) == net.parents.get(s) and cached.children[s] == net.children[s]
            assert cached.ancestors(s) == net.ancestors(s) and cached.depth(s) == wn._depth(net, s)
    assert len(cached.lemmas) == len(net.lemmas) and list(cached.lemmas)[:50] == list(net.lemmas)[:50]
    assert len(cached.parents) == len(net.parents) and len(cached.by_lemma) == len(net.by_lemma)
    assert cached.parents["n00001740"] == [] and "n00001740" not in cached.parents  # the root, as a defaultdict


def test_affinity_from_cache_equals_parsed(parsed, monkeypatch) -> None:
    _fresh()
    net, senses = parsed
    cached = [wn.class_affinity(w).copy() for w in WORDS]
    tags = [wn.class_affinity(w, 0.5, 0.7).copy() for w in WORDS]
    _fresh()
    monkeypatch.setattr(wn, "_arrays", lambda: None)  # the fallback: parse the text files
    assert all(np.array_equal(a, wn.class_affinity(w)) for a, w in zip(cached, WORDS))
    assert all(np.array_equal(a, wn.class_affinity(w, 0.5, 0.7)) for a, w in zip(tags, WORDS))
    _fresh()


def test_second_start_reads_no_text_file(monkeypatch) -> None:
    _fresh()
    wn.wordnet()  # builds the cache if needed
    _fresh()

    def no_parse(*a, **k):
        raise AssertionError("parsed a WordNet text file although the cache exists")

    monkeypatch.setattr(gzip, "open", no_parse)
    assert wn.wordnet().synsets("dog") and wn.sense_weights("person")
    _fresh()
