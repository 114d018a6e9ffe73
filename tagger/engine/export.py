"""Export backbone + projection as ONE ONNX graph with its manifest.

One graph means one runtime call per batch and no chance of pairing a backbone with the wrong head. Torch is used here
(and for training) only; everything that runs on a user's photos goes through onnxruntime.
"""

from __future__ import annotations

import datetime as _dt
import io
import os
import warnings
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tagger import __version__
from tagger.engine.backbone import BACKBONES, load_backbone, weights_path
from tagger.engine.cpu_variant import INT8_NAME, record_cpu_variant  # noqa: F401 - the int8 variant's home; kept here
from tagger.engine.head import RESIDUAL_HIDDEN
from tagger.engine.imageio import Preprocessing
from tagger.engine.manifest import MANIFEST_FORMAT, MANIFEST_NAME
from tagger.engine.projection import ConSE, Projection, TaggerNet
from tagger.fileio import atomic_path, atomic_write_json, sha256_file
from tagger.progress import ProgressFn

ONNX_NAME = "model.onnx"
OPSET = 18
INPUT_NAME = "pixels"
OUTPUT_NAMES = ("features", "embedding", "logits")

def build_net(backbone: str, class_vectors: np.ndarray, top_t: int, temperature: float = 1.0) -> TaggerNet:
    spec = BACKBONES[backbone]
    conse = ConSE(torch.from_numpy(np.asarray(class_vectors, np.float32)), top_t=top_t, temperature=temperature)
    return TaggerNet(load_backbone(backbone), Projection(conse, spec.feature_dim)).eval()


def export_onnx(net: TaggerNet, input_size: int, out_path: Path) -> None:
    """Write the graph (dynamic batch) atomically: a killed export leaves no half-written model behind."""
    with atomic_path(out_path) as tmp:
        dummy = torch.zeros(2, 3, input_size, input_size)
        with warnings.catch_warnings(), redirect_stdout(io.StringIO()), torch.no_grad():
            warnings.simplefilter("ignore")
            batch = torch.export.Dim("batch", min=1, max=4096)
            program = torch.onnx.export(
                net, (dummy,), dynamo=True, external_data=False, opset_version=OPSET,
                input_names=[INPUT_NAME], output_names=list(OUTPUT_NAMES),
                dynamic_shapes={"pixels": {0: batch}}, verbose=False,
            )
            program.save(str(tmp), external_data=False)


def write_model(
    folder: Path,
    *,
    backbone: str,
    word_space_path: Path,
    word_space_id: str,
    class_vectors: np.ndarray,
    class_vector_recipe: str,
    top_t: int,
    temperature: float = 1.0,
    net: TaggerNet | None = None,
    extra: dict[str, Any] | None = None,
    extra_artefacts: list[str] | None = None,
    progress: ProgressFn | None = None,
) -> dict[str, Any]:
    """Export the model into ``folder`` and write the manifest last, so a folder with a manifest is always complete."""
    spec = BACKBONES[backbone]
    prep = Preprocessing(spec.input_size, spec.resize)
    if progress:
        progress("loading backbone", 0, 3)
    net = net if net is not None else build_net(backbone, class_vectors, top_t, temperature)
    if progress:
        progress("exporting ONNX", 1, 3)
    onnx_path = folder / ONNX_NAME
    export_onnx(net, spec.input_size, onnx_path)
    if progress:
        progress("hashing", 2, 3)
    ws_name = _artefact_name(word_space_path, folder)
    dim = int(np.asarray(class_vectors).shape[1])
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "tagger_version": __version__,
        "backbone": {
            "name": spec.name,
            "architecture": spec.timm_name,
            "weights_package": spec.package,
            "weights_sha256": sha256_file(Path(weights_path(spec))),
            "feature_dim": spec.feature_dim,
            "classes": 1000,
        },
        "preprocessing": prep.to_json(),
        "word_space": {"id": word_space_id, "path": ws_name, "dim": dim},
        "projection": {"kind": "conse+residual-mlp", "hidden": RESIDUAL_HIDDEN, "top_t": top_t,
                       "temperature": temperature, "class_vectors": class_vector_recipe},
        "onnx": {
            "file": ONNX_NAME,
            "opset": OPSET,
            "inputs": {INPUT_NAME: ["batch", 3, spec.input_size, spec.input_size]},
            "outputs": {"features": ["batch", spec.feature_dim], "embedding": ["batch", dim],
                        "logits": ["batch", 1000]},
        },
        "artefacts": {ONNX_NAME: sha256_file(onnx_path), ws_name: sha256_file(word_space_path),
                      **{name: sha256_file(folder / name) for name in extra_artefacts or []}},
    }
    if extra:
        manifest.update(extra)
    atomic_write_json(folder / MANIFEST_NAME, manifest)
    if progress:
        progress("done", 3, 3)
    return manifest


def _artefact_name(path: Path, folder: Path) -> str:
    """Files under the models folder are named relative to the manifest (the tree can move); others stay absolute."""
    path = Path(path).resolve()
    try:
        path.relative_to(folder.resolve().parent)
    except ValueError:
        return str(path)
    return os.path.relpath(path, folder.resolve())
