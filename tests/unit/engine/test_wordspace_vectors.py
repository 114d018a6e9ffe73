"""The memory-mapped word vectors give exactly fastText's vectors, without fastText's loader on later loads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tagger.engine import wordspace_vectors
from tagger.engine.wordspace import WordSpace

CORPUS = ("the dog ran to the café near the naïve über fox . 日本語 の 犬 が 走る . the cat sat on the mat . "
          "boats at sunset on the lake , a façade of crème brûlée . łódź żółw straße ") * 40
WORDS = ["dog", "café", "naïve", "über", "日本語", "犬", "straße", "łódź", "</s>",  # in the vocabulary
         "dogs", "cafés", "naïvety", "überall", "日本", "犬たち", "strasse", "zorblax", "a", "x", "ø", "ab",  # outside
         "t-shirt", "ﬁne", "e\u0301té", "🙂dog", "a" * 40]


@pytest.fixture(scope="module")
def space(tmp_path_factory) -> Path:
    import fasttext

    folder = tmp_path_factory.mktemp("ft")
    corpus = folder / "corpus.txt"
    corpus.write_text(CORPUS + "\n", encoding="utf-8")
    model = fasttext.train_unsupervised(str(corpus), dim=12, minCount=1, epoch=2, bucket=5003, minn=2, maxn=5,
                                        verbose=0, thread=1)
    model.save_model(str(folder / "space.bin"))
    return folder / "space.bin"


@pytest.fixture(scope="module")
def reference(space):
    import fasttext

    return fasttext.load_model(str(space))


def test_first_load_builds_the_cache_and_later_loads_use_it(space):
    meta_path, vectors_path, words_path = wordspace_vectors.cache_paths(space)
    first = WordSpace.load(space)
    assert meta_path.is_file() and vectors_path.is_file() and words_path.is_file()
    assert isinstance(first._model, wordspace_vectors.MappedVectors)
    again = WordSpace.load(space)
    assert isinstance(again._model, wordspace_vectors.MappedVectors)
    assert again.header == first.header and again.words() == first.words()


@pytest.mark.parametrize("word", WORDS)
def test_word_vectors_equal_fasttexts(space, reference, word):
    ws = WordSpace.load(space)
    assert isinstance(ws._model, wordspace_vectors.MappedVectors)
    assert (word in ws) == (reference.get_word_id(word) >= 0)
    np.testing.assert_allclose(ws.word_vector(word), reference.get_word_vector(word), atol=1e-5, rtol=0)


def test_phrases_and_neighbours_equal_fasttexts(space, reference):
    mapped = WordSpace.load(space)
    plain = WordSpace(space, reference, mapped.header)
    for text in ("boats at sunset", "a naïve dog", "crème brûlée façade", "犬 日本語", "zorblax t-shirt"):
        np.testing.assert_allclose(mapped.text_vector(text), plain.text_vector(text), atol=1e-5, rtol=0)
        q = plain.text_vector(text)
        assert [w for w, _ in mapped.nearest(q, 5)] == [w for w, _ in plain.nearest(q, 5)]
    assert mapped.words() == plain.words()


def test_a_changed_file_rebuilds_the_cache(space, tmp_path):
    copy = tmp_path / "copy.bin"
    copy.write_bytes(space.read_bytes())
    WordSpace.load(copy)
    meta_path = wordspace_vectors.cache_paths(copy)[0]
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "mtime_ns": meta["mtime_ns"] - 1}))
    assert wordspace_vectors.open_cached(copy) is None
    WordSpace.load(copy)
    assert wordspace_vectors.open_cached(copy) is not None


def test_a_read_only_folder_falls_back_to_fasttext(space, tmp_path, monkeypatch):
    monkeypatch.setattr(wordspace_vectors, "atomic_path", _fail)
    copy = tmp_path / "ro.bin"
    copy.write_bytes(space.read_bytes())
    ws = WordSpace.load(copy)
    assert not isinstance(ws._model, wordspace_vectors.MappedVectors) and "dog" in ws


def _fail(*_a, **_k):
    raise PermissionError("read-only")


def test_a_cached_load_does_not_import_fasttext(space):
    WordSpace.load(space)
    code = ("import sys; from tagger.engine.wordspace import WordSpace; "
            f"ws = WordSpace.load({str(space)!r}); ws.text_vector('zorblax dog'); print('fasttext' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
