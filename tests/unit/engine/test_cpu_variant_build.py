"""The int8 CPU variant built with the model: from shipped activation ranges, trusted only when its bytes are the ones
measured on Caltech (resources/quantize/verified.json), never a reason for a build to fail."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from tagger.engine import cpu_variant
from tagger.engine.cpu_variant import (
    INT8_MODE,
    INT8_NAME,
    RANGES_RESOURCE,
    VERIFIED_RESOURCE,
    build_cpu_variant,
    describe,
    graph_fingerprint,
    quantize_static_int8,
    verified_entries,
)
from tagger.engine.export import ONNX_NAME
from tagger.engine.manifest import load_verified, read_manifest
from tagger.engine.model_store import ensure_cpu_variant
from tagger.engine.runtime import CPU, PRECISION_ENV, ModelRuntime
from tagger.fileio import atomic_write_json, sha256_file
from tagger.paths import resource_path


def _tiny_model(path) -> None:
    """pixels (n,3,4,4) -> Conv -> Relu -> Conv -> pool -> Gemm: a first Conv kept fp32 and a second one quantized."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(size=s).astype(np.float32), n) for n, s in
             (("w1", (4, 3, 1, 1)), ("w2", (4, 4, 3, 3)), ("wg", (2, 4)))]
    nodes = [helper.make_node("Conv", ["pixels", "w1"], ["c1"], name="conv1"),
             helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
             helper.make_node("Conv", ["r1", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
             helper.make_node("GlobalAveragePool", ["c2"], ["p"], name="pool"),
             helper.make_node("Flatten", ["p"], ["features"], name="flat"),
             helper.make_node("Gemm", ["features", "wg"], ["embedding"], name="gemm", transB=1),
             helper.make_node("Relu", ["embedding"], ["logits"], name="relu2")]
    x = helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["n", 3, 4, 4])
    outs = [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["n", 4]),
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["n", 2]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 2])]
    model = helper.make_model(helper.make_graph(nodes, "tiny", [x], outs, inits),
                              opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.save(model, path)


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """A built model folder (manifest with the fp32 sha256 as an artefact) and the resources pointed at tmp files."""
    monkeypatch.setenv(PRECISION_ENV, "int8")  # opted in: what this file tests
    f = tmp_path / "model"
    f.mkdir()
    _tiny_model(f / ONNX_NAME)
    atomic_write_json(f / "manifest.json", {"format": 1, "onnx": {"file": ONNX_NAME},
                                            "artefacts": {ONNX_NAME: sha256_file(f / ONNX_NAME)}})
    ranges = tmp_path / "res" / "ranges.json"
    ranges.parent.mkdir()
    calib = np.random.default_rng(1).uniform(-1, 1, (32, 3, 4, 4)).astype(np.float32)
    quantize_static_int8(f / ONNX_NAME, tmp_path / "measured.onnx", INT8_MODE, ranges, calib)  # bench's half
    files = {RANGES_RESOURCE: ranges, VERIFIED_RESOURCE: tmp_path / "res" / "verified.json"}
    monkeypatch.setattr(cpu_variant, "resource_path", lambda name: files[name])
    return f


def _verify(folder, int8_print: str, passed: bool = True) -> None:
    """What bench/quantize.py --record writes for this folder's fp32 graph."""
    atomic_write_json(cpu_variant.resource_path(VERIFIED_RESOURCE), {"models": {
        graph_fingerprint(folder / ONNX_NAME): {"int8_fingerprint": int8_print, "mode": INT8_MODE, "fp32_hit@1": 0.6229,
                                               "int8_hit@1": 0.6225, "passed": passed, "test_photos": 2893}}})


def _run(folder) -> ModelRuntime:
    return ModelRuntime.open_model(folder, read_manifest(folder), threads=1, providers=[CPU])


def test_the_build_makes_the_measured_graph_from_the_shipped_ranges_and_uses_it(folder, tmp_path):
    manifest = build_cpu_variant(folder, read_manifest(folder))
    first = sha256_file(folder / INT8_NAME)
    assert first == sha256_file(tmp_path / "measured.onnx")  # ranges read back = ranges measured from photos
    assert manifest["cpu_variant"]["passed"] is False  # nothing measured for this fp32 graph yet
    assert _run(folder).variant == "fp32"
    assert describe(manifest) == "fp32 (int8 not verified for this build)"

    _verify(folder, graph_fingerprint(folder / INT8_NAME))
    manifest = build_cpu_variant(folder, read_manifest(folder))
    assert sha256_file(folder / INT8_NAME) == first  # deterministic: the same bytes on every build
    assert manifest["cpu_variant"]["passed"] is True and manifest["cpu_variant"]["zero_shot_hit@1"] == 0.6225
    rt = _run(folder)
    assert rt.variant == "int8" and rt.path.name == INT8_NAME
    x = np.random.default_rng(2).uniform(-1, 1, (4, 3, 4, 4)).astype(np.float32)
    fp32 = ModelRuntime.open(folder / ONNX_NAME, 1, [CPU]).run(x)["embedding"]
    assert np.allclose(rt.run(x)["embedding"], fp32, atol=0.1)  # a quantized copy of the same model
    assert describe(manifest) == "int8 (verified: hit@1 0.6225 vs 0.6229)"
    assert describe(manifest, variant_used=False).startswith("fp32")  # CUDA, forced fp32, a trained version


def test_bytes_other_than_the_measured_ones_are_not_trusted(folder):
    _verify(folder, "0" * 64)  # e.g. another onnxruntime writing a different graph
    manifest = build_cpu_variant(folder, read_manifest(folder))
    assert (folder / INT8_NAME).is_file() and manifest["cpu_variant"]["passed"] is False
    assert _run(folder).variant == "fp32"
    assert describe(manifest) == "fp32 (int8 not verified for this build)"


def test_a_variant_measured_as_failing_is_not_used(folder):
    build_cpu_variant(folder, read_manifest(folder))
    _verify(folder, graph_fingerprint(folder / INT8_NAME), passed=False)
    manifest = build_cpu_variant(folder, read_manifest(folder))
    assert manifest["cpu_variant"]["passed"] is False and _run(folder).variant == "fp32"


@pytest.mark.parametrize("damage", ["garbage", "missing", "wrong tensors"])
def test_damaged_ranges_mean_no_variant_and_a_working_model(folder, damage):
    ranges = cpu_variant.resource_path(RANGES_RESOURCE)
    if damage == "garbage":
        ranges.write_text("{not json", encoding="utf-8")
    elif damage == "missing":
        ranges.unlink()
    else:
        data = json.loads(ranges.read_text(encoding="utf-8"))
        data["data"] = {"no-such-tensor": next(iter(data["data"].values()))}
        ranges.write_text(json.dumps(data), encoding="utf-8")
    manifest = ensure_cpu_variant(folder, read_manifest(folder))
    assert not (folder / INT8_NAME).exists() and manifest["cpu_variant"]["passed"] is False
    assert manifest["cpu_variant"]["failed"]
    assert load_verified(folder)["artefacts"] == manifest["artefacts"]  # the model itself is untouched and valid
    assert _run(folder).variant == "fp32"
    assert ensure_cpu_variant(folder, read_manifest(folder)) == read_manifest(folder)  # not retried every start


def test_an_existing_model_gets_its_variant_once_without_a_rebuild(folder):
    before = read_manifest(folder)
    onnx_mtime = (folder / ONNX_NAME).stat().st_mtime_ns
    _verify(folder, "0" * 64)
    manifest = ensure_cpu_variant(folder, before)
    assert (folder / INT8_NAME).is_file() and manifest["artefacts"] == before["artefacts"]
    assert (folder / ONNX_NAME).stat().st_mtime_ns == onnx_mtime and load_verified(folder)
    variant_mtime = (folder / INT8_NAME).stat().st_mtime_ns
    assert ensure_cpu_variant(folder, read_manifest(folder))["cpu_variant"] == manifest["cpu_variant"]
    assert (folder / INT8_NAME).stat().st_mtime_ns == variant_mtime  # present and intact: not rebuilt
    (folder / INT8_NAME).write_bytes(b"damaged")
    ensure_cpu_variant(folder, read_manifest(folder))
    assert sha256_file(folder / INT8_NAME) == read_manifest(folder)["cpu_variant"]["sha256"]  # damaged: rebuilt


def test_the_shipped_data_loads_and_vouches_for_the_default_model():
    from onnxruntime.quantization.calibrate import load_tensors_data

    ranges = load_tensors_data(resource_path(RANGES_RESOURCE))
    assert len(list(ranges)) > 50  # every Conv input and output of lite0
    entries = verified_entries(resource_path(VERIFIED_RESOURCE))
    assert entries and all(len(k) == 64 for k in entries)
    passed = [e for e in entries.values() if e["passed"]]
    assert passed and all(e["mode"] == INT8_MODE and e["fp32_hit@1"] - e["int8_hit@1"] <= 0.005 for e in passed)


def test_a_later_measurement_upgrades_an_unverified_variant_on_the_next_start(folder):
    manifest = ensure_cpu_variant(folder, read_manifest(folder))
    assert manifest["cpu_variant"]["passed"] is False and _run(folder).variant == "fp32"
    _verify(folder, manifest["cpu_variant"]["fingerprint"])  # a Tagger update ships this model's measurement
    manifest = ensure_cpu_variant(folder, read_manifest(folder))
    assert manifest["cpu_variant"]["passed"] is True and _run(folder).variant == "int8"


def test_a_graph_built_elsewhere_has_the_same_fingerprint(folder, tmp_path):
    """torch's exporter writes each node's source path into its metadata: the same model exported from another
    checkout differs in bytes but not in fingerprint, so a fresh clone's build still finds its measurement."""
    import onnx

    model = onnx.load(str(folder / ONNX_NAME))
    for node in model.graph.node:
        node.metadata_props.add(key="namespace", value="/somewhere/else/tagger/engine/export.py:42")
        node.doc_string = "built in another checkout"
    elsewhere = tmp_path / "elsewhere.onnx"
    onnx.save(model, str(elsewhere))
    assert sha256_file(elsewhere) != sha256_file(folder / ONNX_NAME)
    assert graph_fingerprint(elsewhere) == graph_fingerprint(folder / ONNX_NAME)
