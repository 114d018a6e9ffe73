"""Manifests: atomic writes and sha256 checks that catch damaged artefacts."""

from __future__ import annotations

import json

import pytest

from tagger.engine.manifest import IntegrityError, load_verified, read_manifest
from tagger.fileio import atomic_write_json, sha256_file


def _model(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"onnx bytes")
    ws = tmp_path / "ws.bin"
    ws.write_bytes(b"word space")
    atomic_write_json(folder / "manifest.json", {
        "format": 1,
        "artefacts": {"model.onnx": sha256_file(folder / "model.onnx"), str(ws): sha256_file(ws)},
    })
    return folder, ws


def test_verified_manifest_loads(tmp_path):
    folder, _ = _model(tmp_path)
    assert load_verified(folder)["format"] == 1


def test_flipped_byte_is_detected(tmp_path):
    folder, _ = _model(tmp_path)
    data = bytearray((folder / "model.onnx").read_bytes())
    data[0] ^= 1
    (folder / "model.onnx").write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="model.onnx.*differs"):
        load_verified(folder)


def test_missing_artefact_outside_the_folder_is_detected(tmp_path):
    folder, ws = _model(tmp_path)
    ws.unlink()
    with pytest.raises(IntegrityError, match="missing"):
        load_verified(folder)


@pytest.mark.parametrize("content", ["", "{not json", "[]", json.dumps({"format": 99, "artefacts": {}})])
def test_damaged_manifest_is_refused(tmp_path, content):
    folder, _ = _model(tmp_path)
    (folder / "manifest.json").write_text(content)
    with pytest.raises(IntegrityError):
        read_manifest(folder)


def test_atomic_write_leaves_no_temp_files(tmp_path):
    atomic_write_json(tmp_path / "a.json", {"x": 1})
    atomic_write_json(tmp_path / "a.json", {"x": 2})
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": 2}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
