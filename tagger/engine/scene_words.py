"""Scene words: places and conditions the classifier has no class for, found through the classes that show them.

ImageNet-1k names things, and a few scenes (seashore, lakeside, alp, valley); WordNet files many scene words apart
from those classes ("beach" under geological formation, not above "seashore") or has nothing under them at all
("kitchen", "snow"). ``resources/scene_words.tsv`` lists, per word, the classes that carry the scene, each row with
the reason it was judged right; :func:`tagger.engine.wordnet.class_affinity` counts them as kinds of the word, so
"beach" finds seashore photos in search and in tag clouds. Words no class shows (sunset, desert) are not listed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from tagger.errors import TaggerError
from tagger.paths import resource_path

SCENE_FILE = "scene_words.tsv"


class SceneTableError(TaggerError, ValueError):
    """The scene-word table names a class ImageNet does not have, or is malformed."""


@dataclass(frozen=True)
class SceneWord:
    word: str
    classes: tuple[int, ...]  # ImageNet-1k class indices
    why: str


def parse_table(text: str) -> dict[str, SceneWord]:
    """The rows of a scene-word table (tab-separated: word, classes by simple label joined by "; ", why), keyed by
    the word as WordNet lemmas are (lower case, single spaces). '#' lines, blank lines and the header are skipped."""
    from tagger.engine.wordnet import imagenet_classes, normalise_lemma

    by_label = {c.label.lower(): c.index for c in imagenet_classes()}
    out: dict[str, SceneWord] = {}
    rows = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    for n, line in enumerate(rows[1:], start=2):
        cells = line.split("\t")
        if len(cells) != 3:
            raise SceneTableError(f"scene words row {n} ({line[:40]!r}): expected 3 columns (word, classes, why)")
        word, classes, why = (c.strip() for c in cells)
        key = normalise_lemma(word)
        names = [c.strip() for c in classes.split(";") if c.strip()]
        if not key or not names:
            raise SceneTableError(f"scene words row {n} ({word!r}): no class listed")
        unknown = [c for c in names if c.lower() not in by_label]
        if unknown:
            raise SceneTableError(f"scene words row {n} ({word!r}): {', '.join(unknown)} is not an ImageNet class")
        if key in out:
            raise SceneTableError(f"scene words row {n}: {word!r} is listed twice")
        out[key] = SceneWord(key, tuple(by_label[c.lower()] for c in names), why)
    return out


@lru_cache(maxsize=1)
def scene_words() -> dict[str, SceneWord]:
    """The shipped table (read once)."""
    return parse_table(resource_path(SCENE_FILE).read_text(encoding="utf-8"))


def scene_classes(text: str) -> tuple[int, ...]:
    """The classes that show the scene ``text`` names (its singular too: "mountains"), or () for any other word."""
    from tagger.engine.wordnet import noun_forms

    table = scene_words()
    for form in noun_forms(text):
        row = table.get(form)
        if row is not None:
            return row.classes
    return ()
