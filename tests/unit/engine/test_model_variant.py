"""The int8 CPU variant: used on the CPU only when its manifest says it passed its accuracy check; fp32 on CUDA, when
forced, and in folders without it."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from tagger.engine import runtime
from tagger.engine.export import INT8_NAME, ONNX_NAME, record_cpu_variant
from tagger.engine.manifest import read_manifest
from tagger.engine.runtime import CPU, CUDA, PRECISION_ENV, ModelRuntime, cpu_variant_file
from tagger.fileio import atomic_write_json


def _graph(path, mark: float) -> None:
    """pixels (n,3,2,2) -> features/embedding/logits, each the pixel mean plus ``mark`` (tells the files apart)."""
    x = helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["n", 3, 2, 2])
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["n", 1]) for n in ("features", "embedding", "logits")]
    mark_t = helper.make_tensor("mark", TensorProto.FLOAT, [1], [mark])
    axes = helper.make_tensor("axes", TensorProto.INT64, [3], [1, 2, 3])
    nodes = [helper.make_node("ReduceMean", ["pixels", "axes"], ["m4"], keepdims=0),
             helper.make_node("Unsqueeze", ["m4", "one"], ["m"]),
             *[helper.make_node("Add", ["m", "mark"], [n]) for n in ("features", "embedding", "logits")]]
    one = helper.make_tensor("one", TensorProto.INT64, [1], [1])
    model = helper.make_model(helper.make_graph(nodes, "g", [x], outs, [mark_t, axes, one]),
                              opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.save(model, path)


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setenv(PRECISION_ENV, "int8")  # opted in: what this file tests
    f = tmp_path / "model"
    f.mkdir()
    _graph(f / ONNX_NAME, 0.0)
    atomic_write_json(f / "manifest.json", {"format": 1, "artefacts": {}, "onnx": {"file": ONNX_NAME}})
    return f


def _with_variant(folder, tmp_path, passed: bool = True):
    src = tmp_path / "q.onnx"
    _graph(src, 100.0)
    return record_cpu_variant(folder, src, mode="qdq-pc", hit1=0.70, fp32_hit1=0.702, passed=passed,
                              test_photos=2893, speedup=2.0)


def _mark(rt: ModelRuntime) -> float:
    return float(rt.run(np.zeros((1, 3, 2, 2), np.float32))["logits"][0, 0])


def test_cpu_uses_the_variant_that_passed(folder, tmp_path):
    manifest = _with_variant(folder, tmp_path)
    assert manifest["cpu_variant"]["zero_shot_hit@1"] == 0.70 and (folder / INT8_NAME).is_file()
    rt = ModelRuntime.open_model(folder, read_manifest(folder), threads=1, providers=[CPU])
    assert rt.variant == "int8" and rt.path.name == INT8_NAME and _mark(rt) == 100.0


def test_a_variant_that_missed_its_check_is_not_used(folder, tmp_path):
    manifest = _with_variant(folder, tmp_path, passed=False)
    assert cpu_variant_file(folder, manifest) is None
    rt = ModelRuntime.open_model(folder, manifest, threads=1, providers=[CPU])
    assert rt.variant == "fp32" and _mark(rt) == 0.0


def test_without_opting_in_the_cpu_runs_fp32(folder, tmp_path, monkeypatch):
    """A verified variant is not used by default: a catalog's embeddings must all come from one graph."""
    manifest = _with_variant(folder, tmp_path)
    monkeypatch.delenv(PRECISION_ENV, raising=False)
    rt = ModelRuntime.open_model(folder, manifest, threads=1, providers=[CPU])
    assert rt.variant == "fp32" and _mark(rt) == 0.0


def test_forcing_fp32(folder, tmp_path, monkeypatch):
    manifest = _with_variant(folder, tmp_path)
    monkeypatch.setenv(PRECISION_ENV, "fp32")
    rt = ModelRuntime.open_model(folder, manifest, threads=1, providers=[CPU])
    assert rt.variant == "fp32" and _mark(rt) == 0.0


def test_a_folder_without_the_variant_runs_fp32(folder):
    manifest = read_manifest(folder)
    assert "cpu_variant" not in manifest
    rt = ModelRuntime.open_model(folder, manifest, threads=1, providers=[CPU])
    assert rt.variant == "fp32" and rt.path.name == ONNX_NAME and _mark(rt) == 0.0


def test_a_damaged_or_missing_variant_falls_back_to_fp32(folder, tmp_path):
    manifest = _with_variant(folder, tmp_path)
    data = bytearray((folder / INT8_NAME).read_bytes())
    data[-1] ^= 1
    (folder / INT8_NAME).write_bytes(bytes(data))
    assert cpu_variant_file(folder, manifest) is None
    (folder / INT8_NAME).unlink()
    rt = ModelRuntime.open_model(folder, manifest, threads=1, providers=[CPU])
    assert rt.variant == "fp32" and _mark(rt) == 0.0


class _Session:
    def __init__(self, path, provider):
        self.path, self.provider = path, provider

    def get_providers(self):
        return [self.provider]


def test_cuda_keeps_fp32_and_a_cpu_fallback_takes_the_variant(folder, tmp_path, monkeypatch):
    manifest = _with_variant(folder, tmp_path)
    bound = {"provider": CUDA}
    monkeypatch.setattr(runtime, "open_session",
                        lambda path, threads, providers: _Session(path, bound["provider"] if CUDA in providers
                                                                  else CPU))
    rt = ModelRuntime.open_model(folder, manifest, providers=[CUDA, CPU])
    assert rt.provider == CUDA and rt.variant == "fp32" and rt.path.name == ONNX_NAME
    bound["provider"] = CPU  # onnxruntime-gpu without a working GPU binds the CPU
    rt = ModelRuntime.open_model(folder, manifest, providers=[CUDA, CPU])
    assert rt.provider == CPU and rt.variant == "int8" and rt.path.name == INT8_NAME


def test_engine_runs_the_variant_for_the_base_model_only(folder, tmp_path):
    from tagger.engine.core import Engine
    from tagger.engine.model_store import CLASS_VECTORS_NAME

    np.save(folder / CLASS_VECTORS_NAME, np.zeros((1000, 2), np.float32))
    manifest = _with_variant(folder, tmp_path)
    manifest.update(preprocessing={"input_size": 2, "resize": 2, "mean": [0.5] * 3, "std": [0.5] * 3},
                    projection={"top_t": 1})
    engine = Engine(folder, manifest, threads=1)
    assert engine.runtime.variant == "int8"
