"""A user's first start builds the int8 CPU model, recognises it as the graph measured on Caltech (the default model's
entry in resources/quantize/verified.json) and runs it; `tagger info` says so."""

from __future__ import annotations

import pytest

from tagger.cli import main


def test_the_default_build_runs_the_verified_int8_model_on_the_cpu(engine, capsys):
    if engine.runtime.device != "CPU":
        pytest.skip("a GPU runs fp32")
    assert engine.manifest["cpu_variant"]["passed"] is True
    assert engine.runtime.variant == "int8" and engine.runtime.path.name == "model.int8.onnx"
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "int8 (verified: hit@1 0.6225 vs 0.6229)" in out
