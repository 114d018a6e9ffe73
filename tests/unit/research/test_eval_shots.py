"""`tagger eval --train LIST --shots K --draws N` end to end through the CLI, on a tiny colour-coded data set and a
fake engine (seconds; no model build): K photos per label in each seeded draw, every method on the same features,
mean and spread over the draws, the features extracted once and read from the research cache afterwards."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from tagger.cli import main
from tagger.engine.imageio import Preprocessing
from tagger.research.evaluate_trained import draw_shots

COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "white": (255, 255, 255),
           "black": (0, 0, 0), "yellow": (255, 255, 0)}
CLASSES = {"apple": ("red", "green"), "boat": ("green", "blue"), "cloud": ("blue", "white"),
           "dog": ("white", "black"), "egg": ("black", "yellow"), "fish": ("yellow", "red")}


def _dataset(root: Path, per_class: int = 8, n_train: int = 5) -> tuple[Path, Path]:
    """Two-colour photos (top half, bottom half) with noise, one folder per class; the first ``n_train`` of each
    class listed for training, the rest for evaluation."""
    rng = np.random.default_rng(0)
    train, test = [], []
    for name, (top, bottom) in CLASSES.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            arr = np.zeros((64, 64, 3), np.float32)
            arr[:32], arr[32:] = COLOURS[top], COLOURS[bottom]
            arr = np.clip(arr + rng.normal(0, 30, arr.shape), 0, 255).astype(np.uint8)
            Image.fromarray(arr).save(root / name / f"{i}.png")
            (train if i < n_train else test).append(f"{name}/{i}.png")
    (root.parent / "train.txt").write_text("\n".join(train))
    (root.parent / "test.txt").write_text("\n".join(test))
    return root.parent / "train.txt", root.parent / "test.txt"


def _fake_engine(folder: Path):
    """An Engine whose backbone is a fixed random non-negative projection of 8x8 average-pooled pixels (it sees the
    colours and their layout) and whose classifier's top classes follow the dominant colour: cheap, deterministic."""
    from tagger.engine.core import Engine, Inference

    rng = np.random.default_rng(0)
    proj = rng.normal(size=(3 * 8 * 8, 32)).astype(np.float32)
    words = {t: v / np.linalg.norm(v) for t, v in zip(CLASSES, rng.normal(size=(len(CLASSES), 8)))}

    class Fake(Engine):
        calls = 0

        def __init__(self):
            self.folder, self.threads, self.prep, self.top_t, self.version = folder, 1, Preprocessing(), 3, None
            self.manifest = {"backbone": {"feature_dim": 32, "name": "fake"}, "word_space": {"dim": 8}}
            self.class_vectors = rng.normal(size=(1000, 8)).astype(np.float32)
            self.__dict__["word_space"] = SimpleNamespace(
                text_vectors=lambda texts: np.stack([words[t] for t in texts]).astype(np.float32))
            self.__dict__["runtime"] = SimpleNamespace(provider="fake")

        @property
        def model_id(self) -> str:
            return "fake-model"

        def infer(self, pixels):
            Fake.calls += 1
            n = len(pixels)
            pooled = pixels.reshape(n, 3, 8, 28, 8, 28).mean(axis=(3, 5)).reshape(n, -1)
            feats = np.abs(pooled @ proj)
            colour = pixels.mean(axis=(2, 3))  # (n, 3) mean channel values
            order = np.argsort(-colour, axis=1)[:, :3].astype(np.int16)
            probs = np.tile(np.array([0.6, 0.3, 0.1], np.float32), (n, 1))
            return Inference(feats, np.zeros((n, 8), np.float32), order, probs, np.zeros((n, 1000), np.float32))

    return Fake()


@pytest.fixture
def shots_setup(tmp_path, monkeypatch):
    monkeypatch.setenv("TAGGER_RESEARCH_CACHE", str(tmp_path / "research"))
    train, test = _dataset(tmp_path / "photos")
    engine = _fake_engine(tmp_path / "model")
    monkeypatch.setattr("tagger.cli.eval_command.load_engine", lambda *a, **k: engine)
    return tmp_path / "photos", train, test, engine


def test_shots_report_mean_and_spread_of_every_method(shots_setup, capsys):
    root, train, test, engine = shots_setup
    args = ["eval", str(root), "--train", str(train), "--images", str(test), "--shots", "2", "--draws", "3",
            "--no-baselines", "--json"]
    assert main(args) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["shots"] == 2 and result["draws"] == 3 and result["n_train_images"] == [12, 12, 12]
    assert result["n_images"] == 18 and result["n_labels"] == 6
    methods = result["methods"]
    assert {"tagger", "ncm", "ncm_standardised", "logistic_regression", "zero_training", "conse"} <= set(methods)
    for m in methods.values():
        assert 0 <= m["hit@1"] <= 1 and m["hit@1_sd"] >= 0
    assert len(result["per_draw"]) == 3 and len(result["label_model"]) == 3
    assert methods["tagger"]["hit@1"] >= 0.8  # six colour pairs are easy from two photos each
    assert methods["tagger"]["hit@1"] >= methods["ncm"]["hit@1"] - 0.05
    calls = type(engine).calls
    assert main(args) == 0  # the same again: same numbers, and the photos come from the research cache
    again = json.loads(capsys.readouterr().out)
    assert type(engine).calls == calls
    assert again["methods"] == methods
    assert list((root.parent / "research").rglob("embedded-*.npz"))
    assert not (root.parent / "model").exists()  # research writes nothing into a product folder


def test_shots_text_table_and_split(shots_setup, capsys):
    root, train, test, _ = shots_setup
    split = root.parent / "split.tsv"
    split.write_text("label\tsplit\n" + "".join(f"{c}\t{'seen' if i < 4 else 'unseen'}\n"
                                                 for i, c in enumerate(CLASSES)))
    assert main(["eval", str(root), "--train", str(train), "--images", str(test), "--shots", "3", "--draws", "2",
                 "--split", str(split), "--no-baselines"]) == 0
    out = capsys.readouterr().out
    assert "3 photo(s) per label, 2 draws" in out and "mean±sd" in out
    assert "label model - nearest-class-mean:" in out
    assert "2 unseen" in out


def test_shots_need_a_training_list(shots_setup, capsys):
    root, _, test, _ = shots_setup
    assert main(["eval", str(root), "--images", str(test), "--shots", "2"]) == 2
    assert "--train" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:  # argparse refuses it before anything runs
        main(["eval", str(root), "--train", str(root), "--shots", "0"])
    assert refused.value.code == 2 and "--shots: must be 1 or more" in capsys.readouterr().err


def test_draws_take_k_of_each_label_reproducibly():
    truth = np.array([0] * 5 + [1] * 2 + [2] * 9)
    rows = draw_shots(truth, 3, seed=4)
    assert np.bincount(truth[rows]).tolist() == [3, 2, 3]  # a label with fewer photos gives them all
    assert (np.diff(rows) > 0).all()
    np.testing.assert_array_equal(rows, draw_shots(truth, 3, seed=4))
    assert any(not np.array_equal(draw_shots(truth, 3, seed=s), rows) for s in range(5, 10))
