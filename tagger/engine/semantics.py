"""Word vectors for the things the classifier knows: ImageNet class names, and which labels are ImageNet classes."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from tagger.engine.wordnet import imagenet_classes, normalise_lemma

# The short human-readable class names (imagenet-simple-labels): "tiger cat", "Egyptian Mau", "minivan".
# Measured on Caltech-101 test: the mean over all WordNet synonyms is no better (docs/research.md, "Which choices moved
# the numbers"), and rare synonyms ("Tinca tinca") add noise.
CLASS_VECTOR_RECIPE = "simple-label-phrase-mean"


def imagenet_class_vectors(space) -> np.ndarray:
    """(1000, D) unit vectors of the class names in the given word space."""
    return np.asarray(space.text_vectors([c.label for c in imagenet_classes()]), np.float32)


@lru_cache(maxsize=1)
def _imagenet_names() -> frozenset[str]:
    names = set()
    for c in imagenet_classes():
        names.add(normalise_lemma(c.label))
        names.update(normalise_lemma(s) for s in c.synonyms)
    return frozenset(names)


def is_imagenet_label(text: str) -> bool:
    """True when the text names one of the 1,000 classes (its short name or any WordNet synonym)."""
    from tagger.engine.wordnet import noun_forms

    return any(form in _imagenet_names() for form in noun_forms(text))
