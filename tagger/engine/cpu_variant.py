"""The int8 CPU variant of a model: built during the model build on every machine, trusted only when it is the graph
whose accuracy was measured. Opt-in at run time (``TAGGER_MODEL_PRECISION=int8``, see tagger.engine.runtime).

Why this shape: accuracy can only be measured on labelled photos (Caltech-101), which a user's machine does not have.
So ``bench/quantize.py --record`` measures here, once per model build, and ships two small files in
``resources/quantize/``: the activation ranges its calibrator measured on 128 Caltech *train* photos (``ranges.json``,
onnxruntime's calibration-cache format) and, per fp32 graph fingerprint, the fingerprint of the int8 graph those ranges
make and the hit@1 it measured (``verified.json``; a fingerprint is the graph's sha256 without doc strings and metadata,
``graph_fingerprint``). The build quantizes the same fp32 graph with the same ranges; when the fingerprints come out
identical the graph is the one measured, and it is marked passed. Anything else (another onnxruntime writing
different bytes, a model not yet measured, a damaged resource) leaves a variant that is not passed, or none, and the
runtime uses fp32: the variant only ever costs or saves speed, never the model.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tagger.fileio import atomic_path, atomic_write_json, sha256_file
from tagger.paths import resource_path
from tagger.progress import ProgressFn

INT8_NAME = "model.int8.onnx"
INT8_MODE = "qdq-pc-ends"  # static QDQ, per-channel weights, the first Conv and the Gemms kept fp32 (bench/quantize.py)
RANGES_RESOURCE = "quantize/ranges.json"
VERIFIED_RESOURCE = "quantize/verified.json"
CHECK = "Caltech-101 test split, zero-shot hit@1 within 0.005 of fp32"
# the ConSE head (softmax, top-T, the embedding) is never quantized
HEAD_OPS = ("Softmax", "TopK", "GatherND", "Einsum", "ReduceL2", "Div", "LeakyRelu", "Concat", "Expand")
STATIC_MODES = ("qdq-pc", "qdq-pc-nodw", "qdq-pc-ends", "qdq-pt")


def quantize_static_int8(fp32: Path, out: Path, mode: str, ranges: Path,
                         calibration: np.ndarray | None = None) -> None:
    """Write the static QDQ int8 graph of ``fp32`` to ``out``.

    With ``calibration`` (float32 network inputs) the activation ranges are measured and written to ``ranges``;
    without it they are read from ``ranges``, so the build never needs photos. Deterministic for a given fp32 graph,
    ranges file and onnxruntime version (checked by the sha256 in ``verified.json``).
    """
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    if mode not in STATIC_MODES:
        raise ValueError(f"unknown static quantization mode {mode!r}")
    if calibration is None and not Path(ranges).is_file():
        raise FileNotFoundError(f"activation ranges {ranges} are missing")
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
        graph = onnx.load(str(pre)).graph
        convs = [n for n in graph.node if n.op_type == "Conv"]
        exclude = [n.name for n in graph.node if n.op_type in HEAD_OPS]
        if mode == "qdq-pc-nodw":
            exclude += [n.name for n in convs if any(a.name == "group" and a.i > 1 for a in n.attribute)]
        if mode == "qdq-pc-ends":
            exclude += [convs[0].name] if convs else []
            exclude += [n.name for n in graph.node if n.op_type == "Gemm"]
        reader = None
        if calibration is not None:
            Path(ranges).unlink(missing_ok=True)  # measure afresh: onnxruntime reads an existing cache instead
            batches = iter(calibration[i:i + 16] for i in range(0, len(calibration), 16))

            class _Reader(CalibrationDataReader):
                def get_next(self):
                    batch = next(batches, None)
                    return None if batch is None else {"pixels": np.ascontiguousarray(batch, np.float32)}

            reader = _Reader()
        with atomic_path(out) as target:
            quantize_static(str(pre), str(target), reader, quant_format=QuantFormat.QDQ,
                            per_channel=mode != "qdq-pt", activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, op_types_to_quantize=["Conv", "Gemm"],
                            nodes_to_exclude=exclude, extra_options={"ActivationSymmetric": False},
                            calibration_cache_path=str(ranges))


def verified_entries(path: Path | None = None) -> dict[str, Any]:
    """fp32 graph fingerprint -> what bench/quantize.py --record measured for its int8 graph (``int8_fingerprint``,
    hit@1s, passed); {} when the file is unreadable."""
    try:
        data = json.loads(Path(path or resource_path(VERIFIED_RESOURCE)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    models = data.get("models") if isinstance(data, dict) else None
    return models if isinstance(models, dict) else {}


def graph_fingerprint(path: Path) -> str:
    """sha256 of an ONNX graph without its doc strings and metadata: what the graph computes, not where it was built.

    torch's exporter writes each node's source location (this checkout's path) into its metadata, so the same model
    exported from two checkouts differs in bytes (a fresh clone's build missed ``verified.json`` that way); the
    fingerprint is the same for both, and so for the int8 graph quantized from either."""
    import hashlib

    import onnx

    model = onnx.load(str(path))
    model.doc_string = ""
    del model.metadata_props[:]
    model.graph.doc_string = ""
    for node in model.graph.node:
        node.doc_string = ""
        del node.metadata_props[:]
    for init in model.graph.initializer:
        init.doc_string = ""
    for info in (*model.graph.input, *model.graph.output, *model.graph.value_info):
        info.doc_string = ""
        del info.metadata_props[:]
    return hashlib.sha256(model.SerializeToString(deterministic=True)).hexdigest()


def record_cpu_variant(folder: Path, source: Path | None, *, mode: str, hit1: float | None, fp32_hit1: float | None,
                       passed: bool, test_photos: int | None, speedup: float | None = None,
                       verified: str | None = None, fingerprints: tuple[str, str] | None = None) -> dict[str, Any]:
    """Put a quantized graph in as ``model.int8.onnx`` (``source`` None: it is already there) and record in the
    manifest what it measured against fp32.

    The runtime uses the variant on the CPU only when ``passed`` is true and the file still has the sha256 recorded
    here. It is kept out of the manifest's ``artefacts`` on purpose: a missing or damaged variant only costs speed
    (fp32 is used), never the model, and the caches keyed by the artefacts (the tag index) stay valid.
    """
    from tagger.engine.manifest import MANIFEST_NAME, read_manifest

    target = Path(folder) / INT8_NAME
    if source is not None:
        with atomic_path(target) as tmp:
            Path(tmp).write_bytes(Path(source).read_bytes())
    manifest = read_manifest(folder)
    manifest["cpu_variant"] = {
        "file": INT8_NAME, "sha256": sha256_file(target), "precision": "int8", "mode": mode, "passed": bool(passed),
        "zero_shot_hit@1": hit1, "fp32_zero_shot_hit@1": fp32_hit1, "test_photos": test_photos,
        "speedup_batch32_1thread": speedup, "check": CHECK,
        **({"verified": verified} if verified else {}),
        **({"fp32_fingerprint": fingerprints[0], "fingerprint": fingerprints[1]} if fingerprints else {}),
    }
    atomic_write_json(Path(folder) / MANIFEST_NAME, manifest)
    return manifest


def build_cpu_variant(folder: Path, manifest: dict[str, Any], progress: ProgressFn | None = None, *,
                      ranges: Path | None = None, verified: Path | None = None) -> dict[str, Any]:
    """Quantize the folder's fp32 graph with the shipped ranges and record the variant; returns the manifest.

    Passed only when the fp32 graph is one ``verified.json`` knows and the int8 bytes equal the ones measured there.
    Never raises for a quantization problem: the model works without the variant, so a failure leaves no variant
    (and the manifest unchanged) rather than a failed build.
    """
    folder = Path(folder)
    target = folder / INT8_NAME
    if progress:
        progress("quantizing the CPU model", 0, 1)
    try:
        fp32 = folder / manifest["onnx"]["file"]
        quantize_static_int8(fp32, target, INT8_MODE, Path(ranges or resource_path(RANGES_RESOURCE)))
        fp32_print, int8_print = graph_fingerprint(fp32), graph_fingerprint(target)
        entry = verified_entries(verified).get(fp32_print)
        entry = entry if isinstance(entry, dict) else {}
        passed = bool(entry) and entry.get("int8_fingerprint") == int8_print and entry.get("passed") is True
        manifest = record_cpu_variant(
            folder, None, mode=INT8_MODE, hit1=entry.get("int8_hit@1"), fp32_hit1=entry.get("fp32_hit@1"),
            passed=passed, test_photos=entry.get("test_photos"), speedup=entry.get("speedup_batch32_1thread"),
            verified="the graph measured on Caltech" if passed else
            ("int8 graph differs from the measured one" if entry else "no measurement for this fp32 graph"),
            fingerprints=(fp32_print, int8_print))
    except Exception as exc:  # any failure means "no variant", never a failed model build
        target.unlink(missing_ok=True)
        manifest = _record_failure(folder, manifest, exc)
    if progress:
        progress("quantizing the CPU model", 1, 1)
    return manifest


def _record_failure(folder: Path, manifest: dict[str, Any], exc: BaseException) -> dict[str, Any]:
    """Note the failure in the manifest so the next start does not retry it; a manifest that cannot be written
    leaves the model as it was."""
    from tagger.engine.manifest import MANIFEST_NAME

    manifest = {**manifest, "cpu_variant": {"file": None, "passed": False, "mode": INT8_MODE,
                                            "failed": f"{type(exc).__name__}: {exc}"[:300]}}
    try:
        atomic_write_json(Path(folder) / MANIFEST_NAME, manifest)
    except OSError:
        pass
    return manifest


def variant_is_current(folder: Path, manifest: dict[str, Any]) -> bool:
    """True when nothing needs building: a recorded failure, or a recorded variant whose file still matches and
    whose verdict still agrees with ``verified.json`` (a Tagger update that adds the measurement for this model
    upgrades an unverified variant on the next start)."""
    entry = manifest.get("cpu_variant")
    if not isinstance(entry, dict):
        return False
    if entry.get("failed"):
        return True
    try:
        from tagger.engine.manifest import sha256_by_stat  # checked on every start: by stat, not a 12 MB read

        if not entry.get("file") or sha256_by_stat(Path(folder) / entry["file"]) != entry.get("sha256"):
            return False
    except OSError:
        return False
    if "verified" not in entry:  # installed by bench/quantize.py --install: its own measurement
        return True
    expected = verified_entries().get(entry.get("fp32_fingerprint"))  # recorded at build: no graph loaded per start
    should_pass = isinstance(expected, dict) and expected.get("passed") is True and \
        expected.get("int8_fingerprint") == entry.get("fingerprint")
    return should_pass == (entry.get("passed") is True)


def describe(manifest: dict[str, Any], variant_used: bool | None = None) -> str:
    """One line for ``tagger info`` / ``status --verbose``: which CPU graph runs and why. ``variant_used`` False: the
    runtime runs fp32 (not opted in with ``TAGGER_MODEL_PRECISION=int8``, CUDA, a trained version); None: not
    known."""
    entry = manifest.get("cpu_variant")
    if isinstance(entry, dict) and entry.get("passed") is True and variant_used is not False:
        return (f"int8 (verified: hit@1 {_fmt(entry.get('zero_shot_hit@1'))} vs "
                f"{_fmt(entry.get('fp32_zero_shot_hit@1'))})")
    if isinstance(entry, dict) and entry.get("passed") is True:
        return "fp32 (a verified int8 graph is built: TAGGER_MODEL_PRECISION=int8 runs it)"
    return "fp32 (int8 not verified for this build)"


def cpu_model_line(engine) -> str:
    """``describe`` for a loaded Engine: whether its runtime really runs the int8 graph."""
    used = engine.runtime.variant == "int8" if engine.runtime.device == "CPU" else None
    return describe(engine.manifest, used)


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) else "?"
