"""The one rule for unit vectors: every cosine in Tagger is a dot product of rows normalised here.

A zero row stays zero (an unknown word, an all-zero feature) instead of becoming NaN, so a bad vector scores 0 against
everything rather than poisoning a ranking.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-12


def unit(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``x`` scaled to unit L2 norm along ``axis`` (rows by default); zero vectors stay zero. Keeps float32 float32."""
    x = np.asarray(x)
    return x / (np.linalg.norm(x, axis=axis, keepdims=True) + EPS)
