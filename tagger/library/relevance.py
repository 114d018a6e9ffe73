"""When a photo *matches* a query: one probability-like scale for every query, and a line between match and not.

Raw search scores are cosines mixed with WordNet evidence; their level depends on the word ("dog" scores dalmatians
0.6-0.7, "beach" scores waterfalls 0.4-0.6 in a library without a beach), so no cut-off on them means the same for
two queries. The evidence that *is* comparable:

- the taxonomy: the probability the classifier gives to ImageNet classes that ARE the word or kinds of it (a
  dalmatian is a dog: p(dog) on a dalmatian photo ~ 0.9; "beach" on a waterfall ~ 0);
- the vocabulary: whether the word would be the photo's first automatic tag, i.e. beats all ~23k words of the tag
  vocabulary on that photo, scored on the tag clouds' scale (the stored auto tags give the bar, per photo);
- the person's words: a tag, keyword or label on the photo is a certain match (``tagger.library.user_words``), and
  a label learned from photos gives its own probability (``tagger.library.label_scores``), which also takes its
  share from the words it rules out: a photo that is surely one of the person's dolphins is not also a shark
  (``excludes``), but may still be a "sea" photo, and a photo of the dog named Rex is still a dog.

A photo matches when its relevance is >= MATCH (0.5). Measured on Caltech-101 (`python bench/relevance.py`, figures in
docs/benchmarks.md): the zero-shot rule alone is right 92% of the time where it matches a label query (recall 0.32:
most photos' best tag is a more specific word) and leaves 21 of 30 words naming absent things with no match (the rest
are the classifier's confusions: "shark" on dolphins); with the labels learnt, precision 0.90-0.93, recall 0.81-0.85,
and 24-25 of the 30 absent words match nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from tagger.engine.scene_words import scene_classes
from tagger.engine.wordnet import class_affinity, senses, wordnet

MATCH = 0.5
# How far a context word ("water" in "boat on water") moves a photo toward the top of its side of the match line when
# it fits the photo fully (tagger.engine.query_parse): measured on Caltech-101, see ``with_context``
CONTEXT_WEIGHT = 0.5
OWN_AFFINITY = 0.999  # class_affinity is exactly 1 for the word's own synsets and their descendants
TOP_TAG_SOFTNESS = 0.01  # tag-scale score units: a word 0.01 above the photo's best tag is ~0.73
N_CLASSES = 1000  # ImageNet


@dataclass(frozen=True)
class ClassEvidence:
    """Each photo's top-T ImageNet classes and their probabilities: the (N, 1000) evidence matrix, kept as the two
    (N, T) arrays the catalog stores. A query reads it as a gather over T = 10 columns, the same numbers a sparse
    matrix product gives, without building one per query or importing scipy (0.4 s of a 0.6 s `tagger search`)."""

    classes: np.ndarray  # (N, T) int
    probs: np.ndarray  # (N, T) float32

    @classmethod
    def of(cls, top_classes: np.ndarray, top_probs: np.ndarray) -> ClassEvidence:
        n = len(top_classes)
        t = np.asarray(top_classes).size // n if n else 0  # an empty catalog's table is (0, 0)
        return cls(np.asarray(top_classes, np.intp).reshape(n, t), np.asarray(top_probs, np.float32).reshape(n, t))

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.classes), N_CLASSES

    def mass(self, classes: np.ndarray) -> np.ndarray:
        """(N,) the probability each photo gives to any of ``classes`` (class indices)."""
        hit = np.isin(self.classes, np.asarray(classes, np.intp))
        return np.where(hit, self.probs, np.float32(0.0)).sum(axis=1, dtype=np.float32)

    def weigh(self, class_weights: np.ndarray) -> np.ndarray:
        """(N,) for (1000,) weights, (N, n) for (1000, n): evidence @ class_weights."""
        w = np.asarray(class_weights, np.float32)[self.classes]  # (N, T) or (N, T, n)
        if w.ndim == 2:
            return (self.probs * w).sum(axis=1, dtype=np.float32)
        return np.einsum("nt,ntk->nk", self.probs, w).astype(np.float32)


@dataclass(frozen=True)
class QueryWord:
    """One query word as ``tagger.engine.scoring.LabelSet.build`` makes a one-label set (same vector, affinity and
    hubness), with the affinity a dense (1000,) column: no sparse matrix on the query path."""

    vector: np.ndarray  # (D,) float32
    affinity: np.ndarray  # (1000,) float32, zero below MIN_AFFINITY
    hub: float

    @classmethod
    def build(cls, text: str, vector: np.ndarray, class_vectors: np.ndarray | None = None,
              delta: float | None = None) -> QueryWord:
        """``class_vectors`` None: no hubness (the meaning score does not use it)."""
        from tagger.engine.scoring import HUB_K, MIN_AFFINITY, WORDNET_DELTA, WORDNET_GAMMA, fused

        vector = np.asarray(vector, np.float32).reshape(-1)
        a = np.asarray(class_affinity(text, WORDNET_GAMMA, WORDNET_DELTA if delta is None else delta), np.float32)
        affinity = np.where(a >= MIN_AFFINITY, a, np.float32(0.0)).astype(np.float32)
        hub = 0.0
        if class_vectors is not None:
            class_vectors = np.asarray(class_vectors, np.float32)
            k = min(HUB_K, class_vectors.shape[0])
            sim = fused(class_vectors @ vector, affinity, True)
            hub = float(np.sort(sim)[-k:].mean())
        return cls(vector, affinity, hub)


def taxonomy_probability(text: str, evidence: ClassEvidence) -> np.ndarray:
    """(N,) the probability mass each photo's top ImageNet classes give to kinds of ``text`` (0 if WordNet does not
    know it or no class is one)."""
    own = np.flatnonzero(class_affinity(text) >= OWN_AFFINITY)
    if not len(own):
        return np.zeros(evidence.shape[0], np.float32)
    return evidence.mass(own)


def tag_scale(word: QueryWord, embeddings: np.ndarray, evidence: ClassEvidence) -> np.ndarray:
    """(N,) the word's scores exactly as the stored automatic tags were scored (the tag vocabulary's recipe: word
    and taxonomy always fused, even for a word WordNet does not know, minus half its hubness), so a query's score and
    a photo's best stored tag can be compared. ``word``: built with ``TAG_DELTA`` and the class vectors."""
    from tagger.engine.scoring import fused

    cosine = np.asarray(embeddings, np.float32) @ word.vector
    return (fused(cosine, evidence.weigh(word.affinity), True) - np.float32(0.5 * word.hub)).astype(np.float32)


def top_tag_probability(tag_scale: np.ndarray, best_tag: np.ndarray) -> np.ndarray:
    """(N,) a soft "the word would be this photo's first automatic tag": 0.5 when it ties its best stored tag."""
    margin = (np.asarray(tag_scale, np.float32) - np.asarray(best_tag, np.float32)) / TOP_TAG_SOFTNESS
    return (1.0 / (1.0 + np.exp(-np.clip(margin, -50, 50)))).astype(np.float32)


def zero_shot_probability(text: str, tag_scale: np.ndarray, best_tag: np.ndarray,
                          evidence: ClassEvidence) -> np.ndarray:
    """(N,) how surely each photo shows ``text`` by the untrained model: the stronger of the two comparable signals."""
    return np.maximum(taxonomy_probability(text, evidence), top_tag_probability(tag_scale, best_tag))


@lru_cache(maxsize=65536)
def implies(label: str, text: str) -> bool:
    """Whether every photo of ``label`` is also ``text``: the same word ("Blorptiks" is "blorptik"), or a label WordNet
    files under it ("dalmatian" is a "dog", an "animal"). A label WordNet does not know implies only itself."""
    from tagger.library.user_words import word_forms

    if word_forms(label) & word_forms(text):  # the same word, in any case, accent or number
        return True
    wanted = set(senses(text))
    if not wanted:
        return False
    net = wordnet()
    return any(s in wanted or wanted & net.ancestors(s) for s in senses(label))


# WordNet depth of the deepest common ancestor from which two things are rival subjects of a photo. Caltech-101 with
# 97 labels (bench/relevance.py), share of 30 absent words with no match: depth 4 -> 90%, 5 -> 87%, 6 -> 73%; the
# labels' own precision and recall do not move
EXCLUSIVE_DEPTH = 4
# a label with no ImageNet class of its own is a visual kind from this depth ("okapi" 15, "bonsai" 10; "pet" 9).
# Caltech-101 (bench/relevance.py), absent words with no match, instant / trained labels: 10 -> 83% / 80%,
# 8 -> 87% / 83% but "pet" would then rule out "kangaroo" on a tagged kangaroo's look-alikes
VISUAL_DEPTH = 10
WHOLE = "n00003553"  # WordNet's "whole, unit": objects, living things, artifacts


@lru_cache(maxsize=65536)
def excludes(label: str, text: str) -> bool:
    """Whether a photo that is surely ``label`` is thereby unlikely to be ``text``: two things a photo shows as its
    subject (``_things``: objects, organisms, artifacts) of different kinds, neither a kind of the other, whose
    deepest common ancestor in WordNet is at depth EXCLUSIVE_DEPTH or more (dolphin / shark meet at 10, bicycle /
    motorcycle at "wheeled vehicle", 7, cannon / tractor at "instrumentality", 5): the classifier's evidence for the
    word is about the same subject the label names. A place, a scene, a time or a material ("sea", "garden",
    "holiday", "snow") shares photos with anything, and a label that looks like a name ("Rex") or that WordNet does
    not know ("zorblax", "Holiday 2023") excludes nothing: Rex may be a dog."""
    if _looks_like_a_name(label) or not _visual_kind(label) or implies(label, text) or implies(text, label):
        return False
    net = wordnet()
    ours, theirs = _things(label), _things(text)
    if not ours or not theirs:
        return False
    deepest = -1
    for a in ours:
        up = net.ancestors(a) | {a}
        for b in theirs:
            for common in up & (net.ancestors(b) | {b}):
                deepest = max(deepest, net.depth(common))
    return deepest >= EXCLUSIVE_DEPTH


def _things(text: str) -> list[str]:
    """The senses of ``text`` that are things a photo shows as its subject (under WordNet's "whole, unit": objects,
    organisms, artifacts), not places, scenes, times or materials ("sea", "garden", "holiday", "snow")."""
    net = wordnet()
    return [s for s in senses(text) if WHOLE in net.ancestors(s)]


def _visual_kind(label: str) -> bool:
    """Whether a label names a kind the classifier itself knows (ImageNet classes that are it or kinds of it:
    "dalmatian", "sports car", "bird") or a kind as specific (WordNet depth VISUAL_DEPTH or more: "okapi"). Role and
    occasion nouns WordNet files under a kind ("pet" under animal, "gift", "souvenir") name no look, and rule out
    nothing: a pet may be a dog or a kangaroo. Nor does a scene ("kitchen", "beach"), though the scene table gives it
    the classes that show it (``tagger.engine.scene_words``): a kitchen photo may show a dog."""
    if scene_classes(label):
        return False
    if np.any(class_affinity(label) >= OWN_AFFINITY):
        return True
    net = wordnet()
    return any(net.depth(s) >= VISUAL_DEPTH for s in senses(label))


def _looks_like_a_name(label: str) -> bool:
    """"Rex", "Anna": capitalised, not shouting. WordNet may know the word ("rex": a king); the person meant a name."""
    words = label.split()
    return bool(words) and all(w[:1].isupper() and not w.isupper() for w in words)


def percentile(scores: np.ndarray) -> np.ndarray:
    """(N,) each photo's rank among the library's by ``scores``, 0 (lowest) .. 1 (highest): a context word's meaning
    score has no scale of its own, but where a photo stands among the library's photos does."""
    scores = np.asarray(scores, np.float32)
    if len(scores) < 2:
        return np.ones(len(scores), np.float32)
    out = np.empty(len(scores), np.float32)
    out[np.argsort(scores, kind="stable")] = np.arange(len(scores), dtype=np.float32) / (len(scores) - 1)
    return out


def with_context(head: np.ndarray, fit: np.ndarray, weight: float | None = None) -> np.ndarray:
    """(N,) the head noun's relevance re-ranked by how well the photo fits the query's context words (``fit`` in
    0..1: "water" in "boat on water"): moved ``weight * fit`` of the way to the top of its side of the match line, so
    the subject alone decides what matches ("boat on water" matches every boat; the boats on water come first) and a
    context word never makes or breaks a match."""
    weight = CONTEXT_WEIGHT if weight is None else weight
    head = np.asarray(head, np.float32)
    fit = np.clip(np.asarray(fit, np.float32), 0.0, 1.0)
    top = np.where(head >= MATCH, np.float32(1.0), np.nextafter(np.float32(MATCH), np.float32(0.0)))
    return np.minimum(head + weight * fit * np.maximum(top - head, 0.0), top).astype(np.float32)


def combine(zero: np.ndarray, labels_inside: np.ndarray | None, label_part: np.ndarray | None) -> np.ndarray:
    """Relevance from the untrained model's probability, the mass of the person's labels that exclude the word
    (``labels_inside``, see ``excludes``), and the probability of the labels that imply it (``label_part``):
    max(label part, zero * (1 - inside))."""
    out = np.asarray(zero, np.float32)
    if labels_inside is not None:
        out = out * np.clip(1.0 - labels_inside, 0.0, 1.0)
    if label_part is not None:
        out = np.maximum(out, label_part)
    return out
