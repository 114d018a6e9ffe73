"""The built model end to end: ONNX export matches torch, the runtime reports its provider, damage is caught."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from tagger.engine.core import Engine
from tagger.engine.model_store import ModelError, ensure_model
from tagger.engine.runtime import CPU


def test_manifest_describes_the_model(engine):
    m = engine.manifest
    assert m["backbone"]["name"] == "lite0" and m["backbone"]["feature_dim"] == 1280
    assert m["preprocessing"] == {"input_size": 224, "resize": 256, "mean": [0.5] * 3, "std": [0.5] * 3,
                                  "interpolation": "bicubic", "crop": "center"}
    assert m["onnx"]["outputs"]["embedding"] == ["batch", m["word_space"]["dim"]]
    assert set(m["artefacts"]) >= {"model.onnx", "class_vectors.npy"}
    assert any(name.endswith(".bin") for name in m["artefacts"])
    assert all(len(d) == 64 for d in m["artefacts"].values())


def test_runtime_is_cpu_when_forced_and_says_so(engine):
    assert engine.runtime.provider == CPU and engine.runtime.device == "CPU"


def test_onnx_matches_torch(engine, chelsea_png):
    """Parity of the exported graph against the torch modules it came from (max abs difference reported)."""
    from tagger.engine.export import build_net
    from tagger.engine.imageio import load_for_network

    net = build_net("lite0", engine.class_vectors, engine.top_t)
    x = np.stack([load_for_network(chelsea_png, engine.prep), np.zeros((3, 224, 224), np.float32)])
    onnx_out = engine.runtime.run(x)
    with torch.no_grad():
        feats, emb, logits = (t.numpy() for t in net(torch.from_numpy(x)))
    diffs = {name: float(np.abs(onnx_out[name] - ref).max())
             for name, ref in (("features", feats), ("embedding", emb), ("logits", logits))}
    print("ONNX vs torch max abs difference:", diffs)
    assert diffs["features"] < 1e-3 and diffs["logits"] < 1e-3 and diffs["embedding"] < 1e-4


def test_dynamic_batch(engine):
    for n in (1, 3, 17):
        out = engine.runtime.run(np.zeros((n, 3, 224, 224), np.float32))
        assert out["embedding"].shape == (n, engine.word_space.dim)
        np.testing.assert_allclose(np.linalg.norm(out["embedding"], axis=1), 1.0, atol=1e-4)


def test_default_embedding_is_conse_of_the_class_vectors(engine, chelsea_png):
    from tagger.engine.imageio import load_for_network
    from tagger.engine.scoring import top_classes

    out = engine.embed_files([chelsea_png])
    logits = engine.runtime.run(load_for_network(chelsea_png, engine.prep)[None])["logits"]
    idx, p = top_classes(logits, engine.top_t)
    mix = (p[0, :, None] * engine.class_vectors[idx[0].astype(int)]).sum(0)
    np.testing.assert_allclose(out.embeddings[0], mix / np.linalg.norm(mix), atol=1e-4)


def test_cat_photo_is_tagged_cat(engine, chelsea_png):
    out = engine.embed_files([chelsea_png])
    idx, _ = engine.tag_set.top(out.embeddings, out.top_classes, out.top_probs, 10)
    tags = [engine.tag_set.texts[i] for i in idx[0]]
    assert "cat" in tags or "cats" in tags or "kitten" in tags, tags


def test_undecodable_files_are_reported_not_fatal(engine, tmp_path, chelsea_png):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    out = engine.embed_files([empty, chelsea_png, text])
    assert out.ok == [1]
    reasons = dict(out.failures)
    assert "empty" in reasons[0] and "not an image" in reasons[2]


def test_damaged_model_is_rebuilt_with_a_notice(engine, models_root):
    folder = engine.folder
    backup = folder.with_name("backup")
    shutil.copytree(folder, backup)
    try:
        with open(folder / "model.onnx", "r+b") as fh:
            fh.seek(1000)
            fh.write(b"\x00\x01\x02\x03")
        notes = []
        rebuilt, manifest = ensure_model("lite0", notice=notes.append)
        assert rebuilt == folder and notes and "sha256" in notes[0]
        Engine(rebuilt, manifest)  # usable again
    finally:
        shutil.rmtree(folder)
        backup.rename(folder)


def test_damaged_user_word_space_is_refused(engine, tmp_path):
    own = tmp_path / "mine.bin"
    shutil.copy(engine.word_space.path, own)
    data = bytearray(own.read_bytes()[:4096])
    own.write_bytes(bytes(data))  # truncated
    with pytest.raises(ModelError):
        ensure_model("lite0", own)
