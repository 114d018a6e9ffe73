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

import numpy as np

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"


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


@dataclass
class ModelRuntime:
    """An onnxruntime session over an exported Tagger model; thread-safe ``run``."""

    path: Path
    provider: str
    _session: object
    _lock: threading.Lock

    @classmethod
    def open(cls, onnx_path: Path, threads: int | None = None, providers: list[str] | None = None) -> ModelRuntime:
        session = open_session(onnx_path, threads, providers)
        bound = session.get_providers()[0]
        return cls(Path(onnx_path), bound, session, threading.Lock())

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
