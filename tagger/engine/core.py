"""The visual-semantic engine: photos in, word-space vectors and ImageNet evidence out, through onnxruntime only.

The CLI, the indexer, the evaluation and the GUI all go through :class:`Engine`, so there is one way to turn pixels
into vectors and one way to score words against them.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from tagger.engine.head import untrained_embedding
from tagger.engine.imageio import Preprocessing, iter_batches
from tagger.engine.manifest import artefact_path
from tagger.engine.model_store import CLASS_VECTORS_NAME, DEFAULT_TOP_T, ensure_model
from tagger.engine.runtime import ModelRuntime
from tagger.engine.scoring import TAG_DELTA, WORDNET_DELTA, LabelSet, top_classes
from tagger.progress import ProgressFn

TAG_INDEX_NAME = "tag_index.npz"


@dataclass
class Embedded:
    """What the model says about a list of files; rows follow ``ok`` (positions of the files that decoded)."""

    ok: list[int]
    features: np.ndarray  # (n, F) float32 backbone features
    embeddings: np.ndarray  # (n, D) unit word-space vectors
    top_classes: np.ndarray  # (n, T) int16 ImageNet class indices, most probable first
    top_probs: np.ndarray  # (n, T) float32 their probabilities renormalised over the T
    failures: list[tuple[int, str]] = field(default_factory=list)  # (position, reason)
    seconds: float = 0.0  # wall time of decoding + inference
    logits: np.ndarray | None = None  # (n, 1000) only when asked for (analysis; the catalog keeps the top T)

    @property
    def images_per_second(self) -> float:
        n = len(self.ok) + len(self.failures)
        return n / self.seconds if self.seconds > 0 else float("nan")


@dataclass
class Inference:
    features: np.ndarray  # (n, F)
    embeddings: np.ndarray  # (n, D) unit: the untrained model's (every version keeps these for zero-shot words)
    top_classes: np.ndarray  # (n, T) int16
    top_probs: np.ndarray  # (n, T) float32, renormalised over the T
    logits: np.ndarray  # (n, 1000)
    trained: np.ndarray | None = None  # (n, D) unit: the active trained version's embeddings, if one is active


def default_model_threads() -> int:
    """onnxruntime threads for the model: a quarter of the cores. The model runs beside the decoding threads, which
    are the bottleneck; two pools each sized to all cores oversubscribe a laptop (bench/index_throughput.py, 2 cores:
    1 model thread + 4 decoders 42.8 images/s, 2 + 2 at 40.0; CPU time per photo 43.5 ms against 51 ms)."""
    return max(1, (os.cpu_count() or 2) // 4)


class Engine:
    """A verified model, its onnxruntime session and its word space."""

    def __init__(self, folder: Path, manifest: dict[str, Any], threads: int | None = None):
        self.folder = folder
        self.manifest = manifest
        self.threads = threads if threads is not None else default_model_threads()
        self.prep = Preprocessing.from_json(manifest["preprocessing"])
        self.top_t = int(manifest["projection"]["top_t"])
        self.class_vectors = np.load(folder / CLASS_VECTORS_NAME)
        self.version = None  # the active trained version (tagger.engine.version.ModelVersion), None: untrained

    @cached_property
    def runtime(self) -> ModelRuntime:
        """The onnxruntime session, opened on first use: re-indexing an unchanged library never needs it. The base
        model runs its int8 CPU variant where it passed its accuracy check (``ModelRuntime.open_model``); a trained
        version's graph runs as trained."""
        if self.version:
            return ModelRuntime.open(self.version.onnx_path, threads=self.threads)
        return ModelRuntime.open_model(self.folder, self.manifest, threads=self.threads)

    @cached_property
    def faces(self):
        """The face detector (tagger.engine.faces), opened on first use; one thread a call, safe to share between
        the indexer's decode threads."""
        from tagger.engine.faces import FaceDetector

        return FaceDetector.open(threads=1)

    @cached_property
    def text_reader(self):
        """The text reader (tagger.engine.ocr), opened on first use: only photos where text is likely need it."""
        from tagger.engine.ocr import TextReader

        return TextReader.open(threads=1)

    def twin(self) -> Engine:
        """An engine for a background job that switches versions (training, rollback) while this one keeps serving
        the active version: the word space, tag index and class vectors are shared, the ONNX session is not."""
        import copy

        _ = self.word_space, self.tag_set  # loaded once here, shared by the twin
        twin = copy.copy(self)
        twin.__dict__.pop("runtime", None)
        return twin

    def use_version(self, version) -> None:
        """Run a trained version's graph from now on (None: the untrained model). Same backbone, same features:
        only the embedding output changes, and the untrained embedding is still derived for zero-shot words."""
        if version is not None and version.base_model != self.model_id:
            raise ValueError(f"version {version.number} was trained on {version.base_model}, not {self.model_id}")
        self.version = version
        self.__dict__.pop("runtime", None)

    def untrained_embeddings(self, top_classes: np.ndarray, top_probs: np.ndarray) -> np.ndarray:
        """ConSE's unit embedding from the top-T classes: exactly what the untrained graph outputs (its residual is
        zero), so a trained graph's run still yields the zero-training vectors."""
        return untrained_embedding(top_classes, top_probs, self.class_vectors)

    @cached_property
    def word_space(self):
        from tagger.engine.wordspace import WordSpace

        return WordSpace.load(artefact_path(self.folder, self.manifest["word_space"]["path"]).resolve())

    @classmethod
    def load(cls, backbone: str = "lite0", word_space: Path | None = None, *, top_t: int = DEFAULT_TOP_T,
             progress: ProgressFn | None = None, notice=None, threads: int | None = None) -> Engine:
        folder, manifest = ensure_model(backbone, word_space, top_t=top_t, progress=progress, notice=notice)
        return cls(folder, manifest, threads=threads)

    @property
    def model_id(self) -> str:
        return self.folder.name

    @property
    def active_model_ids(self) -> list[str]:
        """The model ids whose vectors and automatic tags are current: the base model and the active trained version.
        What the catalog may write keywords for, and what must cover every photo."""
        return [self.model_id] + ([self.version.model_id] if self.version is not None else [])

    @property
    def word_space_id(self) -> str:
        return self.manifest["word_space"]["id"]

    def infer(self, pixels: np.ndarray) -> Inference:
        """One model call on a batch of network inputs."""
        out = self.runtime.run(pixels)
        idx, p = top_classes(out["logits"], self.top_t)
        if self.version is None:
            return Inference(out["features"], out["embedding"], idx, p, out["logits"])
        return Inference(out["features"], self.untrained_embeddings(idx, p), idx, p, out["logits"], out["embedding"])

    def embed_files(self, paths: Sequence[str | os.PathLike], batch_size: int = 32,
                    progress: ProgressFn | None = None, workers: int | None = None,
                    keep_logits: bool = False, loader=None) -> Embedded:
        """Decode in parallel and run the model in batches; undecodable files are listed, never fatal."""
        n = len(paths)
        dim_f = int(self.manifest["backbone"]["feature_dim"])
        dim_e = int(self.manifest["word_space"]["dim"])
        feats, embs, tops, probs, ok, failures, logits = [], [], [], [], [], [], []
        start, done = time.perf_counter(), 0
        extra = {"loader": loader} if loader is not None else {}
        for batch in iter_batches(paths, self.prep, batch_size, workers, **extra):
            failures.extend(batch.failures)
            if len(batch.indices):
                out = self.infer(batch.pixels)
                feats.append(out.features)
                embs.append(out.embeddings)
                tops.append(out.top_classes)
                probs.append(out.top_probs)
                ok.extend(batch.indices)
                if keep_logits:
                    logits.append(out.logits)
            done += len(batch.indices) + len(batch.failures)
            if progress:
                progress("embedding photos", done, n)
        seconds = time.perf_counter() - start
        cat = lambda xs, shape, dt: np.concatenate(xs) if xs else np.zeros(shape, dt)
        return Embedded(ok, cat(feats, (0, dim_f), np.float32), cat(embs, (0, dim_e), np.float32),
                        cat(tops, (0, self.top_t), np.int16), cat(probs, (0, self.top_t), np.float32),
                        failures, seconds, cat(logits, (0, 1000), np.float32) if keep_logits else None)

    def label_set(self, texts: Sequence[str], use_wordnet: bool = True, delta: float = WORDNET_DELTA) -> LabelSet:
        return LabelSet.build(texts, self.word_space.text_vectors(list(texts)), self.class_vectors, use_wordnet,
                              delta=delta)

    @property
    def backbone(self) -> str:
        return self.manifest["backbone"]["name"]

    @cached_property
    def tag_set(self) -> LabelSet:
        """The tag vocabulary, ready to score (the vocabulary every tag cloud draws from), with the tag-cloud
        specificity setting (:data:`tagger.engine.scoring.TAG_DELTA`).

        Scoring 23k words needs each word's vector and WordNet affinity (~10 s to compute), so the result is cached
        next to the model, keyed by the vocabulary's and the model's content.
        """
        from tagger.engine.vocabulary import load_vocabulary

        vocab = load_vocabulary()
        key = hashlib.sha256(("\n".join(vocab) + "|" + json.dumps(self.manifest["artefacts"], sort_keys=True)
                              + f"|{LabelSet.recipe(delta=TAG_DELTA)}").encode()).hexdigest()
        cache = self.folder / TAG_INDEX_NAME
        cached = LabelSet.load(cache, key)
        if cached is not None and cached.texts == vocab:
            return cached
        labels = self.label_set(vocab, delta=TAG_DELTA)
        try:
            labels.save(cache, key)
        except OSError:
            pass  # a read-only models folder only costs speed
        return labels
