"""A user's first start builds the int8 CPU model and recognises it as the graph measured on Caltech (the default
model's entry in resources/quantize/verified.json); it runs only when asked for (TAGGER_MODEL_PRECISION=int8), and
`tagger info` says which graph runs."""

from __future__ import annotations

import pytest

from tagger.cli import main
from tagger.engine.core import Engine
from tagger.engine.runtime import PRECISION_ENV


def test_the_default_build_verifies_int8_and_runs_fp32(engine, capsys, monkeypatch):
    monkeypatch.delenv(PRECISION_ENV, raising=False)
    if engine.runtime.device != "CPU":
        pytest.skip("a GPU runs fp32")
    assert engine.manifest["cpu_variant"]["passed"] is True
    assert engine.runtime.variant == "fp32"
    assert main(["info"]) == 0
    assert "fp32 (a verified int8 graph is built: TAGGER_MODEL_PRECISION=int8 runs it)" in capsys.readouterr().out


def test_opting_in_runs_the_verified_int8_graph(engine, capsys, monkeypatch):
    monkeypatch.setenv(PRECISION_ENV, "int8")
    mine = Engine(engine.folder, engine.manifest)
    if mine.runtime.device != "CPU":
        pytest.skip("a GPU runs fp32")
    assert mine.runtime.variant == "int8" and mine.runtime.path.name == "model.int8.onnx"
    assert main(["info"]) == 0
    assert "int8 (verified: hit@1 0.6225 vs 0.6229)" in capsys.readouterr().out
