"""The one model runtime: onnxruntime, CUDA when it really works, else CPU, decided once per process.

onnxruntime-gpu lists CUDAExecutionProvider even on machines without a GPU or CUDA libraries and then logs errors while
falling back; the logger is silenced and the provider actually bound to the session is what gets reported.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
PRECISION_ENV = "TAGGER_MODEL_PRECISION"  # "int8": run the verified int8 CPU variant (opt-in; see cpu_variant_file)


@lru_cache(maxsize=1)
def _ort():
    import onnxruntime as ort

    ort.set_default_logger_severity(4)  # fatal only: no CUDA-missing spam on CPU-only machines
    return ort


def onnxruntime_version() -> str:
    return _ort().__version__


def requested_providers() -> list[str]:
    """``TAGGER_DEVICE=cpu`` forces the CPU; otherwise CUDA is tried first when this onnxruntime build has it."""
    if os.environ.get("TAGGER_DEVICE", "").lower() == "cpu":
        return [CPU]
    available = _ort().get_available_providers()
    return [CUDA, CPU] if CUDA in available else [CPU]


def _session_options(threads: int | None):
    ort = _ort()
    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads:
        opts.intra_op_num_threads = threads
    return opts


# CUDA's TF32 tensor cores round conv/matmul inputs to 10 bits of mantissa: on an H200 the features moved by up to 0.01
# and the embeddings by 0.023 from the CPU's (bench/gpu_check.py). Full fp32 keeps a catalog indexed on a GPU
# interchangeable with one indexed on a laptop; the model runs at ~5,000 photos/s either way, far above decoding.
CUDA_OPTIONS = {"use_tf32": "0"}


def _with_options(providers: list[str]) -> list:
    return [(p, CUDA_OPTIONS) if p == CUDA else p for p in providers]


def open_session(path: Path | str, threads: int | None = None, providers: list[str] | None = None):
    """An onnxruntime session under the one set of rules: CUDA first when it works, else the CPU, fatal-only logging.

    For every ONNX file the product runs (the Tagger model, the OCR and face detectors): one place decides providers
    and threads. A provider that fails to build the session falls back to the CPU instead of failing. onnxruntime
    sessions are safe to ``run`` from several threads at once.
    """
    ort = _ort()
    providers = providers or requested_providers()
    try:
        return ort.InferenceSession(str(path), _session_options(threads), providers=_with_options(providers))
    except Exception:
        if providers == [CPU]:
            raise
        return ort.InferenceSession(str(path), _session_options(threads), providers=[CPU])


def cpu_variant_file(folder: Path, manifest: dict[str, Any]) -> Path | None:
    """The int8 CPU variant of a model folder, when it may be used: the manifest records it as having passed its
    accuracy check (built with the model and matching a graph measured by bench/quantize.py --record, see
    tagger/engine/cpu_variant.py), the file still has the recorded sha256, and the person asked for it
    (``TAGGER_MODEL_PRECISION=int8``). Anything else: None, and the fp32 graph is used; a missing or damaged variant
    costs speed only, so it is never an error.

    Opt-in, not automatic, although it holds Caltech hit@1 (0.6225 vs 0.6229): a catalog keeps one embedding per
    photo and model id, and int8 and fp32 share the model id, so a library indexed partly by each (an upgrade, a GPU
    machine and a laptop) would compare embeddings of two graphs; and int8 moves them more than a re-encoding does
    (the EXIF orientation examples: min cosine 0.914 against 0.95 with fp32; ImageNet top-1 agrees on 80 % of
    photos). Opting in suits a CPU-only library indexed from scratch."""
    if os.environ.get(PRECISION_ENV, "").lower() != "int8":
        return None
    entry = manifest.get("cpu_variant")
    if not isinstance(entry, dict) or entry.get("passed") is not True or not entry.get("file"):
        return None
    path = Path(folder) / entry["file"]
    try:
        from tagger.engine.manifest import sha256_by_stat

        return path if sha256_by_stat(path) == entry.get("sha256") else None
    except OSError:
        return None


@dataclass
class ModelRuntime:
    """An onnxruntime session over an exported Tagger model; thread-safe ``run``."""

    path: Path
    provider: str
    _session: object
    _lock: threading.Lock
    variant: str = "fp32"  # "int8": the quantized CPU variant of the model

    @classmethod
    def open(cls, onnx_path: Path, threads: int | None = None, providers: list[str] | None = None) -> ModelRuntime:
        session = open_session(onnx_path, threads, providers)
        bound = session.get_providers()[0]
        return cls(Path(onnx_path), bound, session, threading.Lock())

    @classmethod
    def open_model(cls, folder: Path, manifest: dict[str, Any], threads: int | None = None,
                   providers: list[str] | None = None) -> ModelRuntime:
        """A model folder's graph: the int8 variant on the CPU when it passed its accuracy check, fp32 otherwise.

        CUDA always runs fp32 (int8 QDQ graphs are no faster there). When CUDA is requested but the session falls
        back to the CPU, the fp32 session is replaced by the variant, so a machine with a broken GPU setup is no
        slower than a CPU-only one."""
        providers = providers or requested_providers()
        fp32 = Path(folder) / manifest["onnx"]["file"]
        int8 = cpu_variant_file(folder, manifest)
        if int8 is not None and providers == [CPU]:
            return cls.open(int8, threads, [CPU])._as("int8")
        runtime = cls.open(fp32, threads, providers)
        if int8 is not None and runtime.provider == CPU:
            return cls.open(int8, threads, [CPU])._as("int8")
        return runtime

    def _as(self, variant: str) -> ModelRuntime:
        self.variant = variant
        return self

    @property
    def device(self) -> str:
        return "CUDA" if self.provider == CUDA else "CPU"

    def run(self, pixels: np.ndarray) -> dict[str, np.ndarray]:
        """(n,3,S,S) float32 -> {'features', 'embedding', 'logits'}."""
        pixels = np.ascontiguousarray(pixels, dtype=np.float32)
        with self._lock:
            outputs = self._session.run(None, {"pixels": pixels})
        names = [o.name for o in self._session.get_outputs()]
        return dict(zip(names, outputs))
