"""The residual head and the zero-training embedding, in numpy: the formulas every layer shares.

The exported graph (``tagger.engine.projection``) computes ``normalize(conse_mix + residual(features))``. Training
(``tagger.training``) fits the residual, re-projection and evaluation recompute embeddings from stored features, and
the engine derives the untrained embedding of a trained graph's run: all of them use these functions, so the numpy
and ONNX paths cannot drift apart (tests compare them within 1e-4).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tagger.engine.vectors import unit

RESIDUAL_HIDDEN = 512  # the hidden width of the residual head in every exported graph
LEAKY_SLOPE = 0.2

Layers = Sequence[tuple[np.ndarray, np.ndarray]]  # (weight (out, in), bias (out,)) pairs, LeakyReLU between them


def conse_mix(top_classes: np.ndarray, top_probs: np.ndarray, class_vectors: np.ndarray) -> np.ndarray:
    """ConSE's unnormalised mix from stored top-T classes: what the ONNX graph computes before the residual."""
    return np.einsum("nt,ntd->nd", np.asarray(top_probs, np.float32),
                     class_vectors[np.asarray(top_classes, np.int64)]).astype(np.float32)


def untrained_embedding(top_classes: np.ndarray, top_probs: np.ndarray, class_vectors: np.ndarray) -> np.ndarray:
    """The untrained model's unit embedding (its residual is zero): ConSE's mix, normalised."""
    return unit(conse_mix(top_classes, top_probs, class_vectors))


def residual(layers: Layers, features: np.ndarray) -> np.ndarray:
    """The head's output on raw backbone features (standardisation is folded into the first layer)."""
    x = np.asarray(features, np.float32)
    for i, (w, b) in enumerate(layers):
        x = x @ w.T + b
        if i < len(layers) - 1:
            x = np.where(x > 0, x, LEAKY_SLOPE * x)
    return x


def project(layers: Layers, features: np.ndarray, conse: np.ndarray, chunk: int = 16384) -> np.ndarray:
    """Unit embeddings of a trained model: normalize(conse + residual(f)), exactly what the exported ONNX gives;
    in chunks, so re-projecting a 100k library does not hold a 100k x hidden matrix."""
    out = np.empty((len(features), layers[-1][0].shape[0]), np.float32)
    zero = not (layers[-1][0].any() or layers[-1][1].any())  # an untrained head adds exactly nothing: skip its layers
    for lo in range(0, len(features), chunk):
        hi = min(lo + chunk, len(features))
        mixed = np.asarray(conse[lo:hi], np.float32)
        out[lo:hi] = unit(mixed if zero else mixed + residual(layers, features[lo:hi]))
    return out
