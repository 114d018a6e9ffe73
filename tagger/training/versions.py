"""Writing trained model versions: one folder per version, the base graph with the trained head's weights swapped in.

Every exported graph carries the same residual head (``tagger.engine.projection``): in the base model its last layer is
zero. A version is that graph with the trained weights put into its initializers (ONNX surgery, ~1 s, no re-export),
plus ``head.npz`` (the same weights, to re-project stored features without decoding a photo again), the labels it
was trained on, their word vectors and the calibration that mixes the trained and the zero-training experts. The
manifest lists the sha256 of every file, so a damaged version is refused, never used silently.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from tagger.engine.label_scorer import save_open_set
from tagger.engine.manifest import MANIFEST_FORMAT
from tagger.engine.version import HEAD_FILE, LABELS_FILE, ONNX_FILE, VERSION_KIND, VersionError, version_model_id
from tagger.fileio import atomic_write_json, sha256_file
from tagger.training.calibration import Calibration
from tagger.training.trainer import TrainedHead

RESIDUAL_PREFIX = "projection.residual."


def label_lambdas(labels: Sequence[str], known: Sequence[bool], calibration: Calibration) -> np.ndarray:
    """A label the word space only knows by its subwords ("zorblax", a pet's name) has no zero-training meaning:
    its trained expert decides alone."""
    return np.array([calibration.lam if k else 1.0 for k in known], np.float32).reshape(len(labels))


def write_version(out: Path, *, number: int, base_folder: Path, base_manifest: dict[str, Any], head: TrainedHead,
                  label_vectors: np.ndarray, lam: np.ndarray, calibration: Calibration,
                  metrics: dict[str, Any], label_model=None) -> Path:
    """Write the version into ``out`` through a temp folder renamed into place, manifest last. The temp folder is
    this run's own, and an existing ``out`` is never replaced: two runs can never write into or over each other's
    version (issue 12: a shared ``v1.building`` lost a file under the other run). ``label_model``: the open-set
    label model (``tagger.engine.label_scorer.OpenSet``) in the order of ``head.label_texts``, written beside."""
    if out.exists():
        raise VersionError(f"a folder for model version {number} already exists ({out}); nothing was replaced: "
                           "train again")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f"{out.name}.building-{os.getpid()}-{secrets.token_hex(4)}")
    tmp.mkdir(parents=True)  # fails rather than share: the name is this run's
    try:
        swap_head(base_folder / base_manifest["onnx"]["file"], tmp / ONNX_FILE, head.layers)
        arrays = {"n_layers": np.array(len(head.layers)), "label_vectors": np.asarray(label_vectors, np.float32),
                  "lam": np.asarray(lam, np.float32)}
        for i, (w, b) in enumerate(head.layers):
            arrays[f"w{i}"], arrays[f"b{i}"] = np.asarray(w, np.float32), np.asarray(b, np.float32)
        np.savez(tmp / HEAD_FILE, **arrays)
        artefacts = {ONNX_FILE: sha256_file(tmp / ONNX_FILE), HEAD_FILE: sha256_file(tmp / HEAD_FILE)}
        if label_model is not None:
            save_open_set(tmp / LABELS_FILE, label_model, list(head.label_texts))
            artefacts[LABELS_FILE] = sha256_file(tmp / LABELS_FILE)
        manifest = {
            "format": MANIFEST_FORMAT, "kind": VERSION_KIND, "version": number,
            "model": version_model_id(base_folder.name, number), "base_model": base_folder.name,
            "base_onnx_sha256": base_manifest["artefacts"][base_manifest["onnx"]["file"]],
            "onnx": {"file": ONNX_FILE}, "labels": list(head.label_texts), "calibration": calibration.to_json(),
            "metrics": metrics,
            "artefacts": artefacts,
        }
        atomic_write_json(tmp / "manifest.json", json.loads(json.dumps(manifest, default=_json_safe)))
        try:
            os.rename(tmp, out)  # an existing non-empty ``out`` (another run, just now) is refused by the OS
        except OSError as exc:
            raise VersionError(f"could not put model version {number} in place at {out} ({exc.strerror or exc}); "
                               "nothing was replaced: train again") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj)}")


def swap_head(base_onnx: Path, out: Path, layers: Sequence[tuple[np.ndarray, np.ndarray]]) -> None:
    """Copy the base graph with the residual head's Gemm weights and biases replaced by ``layers``.

    The exporter may drop an all-zero bias (the base head's last layer) or store a weight transposed; both are
    handled by reading each Gemm's inputs and ``transB`` rather than assuming a layout."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(base_onnx))
    inits = {i.name: i for i in model.graph.initializer}
    gemms = [n for n in model.graph.node if n.op_type == "Gemm" and len(n.input) > 1
             and n.input[1].startswith(RESIDUAL_PREFIX) and n.input[1] in inits]
    order = sorted(gemms, key=lambda n: _layer_position(n.input[1]))
    if len(order) != len(layers):
        raise VersionError(f"the base model's head has {len(order)} layers, the trained head {len(layers)}: "
                           "retrain against the current model")
    for node, (w, b) in zip(order, layers):
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        old = numpy_helper.to_array(inits[node.input[1]])
        w = np.asarray(w, np.float32) if trans_b else np.asarray(w, np.float32).T
        if old.shape != w.shape:
            raise VersionError(f"head weight {node.input[1]}: shape {w.shape} does not fit the graph's {old.shape}")
        inits[node.input[1]].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(w), node.input[1]))
        bias = np.asarray(b, np.float32)
        if len(node.input) > 2 and node.input[2] in inits:
            inits[node.input[2]].CopyFrom(numpy_helper.from_array(bias, node.input[2]))
        else:
            name = node.input[1].rsplit(".", 1)[0] + ".bias"
            while name in inits:
                name += "_"
            model.graph.initializer.append(numpy_helper.from_array(bias, name))
            inits[name] = model.graph.initializer[-1]
            if len(node.input) > 2:
                node.input[2] = name
            else:
                node.input.append(name)
    onnx.save(model, str(out))


def _layer_position(name: str) -> int:
    part = name[len(RESIDUAL_PREFIX):].split(".")[0]
    return int(part) if part.isdigit() else 0
