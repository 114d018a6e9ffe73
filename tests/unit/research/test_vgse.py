"""VGSE: patch geometry, the class relation solver, the clustering module and the embedding comparison protocol, on
small synthetic data (seconds; no model build)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tagger.engine.imageio import Preprocessing, load_for_network
from tagger.research.vgse import (
    ClusterConfig,
    PatchGrid,
    class_means,
    load_patches,
    project_bounded_simplex,
    relation_weights,
    train_clusterer,
    vgse_class_embeddings,
)

PREP = Preprocessing()


# ------------------------------------------------------------------------------------------------------- patch grid


@pytest.mark.parametrize("text,grid,whole,n", [("1+9", 3, True, 10), ("1+4", 2, True, 5), ("1", 0, True, 1),
                                               ("9", 3, False, 9), ("1+16", 4, True, 17)])
def test_layouts_parse_and_print(text, grid, whole, n):
    g = PatchGrid.parse(text)
    assert (g.grid, g.whole, g.n_patches, g.label) == (grid, whole, n, text)


@pytest.mark.parametrize("bad", ["", "1+1", "1+8", "2+4", "1+4+9", "x"])
def test_bad_layouts_are_refused(bad):
    with pytest.raises(ValueError):
        PatchGrid.parse(bad)


@pytest.mark.parametrize("w,h", [(300, 200), (640, 480), (101, 37), (7, 5)])
def test_tiles_partition_the_photo_after_the_whole_view(w, h):
    boxes = PatchGrid(3).boxes(w, h)
    assert boxes[0] == (0, 0, w, h) and len(boxes) == 10
    cover = np.zeros((h, w), int)
    for left, top, right, bottom in boxes[1:]:
        assert 0 <= left < right <= w and 0 <= top < bottom <= h
        cover[top:bottom, left:right] += 1
    assert (cover == 1).all()  # every pixel in exactly one tile


def test_tiny_photo_still_gets_non_empty_tiles():
    for left, top, right, bottom in PatchGrid(3).boxes(2, 2):
        assert right > left and bottom > top and right <= 2 and bottom <= 2


def test_patches_are_the_network_input_of_each_region(tmp_path: Path):
    """Left half red, right half blue: the whole view matches the indexer's input exactly; the top-left tile is red."""
    arr = np.zeros((300, 400, 3), np.uint8)
    arr[:, :200] = (255, 0, 0)
    arr[:, 200:] = (0, 0, 255)
    path = tmp_path / "split.png"
    Image.fromarray(arr).save(path)
    px = load_patches(path, PREP, PatchGrid(2))
    assert px.shape == (5, 3, 224, 224) and px.dtype == np.float32
    np.testing.assert_array_equal(px[0], load_for_network(path, PREP))
    red, blue = px[1].mean(axis=(1, 2)), px[2].mean(axis=(1, 2))
    assert red[0] > 0.9 and red[2] < -0.9  # normalised to [-1, 1]: all red
    assert blue[2] > 0.9 and blue[0] < -0.9


# ---------------------------------------------------------------------------------------------- class relation


def test_bounded_simplex_projection():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(50, 7)) * 3
    for lo in (0.0, -0.2):
        r = project_bounded_simplex(v, lo)
        np.testing.assert_allclose(r.sum(1), 1.0, atol=1e-9)
        assert r.min() >= lo - 1e-12 and r.max() <= 1 + 1e-12
    feasible = np.array([[0.2, 0.3, 0.5]])
    np.testing.assert_allclose(project_bounded_simplex(feasible, 0.0), feasible, atol=1e-12)
    with pytest.raises(ValueError):
        project_bounded_simplex(v, 0.2)  # 7 * 0.2 > 1: nothing is feasible


def test_relation_recovers_a_known_convex_combination():
    rng = np.random.default_rng(1)
    basis = rng.normal(size=(12, 50))
    basis /= np.linalg.norm(basis, axis=1, keepdims=True)
    truth = np.zeros((3, 12))
    truth[0, [2, 5]] = (0.7, 0.3)
    truth[1, 9] = 1.0
    truth[2, [0, 1, 11]] = (0.2, 0.5, 0.3)
    r = relation_weights(truth @ basis, basis, alpha=0.0)
    np.testing.assert_allclose(r, truth, atol=1e-5)


def test_relation_respects_bounds_and_is_optimal():
    """An arbitrary target: the constraints hold, and scipy's SLSQP finds nothing better."""
    from scipy.optimize import minimize

    rng = np.random.default_rng(2)
    basis = rng.normal(size=(8, 20))
    target = rng.normal(size=20)
    for alpha in (0.0, -0.1):
        r = relation_weights(target, basis, alpha=alpha)[0]
        assert abs(r.sum() - 1) < 1e-9 and r.min() >= alpha - 1e-12 and r.max() <= 1 + 1e-12
        f = lambda x: float(np.sum((target - x @ basis) ** 2))
        ref = minimize(f, np.full(8, 1 / 8), method="SLSQP", bounds=[(alpha, 1)] * 8,
                       constraints=[{"type": "eq", "fun": lambda x: x.sum() - 1}], options={"ftol": 1e-12})
        assert f(r) <= ref.fun + 1e-6
    assert relation_weights(target, basis, alpha=-0.1)[0].min() < 0  # a negative bound is used when it helps


def test_relation_refuses_an_infeasible_alpha():
    with pytest.raises(ValueError):
        relation_weights(np.ones(3), np.eye(3), alpha=0.5)


def test_unseen_embedding_is_the_relation_mix_of_seen_ones():
    rng = np.random.default_rng(3)
    words = rng.normal(size=(5, 10))
    seen = np.array([True, True, False, True, False])
    words[2] = 0.5 * words[0] + 0.5 * words[3]
    words[4] = words[1]
    vg = rng.random((3, 6)).astype(np.float32)
    out = vgse_class_embeddings(vg, words[seen], words, seen)
    np.testing.assert_allclose(out[seen], vg)
    np.testing.assert_allclose(out[2], 0.5 * vg[0] + 0.5 * vg[2], atol=1e-4)
    np.testing.assert_allclose(out[4], vg[1], atol=1e-4)


# ------------------------------------------------------------------------------------------ clustering module


def _parts_dataset(n_per_class: int, seed: int):
    """4 classes of 'photos' of 4 patches each; every class is made of 2 of 5 shared visual parts (prototypes), so
    clusters can be shared across classes as VGSE intends. Returns patches (N, 4, 32), labels, class word vectors."""
    parts = np.random.default_rng(42).normal(size=(5, 32)) * 3  # the same parts in every draw
    rng = np.random.default_rng(seed)
    recipe = [(0, 1), (1, 2), (2, 3), (3, 4)]
    xs, ys = [], []
    for c, (a, b) in enumerate(recipe):
        for _ in range(n_per_class):
            which = rng.permutation([a, a, b, b])
            xs.append(parts[which] + rng.normal(size=(4, 32)))
            ys.append(c)
    words = np.random.default_rng(43).normal(size=(4, 8))
    return np.stack(xs).astype(np.float32), np.array(ys), words / np.linalg.norm(words, axis=1, keepdims=True)


def _nearest_class_accuracy(model, x, y, xt, yt) -> float:
    """Class embedding = mean image embedding (the paper's phi); fresh photos go to the nearest class embedding."""
    phi = class_means(model.image_embeddings(x), y, 4)
    pred = np.argmin(((model.image_embeddings(xt)[:, None, :] - phi[None]) ** 2).sum(-1), axis=1)
    return float((pred == yt).mean())


def test_clustering_module_learns_class_discriminative_clusters():
    """k-means alone (epoch 0) merges parts here, so two classes get the same histogram; the cluster-to-class loss
    splits them. The DEC term sharpens the assignments."""
    x, y, words = _parts_dataset(40, 0)
    xt, yt, _ = _parts_dataset(20, 1)
    base = dict(dv=6, batch_size=128, lr=1e-2)
    start = train_clusterer(x, y, words, ClusterConfig(epochs=0, **base))
    model = train_clusterer(x, y, words, ClusterConfig(epochs=15, w_clu=0.0, **base))
    a = model.assign(x)
    assert a.shape == (160, 4, 6)
    np.testing.assert_allclose(a.sum(-1), 1.0, atol=1e-5)
    assert _nearest_class_accuracy(start, x, y, xt, yt) < 0.95
    assert _nearest_class_accuracy(model, x, y, xt, yt) >= 0.95
    assert model.history[-1]["cls"] < model.history[0]["cls"]
    sharp = train_clusterer(x, y, words, ClusterConfig(epochs=15, w_clu=1.0, **base))
    assert sharp.assign(x).max(-1).mean() > a.max(-1).mean() + 0.1


def test_class_means():
    e = np.array([[1, 0], [3, 0], [0, 2]], np.float32)
    np.testing.assert_allclose(class_means(e, np.array([0, 0, 2]), 3), [[2, 0], [0, 0], [0, 2]])


# ---------------------------------------------------------------------------------------- comparison protocol


def test_compat_classifier_and_kinds():
    from tagger.research.evaluate_vgse import kind_embeddings, stack, train_compat

    rng = np.random.default_rng(0)
    emb = rng.normal(size=(4, 6)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    y = rng.integers(0, 4, 400)
    w = rng.normal(size=(6, 20))
    feats = (emb[y] @ w + 0.1 * rng.normal(size=(400, 20))).astype(np.float32)
    model = train_compat(feats, y, emb)
    assert (model.scores(feats, emb).argmax(1) == y).mean() > 0.95
    seen = np.array([True, True, False, True])
    for kind, dim in (("word", 6), ("vgse", 3), ("both", 9)):
        k = kind_embeddings(kind, emb, rng.random((4, 3)), seen)
        assert k.shape == (4, dim)
        np.testing.assert_allclose(np.linalg.norm(k, axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError):
        kind_embeddings("vgse", emb, None, seen)
    # the control: seen labels one-hot, an unseen label its relation weights over them (here the exact mix)
    words = emb.copy()
    words[2] = 0.25 * emb[0] + 0.75 * emb[3]
    control = kind_embeddings("relation", words, None, seen)
    assert control.shape == (4, 3)
    assert control[2] @ control[2] == pytest.approx(1, abs=1e-5)
    assert np.argsort(control[2] @ control[seen].T)[::-1][0] == 2  # closest to the seen label it is mostly made of
    s = np.zeros((2, 4), np.float32)
    assert (stack(s, seen, 0.5).argmax(1) == 2).all()


class _FakeSpace:
    def __init__(self, vectors: dict[str, np.ndarray]):
        self.vectors = vectors

    def text_vectors(self, texts):
        return np.stack([self.vectors[t] for t in texts]).astype(np.float32)


def _fake_engine(folder: Path, labels: list[str]):
    """An Engine whose 'backbone' is a fixed random projection of 8x8 average-pooled pixels: cheap, deterministic, and
    it sees colours and their layout, which is all the synthetic photos below differ by."""
    from tagger.engine.core import Engine, Inference

    rng = np.random.default_rng(0)
    proj = rng.normal(size=(3 * 8 * 8, 16)).astype(np.float32)
    words = {t: v / np.linalg.norm(v) for t, v in zip(labels, rng.normal(size=(len(labels), 8)))}

    class Fake(Engine):
        calls = 0

        def __init__(self):
            self.folder, self.threads, self.prep, self.top_t = folder, 1, PREP, 3
            self.manifest = {"backbone": {"feature_dim": 16, "name": "fake"}, "word_space": {"dim": 8}}
            self.class_vectors = rng.normal(size=(1000, 8)).astype(np.float32)
            self.__dict__["word_space"] = _FakeSpace(words)

        @property
        def model_id(self) -> str:
            return "fake-model"

        def infer(self, pixels):
            Fake.calls += 1
            n = len(pixels)
            pooled = pixels.reshape(n, 3, 8, 28, 8, 28).mean(axis=(3, 5)).reshape(n, -1)
            feats = np.tanh(pooled @ proj)
            top = np.tile(np.arange(3, dtype=np.int16), (n, 1))
            return Inference(feats, np.zeros((n, 8), np.float32), top, np.full((n, 3), 1 / 3, np.float32),
                             np.zeros((n, 1000), np.float32))

    return Fake()


def test_embedding_comparison_end_to_end(tmp_path: Path, monkeypatch):
    """Six colour-coded classes (three seen), a train/test split: every kind is scored, figures are rates, the word
    row is computed once, and a second run reads the patch features from the cache instead of the model. The cache
    lives in the research cache folder, never in the model's folder."""
    monkeypatch.setenv("TAGGER_RESEARCH_CACHE", str(tmp_path / "research"))
    from tagger.research.evaluate import read_dataset
    from tagger.research.evaluate_vgse import evaluate_embeddings, format_embedding_eval

    colours = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255), "white": (255, 255, 255),
               "black": (0, 0, 0), "yellow": (255, 255, 0)}
    classes = {"a": ("red", "green"), "b": ("green", "blue"), "c": ("blue", "white"), "d": ("white", "black"),
               "e": ("black", "yellow"), "f": ("yellow", "red")}
    root = tmp_path / "photos"
    rng = np.random.default_rng(0)
    train, test = [], []
    for name, (top, bottom) in classes.items():
        (root / name).mkdir(parents=True)
        for i in range(8):
            arr = np.zeros((64, 64, 3), np.float32)
            arr[:32], arr[32:] = colours[top], colours[bottom]
            arr = np.clip(arr + rng.normal(0, 20, arr.shape), 0, 255).astype(np.uint8)
            Image.fromarray(arr).save(root / name / f"{i}.png")
            (train if i < 5 else test).append(f"{name}/{i}.png")
    images = tmp_path / "test.txt"
    images.write_text("\n".join(test))
    dataset = read_dataset(root, None, images)
    split = {"a": "seen", "b": "seen", "c": "seen", "d": "unseen", "e": "unseen", "f": "unseen"}
    engine = _fake_engine(tmp_path / "model", dataset.labels)
    from tagger.research.evaluate_vgse import CompatConfig

    kwargs = dict(settings=[("1+4", 4), ("1", 4)], cluster=ClusterConfig(epochs=3, kmeans_iters=3),
                  compat=CompatConfig(epochs=10), reference=False)
    result = evaluate_embeddings(engine, dataset, train, split, **kwargs)
    assert [s["patches"] for s in result["settings"]] == ["1+4", "1"]
    for figures in [result["word"]] + [s[k] for s in result["settings"] for k in ("vgse", "both")]:
        for key in ("zsl_unseen@1", "seen@1", "unseen@1", "H", "raw_H"):
            assert 0.0 <= figures[key] <= 1.0
    assert "word" in format_embedding_eval(result) and "both" in format_embedding_eval(result)
    assert list((tmp_path / "research" / "vgse" / "fake-model").glob("patches-1p4-*.npz"))
    assert not (tmp_path / "model").exists()  # research writes nothing into a product folder
    calls = type(engine).calls
    again = evaluate_embeddings(engine, dataset, train, split, kinds=["vgse"], **kwargs)
    assert type(engine).calls == calls  # whole photos and patches both came from the cache
    assert "word" not in again and again["settings"][0]["vgse"]["H"] == result["settings"][0]["vgse"]["H"]
