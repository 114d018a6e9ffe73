"""The CUDA session's options: what the runtime asks onnxruntime for when CUDA is in play (no GPU needed to check)."""

from __future__ import annotations

import tagger.engine.runtime as runtime


class _Recorder:
    """Stands in for onnxruntime.InferenceSession: records the providers each session was asked for."""

    calls: list = []

    def __init__(self, path, options, providers):
        _Recorder.calls.append(providers)

    def get_providers(self):
        return [runtime.CPU]


def test_cuda_is_asked_for_full_fp32_not_tf32(monkeypatch):
    """TF32 moved an H200's embeddings by 0.023 from the CPU's (bench/gpu_check.py); with it off they agree to 1e-6,
    so a catalog indexed on a GPU and one indexed on a laptop score alike."""
    ort = runtime._ort()
    monkeypatch.setattr(ort, "InferenceSession", _Recorder)
    _Recorder.calls.clear()
    runtime.open_session("model.onnx", providers=[runtime.CUDA, runtime.CPU])
    (providers,) = _Recorder.calls
    assert providers[0] == (runtime.CUDA, {"use_tf32": "0"})
    assert providers[1] == runtime.CPU


def test_cpu_only_sessions_get_no_cuda_options(monkeypatch):
    ort = runtime._ort()
    monkeypatch.setattr(ort, "InferenceSession", _Recorder)
    _Recorder.calls.clear()
    runtime.open_session("model.onnx", providers=[runtime.CPU])
    assert _Recorder.calls == [[runtime.CPU]]
