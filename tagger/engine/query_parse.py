"""What a query is about: its head noun, and the words that only describe the scene around it.

"boat on water" is a photo of a boat; the water is where it is. Scoring every word as a subject that must fit (the
geometric mean search used before) let the scene word decide: on Caltech-101 "boat on water" matched no photo while
"boat" matched 74. So a query is split the way English builds a noun phrase, with rules and WordNet only (no NLP
library): function words and prepositions end the subject ("boats at sunset" -> boats | sunset); a frame such as
"photo of" is dropped ("photo of a kangaroo" -> kangaroo); inside the subject the head is the last noun, the words
before it modify it ("red car" -> car, with red as context), unless WordNet knows a longer ending as one concept
("red sports car" -> sports car; "grand piano", "sea horse" and "hot dog" stay whole); a gerund after a noun that
names something visible describes it ("dog running" -> dog, with running as context).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from tagger.engine.vocabulary import FUNCTION_WORDS
from tagger.engine.wordnet import class_affinity, noun_forms, wordnet

TOKEN = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
MAX_QUERY_CHARS = 1000
# "a photo of X", "pictures of X": the person asks for X
FRAME_WORDS = frozenset("photo photos photograph photographs picture pictures pic pics image images shot shots "
                        "snapshot snapshots".split())
FRAME_LINKS = frozenset({"of", "with", "showing", "containing"})  # "photos with text", "pictures showing snow"
_VISIBLE = 0.999  # class_affinity of a word's own classes: the classifier can see the thing it names


@dataclass(frozen=True)
class Query:
    """``head``: the subject (a word, or a phrase WordNet knows whole); ``context``: words or phrases that describe
    its setting or look, in the order typed; ``whole``: every content word in order, as one phrase."""

    head: str
    context: list[str] = field(default_factory=list)
    whole: str = ""


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens; punctuation, SQL metacharacters and emoji fall away."""
    return TOKEN.findall(text[:MAX_QUERY_CHARS].lower())


def parse(text: str) -> Query:
    """The head noun of ``text`` and its context words. Text of function words alone is kept as typed ("the")."""
    words = _drop_frame(tokens(text))
    chunks: list[list[str]] = [[]]
    for w in words:
        if w in FUNCTION_WORDS:
            if chunks[-1]:
                chunks.append([])
        else:
            chunks[-1].append(w)
    chunks = [c for c in chunks if c]
    if not chunks:
        typed = " ".join(words)
        return Query(typed, [], typed)
    head, context = _split(chunks[0])
    for chunk in chunks[1:]:
        sub_head, sub_context = _split(chunk)
        context += sub_context + [sub_head]  # as typed: "calm water" -> calm, water
    return Query(head, context, " ".join(w for c in chunks for w in c))


def _drop_frame(words: list[str]) -> list[str]:
    """Without a leading "(a) photo of" / "photos with": what follows, when something does ("photos with text" is
    about the text)."""
    for i, w in enumerate(words):
        if w in FRAME_WORDS:
            follows = i + 2 < len(words) and words[i + 1] in FRAME_LINKS
            return words[i + 2:] if follows else words
        if w not in FUNCTION_WORDS:
            return words
    return words


def _known(words: list[str]) -> bool:
    """Whether WordNet has a noun for the words as one phrase (or its singular)."""
    net = wordnet()
    return any(net.synsets(form) for form in noun_forms(" ".join(words)))


def _visible(word: str) -> bool:
    """Whether a word names something the classifier has classes for (a dog, a boat)."""
    return bool((class_affinity(word) >= _VISIBLE).any())


def _split(chunk: list[str]) -> tuple[str, list[str]]:
    """(head, modifiers) of a run of content words: the longest ending WordNet knows leads, else the last word; a
    trailing gerund yields to a visible noun before it."""
    if len(chunk) > 1 and chunk[-1].endswith("ing") and not _known(chunk[-2:]) and _visible(chunk[-2]):
        head, modifiers = _split(chunk[:-1])
        return head, modifiers + [chunk[-1]]
    for start in range(len(chunk)):
        if _known(chunk[start:]) or start == len(chunk) - 1:
            return " ".join(chunk[start:]), chunk[:start]
    return chunk[-1], chunk[:-1]  # unreachable: the loop's last start always returns
