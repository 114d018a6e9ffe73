"""The WordNet noun hierarchy and the ImageNet-1k classes that hang in it.

The classifier only knows 1,000 leaf synsets; the hierarchy lets a label such as "kangaroo" (not a class) collect the
probability of its descendants ("wallaby") and lets the tag vocabulary keep only words that name things in pictures.
"""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from tagger.paths import resource_path

SENSE_FILE = "wordnet_senses.txt.gz"
# Two things are cousins (class_affinity gamma**hops) only below a kind this deep: "animal" (6), "container" (6) and
# "musical instrument" (7) are; "organism" (5), "instrumentality" (5), "artifact" (4) and "whole" (3) hold too much
# to say anything (a person and a Persian cat meet at organism). Measured in docs: bench/relevance.py
MIN_MEET_DEPTH = 6


@dataclass(frozen=True)
class ImageNetClass:
    index: int
    wnid: str
    label: str  # short human-readable name
    synonyms: tuple[str, ...]  # WordNet lemmas of the synset, most common first


@lru_cache(maxsize=1)
def imagenet_classes() -> tuple[ImageNetClass, ...]:
    """The 1,000 classes in the standard sorted-wnid order that the pretrained classifier's logits follow."""
    simple = json.loads(resource_path("imagenet-simple-labels.json").read_text(encoding="utf-8"))
    rows = resource_path("imagenet1k_classes.tsv").read_text(encoding="utf-8").splitlines()[1:]
    classes = []
    for row in rows:
        index, wnid, _short, words = row.split("\t")
        i = int(index)
        synonyms = tuple(w.strip() for w in words.split(",") if w.strip())
        classes.append(ImageNetClass(i, wnid, simple[i], synonyms))
    if len(classes) != 1000 or [c.index for c in classes] != list(range(1000)):
        raise ValueError("resources/imagenet1k_classes.tsv must list the 1,000 classes in index order")
    return tuple(classes)


@dataclass
class WordNet:
    """Noun synsets (wnid -> lemmas) and is-a edges, with lemma lookup."""

    lemmas: dict[str, tuple[str, ...]]
    parents: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    children: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    by_lemma: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))

    def synsets(self, text: str) -> list[str]:
        """Synsets whose lemma is ``text`` (case-insensitive, '_' or '-' as space)."""
        return list(self.by_lemma.get(normalise_lemma(text), ()))

    def ancestors(self, wnid: str) -> set[str]:
        seen: set[str] = set()
        stack = list(self.parents.get(wnid, ()))
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(self.parents.get(node, ()))
        return seen

    def descendants(self, wnid: str) -> set[str]:
        seen: set[str] = set()
        stack = list(self.children.get(wnid, ()))
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(self.children.get(node, ()))
        return seen

    def depth(self, wnid: str) -> int:
        """Length of the shortest is-a path to the root (entity = 0)."""
        return _depth(self, wnid)


def normalise_lemma(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


def _depth(net: WordNet, wnid: str) -> int:
    frontier, depth, seen = [wnid], 0, {wnid}
    while frontier:
        if any(not net.parents.get(n) for n in frontier):
            return depth
        nxt = []
        for n in frontier:
            for p in net.parents[n]:
                if p not in seen:
                    seen.add(p)
                    nxt.append(p)
        frontier, depth = nxt, depth + 1
    return depth


@lru_cache(maxsize=1)
def wordnet() -> WordNet:
    """The noun hierarchy: from its array cache (``tagger.engine.wordnet_arrays``; built on first use) when it can be
    read or written, else parsed from ``resources/`` (the same WordNet either way)."""
    found = _arrays()
    if found is None:
        return _parse_wordnet()
    lemmas, parents, children, by_lemma, _, _ = found
    return WordNet(lemmas, parents, children, by_lemma)


_SOURCES = ("wordnet_words.txt.gz", "wordnet_is_a.txt.gz", SENSE_FILE, "imagenet1k_classes.tsv")


@lru_cache(maxsize=1)
def _arrays():
    """The cache's lazy mappings (lemmas, parents, children, by_lemma, sense counts), or None to parse instead.
    Keyed by the size and time of the text files, so changed resources build a new one."""
    import hashlib

    from tagger.engine import wordnet_arrays
    from tagger.paths import models_dir

    try:
        stamp = "|".join(f"{n}:{st.st_size}:{st.st_mtime_ns}" for n in _SOURCES
                         for st in [resource_path(n).stat()])
        key = hashlib.sha256(f"{wordnet_arrays.FORMAT}|{stamp}".encode()).hexdigest()[:16]
        path = models_dir() / "wordnet-cache" / f"wordnet-{key}.npz"
        arrays = wordnet_arrays.load(path)
        if arrays is None:
            net = _parse_wordnet()
            arrays = wordnet_arrays.to_arrays(net.lemmas, net.parents, net.children, net.by_lemma, _parse_senses(),
                                              _parse_classes_under(net))
            wordnet_arrays.save(arrays, path)
        return wordnet_arrays.mappings(arrays)
    except (OSError, ValueError, KeyError):  # read-only or odd resources: parsing still works
        return None


def _parse_wordnet() -> WordNet:
    lemmas: dict[str, tuple[str, ...]] = {}
    with gzip.open(resource_path("wordnet_words.txt.gz"), "rt", encoding="utf-8") as fh:
        for line in fh:
            wnid, _, words = line.rstrip("\n").partition("\t")
            lemmas[wnid] = tuple(w.strip() for w in words.split(",") if w.strip())
    net = WordNet(lemmas)
    with gzip.open(resource_path("wordnet_is_a.txt.gz"), "rt", encoding="utf-8") as fh:
        for line in fh:
            parent, child = line.split()
            net.parents[child].append(parent)
            net.children[parent].append(child)
    for wnid, words in lemmas.items():
        for w in words:
            key = normalise_lemma(w)
            if wnid not in net.by_lemma[key]:
                net.by_lemma[key].append(wnid)
    return net


def _up_distances(net: WordNet, wnid: str) -> dict[str, int]:
    """Fewest is-a hops from ``wnid`` up to each of its ancestors (itself at 0)."""
    dist = {wnid: 0}
    frontier = [wnid]
    while frontier:
        nxt = []
        for node in frontier:
            for parent in net.parents.get(node, ()):
                if parent not in dist:
                    dist[parent] = dist[node] + 1
                    nxt.append(parent)
        frontier = nxt
    return dist


@lru_cache(maxsize=1)
def _classes_under() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """For every synset above (or equal to) an ImageNet class: the indices of the classes below it and how many
    is-a hops below it each one sits (from the array cache when there is one)."""
    found = _arrays()
    return _parse_classes_under(wordnet()) if found is None else found[5]


def _parse_classes_under(net: WordNet) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    under: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for c in imagenet_classes():
        for ancestor, hops in _up_distances(net, c.wnid).items():
            under[ancestor].append((c.index, hops))
    return {k: (np.asarray([i for i, _ in v], np.int64), np.asarray([h for _, h in v], np.float32))
            for k, v in under.items()}


def noun_forms(text: str) -> list[str]:
    """The text and its likely singular forms: WordNet lists lemmas, people type plurals ("headphones")."""
    text = normalise_lemma(text)
    forms = [text]
    for suffix, repl in (("ies", "y"), ("ves", "f"), ("es", ""), ("s", "")):
        if text.endswith(suffix) and len(text) > len(suffix) + 2:
            forms.append(text[: -len(suffix)] + repl)
    return forms


def _lemma_senses(text: str) -> tuple[str, list[str]]:
    """(the lemma WordNet knows, its synsets): the text or its singular; for an unknown compound, its head noun."""
    net = wordnet()
    for form in noun_forms(text):
        found = net.synsets(form)
        if found:
            return form, found
    words = normalise_lemma(text).split()
    if len(words) > 1:
        for form in noun_forms(words[-1]):
            found = net.synsets(form)
            if found:
                return form, found
    return "", []


@lru_cache(maxsize=1)
def _sense_counts() -> Mapping[str, dict[str, tuple[int, int]]]:
    """lemma -> {wnid: (rank in WordNet's frequency order, SemCor tag count)} for lemmas with two or more senses
    (``resources/wordnet_senses.txt.gz``, from WordNet 3.0's index.noun and cntlist.rev); from the array cache when
    there is one."""
    found = _arrays()
    return _parse_senses() if found is None else found[4]


def _parse_senses() -> dict[str, dict[str, tuple[int, int]]]:
    out: dict[str, dict[str, tuple[int, int]]] = {}
    with gzip.open(resource_path(SENSE_FILE), "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("#") or not line.strip():
                continue
            lemma, _, cells = line.rstrip("\n").partition("\t")
            out[normalise_lemma(lemma)] = {wnid: (rank, int(count)) for rank, (wnid, _, count)
                                           in enumerate(c.partition(":") for c in cells.split())}
    return out


def senses(text: str) -> list[str]:
    """Noun synsets a label may mean, most used first; for an unknown compound, those of its head noun ("ceiling
    fan" -> "fan")."""
    lemma, found = _lemma_senses(text)
    order = _sense_counts().get(lemma, {})
    return sorted(found, key=lambda s: order.get(s, (len(order), 0))[0])


def sense_weights(text: str) -> dict[str, float]:
    """How much each sense of ``text`` counts, in (0, 1]: (tag count + 1) / (the most used sense's + 1). A human being
    is what "person" means (6,833 tagged uses against 1 for the body); words whose senses were never tagged ("sea
    horse") weigh all alike."""
    lemma, found = _lemma_senses(text)
    counts = {s: c for s, (_, c) in _sense_counts().get(lemma, {}).items()}
    top = max((counts.get(s, 0) for s in found), default=0)
    return {s: (counts.get(s, 0) + 1) / (top + 1) for s in found}


@lru_cache(maxsize=200_000)
def _meets_specifically(wnid: str) -> bool:
    """Whether two things that meet at ``wnid`` are cousins: it lies MIN_MEET_DEPTH or deeper in the hierarchy."""
    return _depth(wordnet(), wnid) >= MIN_MEET_DEPTH


@lru_cache(maxsize=1)
def affinity_recipe() -> str:
    """Everything besides WordNet itself that changes :func:`class_affinity`, for cache keys (the tag index)."""
    import hashlib

    from tagger.engine.scene_words import SCENE_FILE

    scenes = hashlib.sha256(resource_path(SCENE_FILE).read_bytes()).hexdigest()[:12]
    return f"senses=counts,meet={MIN_MEET_DEPTH},scenes={scenes}"


@lru_cache(maxsize=65536)
def class_affinity(text: str, gamma: float = 0.5, delta: float = 1.0) -> np.ndarray:
    """How much each ImageNet class counts as evidence for ``text`` in the taxonomy: 1 for the label's own synset and
    its descendants (a wallaby is a kangaroo), ``gamma**h`` when the classes meet the label h hops above it (a gazelle
    is a cousin of a gerenuk), max over the label's senses; zeros when WordNet does not know the text. Cousins count
    only through a kind at least MIN_MEET_DEPTH deep (a person and a Persian cat meet at "organism", depth 5: not
    cousins) and in proportion to their sense's weight (``sense_weights``: the computer mouse lends little to the
    keyboard when someone types "mouse"); every sense keeps its own classes at 1. A scene word's
    classes (``tagger.engine.scene_words``: "beach" -> seashore) count as its own kinds, 1."""
    from tagger.engine.scene_words import scene_classes

    out = np.zeros(1000, np.float32)
    net, under = wordnet(), _classes_under()
    weights = sense_weights(text)
    for sense in senses(text):
        for ancestor, hops in _up_distances(net, sense).items():
            found = under.get(ancestor)
            if found is None or (hops and not _meets_specifically(ancestor)):
                continue
            idx, down = found
            lent = np.float32(gamma**hops * (weights.get(sense, 1.0) if hops else 1.0))
            out[idx] = np.maximum(out[idx], lent * np.float32(delta) ** down)
    out[list(scene_classes(text))] = 1.0
    out.setflags(write=False)
    return out
