"""A trained model version as the product runs it: loaded, verified, projecting stored features, scoring its labels.

Versions are written by ``tagger.training.versions`` (the base graph with the trained head's weights swapped in, plus
``head.npz`` with the same weights and the calibration). Running one is inference: the engine runs its graph, the
indexer gives new photos its vectors and label tags, search scores its labels. So the reading side lives here, below
the library, and the library never has to import the trainer.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tagger.engine import head
from tagger.engine.manifest import IntegrityError, load_verified
from tagger.errors import TaggerError

VERSION_KIND = "trained-version"
HEAD_FILE = "head.npz"
ONNX_FILE = "model.onnx"
LABELS_FILE = "labels.npz"  # the few-shot label model (``tagger.engine.label_scorer``), in versions that have one
TAGS_PER_PHOTO = 3  # at most this many trained labels join a photo's automatic tags


class VersionError(TaggerError, RuntimeError):
    """A version cannot be written or used; the message says why."""


def versions_dir(catalog_path: Path) -> Path:
    """Versions live beside the catalog that owns them (they are trained on its photos, not shared models)."""
    return catalog_path.parent / (catalog_path.stem + ".models")


def version_folder(catalog_path: Path, recorded: Path | str) -> Path:
    """Where a recorded version's folder is now. Versions are written into ``versions_dir`` beside the catalog, but
    an older Tagger recorded them relative to the working directory of a `--db relative/path` command (from any
    other directory they looked "damaged"), and a catalog moved with its models folder records the old place. So a
    recorded folder that is not where it says is looked for by name beside the catalog; never relative to the
    working directory."""
    recorded = Path(recorded)
    home = versions_dir(catalog_path) / recorded.name
    if recorded.is_absolute() and recorded.is_dir():
        return recorded
    if home.is_dir():
        return home
    beside = catalog_path.parent / recorded
    if not recorded.is_absolute() and beside.is_dir():
        return beside
    return recorded if recorded.is_absolute() else home


def version_model_id(base_model: str, number: int) -> str:
    return f"{base_model}+v{number}"


@dataclass
class ModelVersion:
    """A loaded, verified trained version."""

    number: int
    folder: Path
    manifest: dict[str, Any]
    layers: list[tuple[np.ndarray, np.ndarray]]  # the trained residual head (``tagger.engine.head``)
    label_vectors: np.ndarray  # (L, D) unit
    lam: np.ndarray  # (L,) weight of the trained expert per label (1 for labels the word space does not know)
    gamma: float
    # (open set, label texts): how likely a photo is each label, from its stored features; None in versions written
    # before the label model (they score labels by ``label_scores``)
    label_model: tuple[Any, list[str]] | None = None

    @property
    def model_id(self) -> str:
        return self.manifest["model"]

    @property
    def base_model(self) -> str:
        return self.manifest["base_model"]

    @property
    def labels(self) -> list[str]:
        return list(self.manifest["labels"])

    @property
    def onnx_path(self) -> Path:
        return self.folder / ONNX_FILE

    @classmethod
    def load(cls, folder: Path, number: int) -> ModelVersion:
        try:
            manifest = load_verified(folder)
        except IntegrityError as exc:
            raise VersionError(f"model version {number} is damaged: {exc}") from None
        if manifest.get("kind") != VERSION_KIND:
            raise VersionError(f"{folder} is not a trained model version")
        with np.load(folder / HEAD_FILE, allow_pickle=False) as z:
            n_layers = int(z["n_layers"])
            layers = [(z[f"w{i}"], z[f"b{i}"]) for i in range(n_layers)]
            label_vectors = z["label_vectors"]
            lam = z["lam"]
        label_model = None
        if LABELS_FILE in manifest.get("artefacts", {}):
            from tagger.engine.label_scorer import load_open_set

            label_model = load_open_set(folder / LABELS_FILE)
        return cls(number, folder, manifest, layers, label_vectors, lam, float(manifest["calibration"]["gamma"]),
                   label_model)

    def project(self, features: np.ndarray, conse: np.ndarray) -> np.ndarray:
        """The version's unit embeddings from stored features: what its ONNX graph gives for the same photo."""
        return head.project(self.layers, features, conse)

    def label_scores(self, trained: np.ndarray, zero: np.ndarray) -> np.ndarray:
        """(N, L) scores of the trained labels: lam * cosine with the trained embedding + (1 - lam) * the
        zero-training score - gamma (the calibration's ``combine``, per label)."""
        return self.lam * (np.asarray(trained, np.float32) @ self.label_vectors.T) + (1 - self.lam) * zero - self.gamma


def label_tags(version: ModelVersion, trained: np.ndarray, zero: np.ndarray,
               floor: np.ndarray) -> list[list[tuple[str, float]]]:
    """The trained labels that join each photo's automatic tags: those scoring above the photo's weakest stored
    tag (so they compete with the vocabulary on the same scale), at most TAGS_PER_PHOTO. None for a version with a
    label model: search puts its labels among a photo's tags when asked (``tagger.library.search``), from the same
    probabilities that decide a match."""
    if version.label_model is not None:
        return [[] for _ in range(len(trained))]
    scores = version.label_scores(trained, zero)
    out = []
    for row, bar in zip(scores, floor):
        order = np.argsort(-row)[:TAGS_PER_PHOTO]
        out.append([(version.labels[j], float(row[j])) for j in order if row[j] >= bar])
    return out
