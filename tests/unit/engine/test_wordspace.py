"""Word space: the GloVe -> fastText build and the WordSpace loader, on a small (8k words, 20k buckets) build."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pytest

from tagger.engine.wordspace import WordSpace, WordSpaceError, read_fasttext_header
from tagger.engine.wordspace_build import (
    DEFAULT_WORD_SPACE_ID,
    build_glove_fasttext,
    heldout_ranks,
    is_clean_token,
    load_glove,
    word_space_id,
)

N_WORDS, BUCKET = 8000, 20000
SMALL = dict(n_words=N_WORDS, bucket=BUCKET, seed=0, probes=("footballs",))


@pytest.fixture(scope="module")
def glove() -> tuple[list[str], np.ndarray]:
    words, vectors = load_glove()
    clean = [i for i, w in enumerate(words) if is_clean_token(w)]
    return [words[i] for i in clean], np.asarray(vectors[clean[:N_WORDS]])


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("wordspace") / "small.bin"
    return path, build_glove_fasttext(path, **SMALL)


@pytest.fixture(scope="module")
def ws(built) -> WordSpace:
    return WordSpace.load(built[0])


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_report(built):
    path, report = built
    assert report["n_words"] == N_WORDS and report["bucket"] == BUCKET and report["dim"] == 50
    assert report["heldout_n"] >= 0.05 * N_WORDS
    assert report["invocab_max_abs_error"] < 1e-5  # float32 rounding only
    assert report["file_bytes"] == path.stat().st_size
    header = read_fasttext_header(path)
    assert (header.nwords, header.bucket, header.input_rows) == (N_WORDS, BUCKET, N_WORDS + BUCKET)
    assert report["word_space_id"] != DEFAULT_WORD_SPACE_ID == word_space_id()
    assert "footballs" in report["probes"]


def test_invocab_vectors_are_glove_exactly(ws, glove):
    words, vectors = glove
    held = heldout_ranks(len(words), N_WORDS, 0.05, 0)
    for r in [0, 1, 17, 500, 4321, N_WORDS - 1, *held[:20]]:  # held-out words keep their exact vectors too
        assert words[r] in ws
        np.testing.assert_allclose(ws.word_vector(words[r]), vectors[r], rtol=0, atol=1e-5)
        assert ws.word_vector(words[r]).dtype == np.float32


def test_heldout_cosine_beats_control(built):
    report = built[1]
    # measured on this build: 0.56 held-out vs 0.50 for "predict the mean direction" (frequent words share a
    # large common direction at 8k words; at the default 150k words the control is 0.17)
    assert report["heldout_mean_cosine"] > 0.45
    assert report["heldout_mean_cosine"] > report["heldout_control_mean_vector_cosine"] + 0.03


@pytest.mark.parametrize("oov, base", [
    ("footballs", "football"), ("baseballs", "baseball"), ("squares", "square"), ("coasts", "coast"),
    ("beautifull", "beautiful"), ("footbal", "football"),
])
def test_oov_neighbours_include_base_word(ws, oov, base):
    assert oov not in ws and base in ws
    assert base in [w for w, _ in ws.nearest(ws.word_vector(oov), 5)]


def test_vocabulary(ws):
    words = ws.words()
    assert len(words) == len(ws) == N_WORDS == len(set(words))
    assert all(is_clean_token(w) for w in words)
    assert "the" in ws and "footballs" not in ws and 3 not in ws and "\ud800" not in ws


def test_phrase_vectors(ws):
    v = ws.text_vector("Red  CAR")
    assert v.dtype == np.float32 and v.shape == (50,)
    assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-5)
    unit = lambda x: x / np.linalg.norm(x)
    np.testing.assert_allclose(v, unit(unit(ws.word_vector("red")) + unit(ws.word_vector("car"))), atol=1e-6)
    np.testing.assert_allclose(ws.text_vector("red_car"), v, atol=1e-7)
    np.testing.assert_allclose(ws.text_vector("red-car, "), v, atol=1e-7)
    np.testing.assert_allclose(ws.text_vector("footballs"), unit(ws.word_vector("footballs")), atol=1e-6)
    m = ws.text_vectors(["red car", "", "dog"])
    assert m.shape == (3, 50) and m.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(m, axis=1), [1, 0, 1], atol=1e-5)
    assert ws.text_vectors([]).shape == (0, 50)


@pytest.mark.parametrize("text", ["", "   ", "!!! ???", "___", "--", "- _ -", "1234", "\ud800", None, 42])
def test_garbage_text_is_zero_vector(ws, text):
    v = ws.text_vector(text)
    assert v.shape == (50,) and v.dtype == np.float32 and not v.any()


def test_nearest(ws):
    top = ws.nearest(ws.word_vector("king"), 3)
    assert top[0][0] == "king" and top[0][1] == pytest.approx(1.0, abs=1e-5)
    assert len(top) == 3 and top[0][1] >= top[1][1] >= top[2][1]
    cands = ["banana", "queen", "car", "ice cream"]
    got = ws.nearest(ws.text_vector("king"), 10, candidates=cands)
    assert [w for w, _ in got][0] == "queen" and sorted(w for w, _ in got) == sorted(cands)
    assert ws.nearest(np.zeros(50), 5) == [] and ws.nearest(ws.word_vector("king"), 0) == []
    with pytest.raises(ValueError):
        ws.nearest(np.ones(7), 3)


def _damaged(built, tmp_path) -> list[Path]:
    good = built[0].read_bytes()
    header = read_fasttext_header(built[0])
    dict_end = len(good) - (header.input_rows * header.dim * 4 + 16) - (1 + 16) - 1
    cases = {
        "empty.bin": b"",
        "text.bin": b"this is not a model\n" * 100,
        "random.bin": np.random.default_rng(0).bytes(100_000),
        "head.bin": good[:10],
        "args.bin": good[:60],
        "mid-dictionary.bin": good[: dict_end // 2],
        "after-dictionary.bin": good[:dict_end],
        "mid-matrix.bin": good[: len(good) // 2],
        "one-short.bin": good[:-1],
        "trailing-junk.bin": good + b"\0" * 8,
        "version.bin": good[:4] + (13).to_bytes(4, "little") + good[8:],
        "huge-dim.bin": good[:8] + (10**9).to_bytes(4, "little", signed=True) + good[12:],
    }
    paths = []
    for name, data in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        paths.append(p)
    return paths + [tmp_path / "missing.bin", tmp_path]


def test_damaged_files_raise_wordspace_error(built, tmp_path):
    for path in _damaged(built, tmp_path):
        with pytest.raises(WordSpaceError, match=re.escape(str(path))):
            WordSpace.load(path)
    assert issubclass(WordSpaceError, ValueError)


def test_loads_other_fasttext_models(tmp_path):
    """Any dense fastText .bin works, whatever its dimension (here a 7-d skipgram with a normal output matrix)."""
    import fasttext

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("the cat sat on the mat with another cat\n" * 50)
    model = fasttext.train_unsupervised(str(corpus), dim=7, minCount=1, epoch=1, bucket=1000, verbose=0)
    model.save_model(str(tmp_path / "seven.bin"))
    ws = WordSpace.load(tmp_path / "seven.bin")
    assert ws.dim == 7 and "cat" in ws and ws.header.output_rows == len(ws)
    assert ws.text_vector("cats on mats").shape == (7,)
    assert ws.nearest(ws.word_vector("cat"), 1)[0][0] == "cat"


def test_build_is_deterministic_and_silent(built, tmp_path, capfd):
    path, report = built
    again = build_glove_fasttext(tmp_path / "again.bin", **SMALL)
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert again["sha256"] == report["sha256"] == _sha(path) == _sha(tmp_path / "again.bin")
    other = build_glove_fasttext(tmp_path / "other.bin", **{**SMALL, "seed": 1})
    assert other["sha256"] != report["sha256"]


def test_failed_build_leaves_no_file(tmp_path):
    target = tmp_path / "space.bin"
    target.write_bytes(b"previous build")
    stale, running = tmp_path / ".space.bin.99999.partial", tmp_path / ".space.bin.88888.partial"
    stale.write_bytes(b"left by a killed build")
    os.utime(stale, (1e9, 1e9))
    running.write_bytes(b"another build, still running")
    stages = []

    def progress(stage: str, done: int, total: int) -> None:
        stages.append(stage)
        if stage == "verify":
            raise KeyboardInterrupt  # like a user stopping the build after the file was written

    with pytest.raises(KeyboardInterrupt):
        build_glove_fasttext(target, progress=progress, **SMALL)
    assert target.read_bytes() == b"previous build"
    assert sorted(os.listdir(tmp_path)) == [running.name, "space.bin"]
    assert {"glove", "dictionary", "subwords", "fit", "write"} <= set(stages)
