"""What the faces and the printed text found in photos say about the words people search for.

ImageNet has no person class: a head-and-shoulders portrait is "tub, plunger, windsor tie" to the classifier, so the
words personal photos are searched by most ("person", "people", "portrait") had no evidence. The face detector gives
it (``tagger.engine.people``: person, people, face, portrait, selfie, group photo, crowd), and the text reader gives
document, receipt, screenshot, sign, menu, ticket and "text" (``tagger.engine.text_kinds``) plus the printed words
themselves (SQLite FTS5, ``Catalog.photos_printing``).

A query word reaches this evidence by its forms ("faces", "Portraits") or a synonym below; a word WordNet files under
"person" that the faces cannot tell ("man", "woman", "child": no gender or age is guessed) or a group of people
("family", "friends") ranks the photos with faces first without calling them matches (RANK_ONLY < the match line).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from tagger.engine.people import PEOPLE_WORDS
from tagger.engine.text_kinds import TEXT_WORDS
from tagger.library.catalog import Catalog
from tagger.library.relevance import MATCH
from tagger.library.user_words import fold as fold_word
from tagger.library.user_words import word_forms

FACES_WHY = 4  # Hit.why codes (tagger.library.search): 'faces'
TEXT_WHY = 5  # 'text'
PRINTED = 0.6  # relevance of a photo whose printed text holds the query's words: a match, below a sure subject
PRINTED_PHRASE = 0.9  # ...and of one printing every word of a longer query ("hotel california"): what was typed is
# what the photo says, stronger evidence than a context word can add to a photo printing one of the words
PRINTED_FUZZY = 0.55  # ...of one printing a word one letter off a name or made-up word (a misread letter)
PRINTED_SPAN = 0.05  # ...raised by up to this much by how well the text matches (FTS5's bm25), so the page that
# prints a word most ranks first among them
ANIMAL_SHARE = 0.7  # see DetectedWords.from_catalog
FEW = 2000  # up to this many photos, their rows are read by id rather than the whole tables
RANK_ONLY = 0.45  # a kind of person the faces cannot tell apart (man, woman, child): ranked first, not a match

DETECTED = frozenset(PEOPLE_WORDS) | frozenset(TEXT_WORDS)  # the words the detectors give evidence for
TEXT_KINDS = tuple(w for w in TEXT_WORDS if w != "text")  # kinds a page is one of (a receipt is not also a menu)
# words people use for the same evidence (forms - case, accents, plurals - are handled by word_forms)
SYNONYMS = {
    "human": "person", "human being": "person", "someone": "person", "somebody": "person", "individual": "person",
    "folks": "people", "humans": "people",
    "head shot": "portrait", "headshot": "portrait", "mugshot": "portrait", "close-up portrait": "portrait",
    "group": "group photo", "group picture": "group photo", "group shot": "group photo",
    "group portrait": "group photo",
    "crowds": "crowd", "audience": "crowd",
    "paper": "document", "page": "document", "letter": "document", "form": "document", "paperwork": "document",
    "invoice": "receipt", "bill": "receipt", "till receipt": "receipt",
    "signboard": "sign", "poster": "sign", "placard": "sign", "notice": "sign",
    "boarding pass": "ticket", "screen shot": "screenshot", "screen capture": "screenshot", "screengrab": "screenshot",
    "writing": "text", "words": "text", "printed text": "text", "handwriting": "text",
}
# groups of people WordNet files elsewhere (a family is a social group): ranked by the people evidence
GROUPS = {"family": "group photo", "friends": "people", "team": "group photo", "couple": "people",
          "class photo": "group photo", "party": "people", "wedding": "people", "kids": "people", "children": "people"}


@dataclass
class DetectedWords:
    """Per photo (row-aligned with ``ids``) the probability of each word the detectors give evidence for."""

    ids: np.ndarray
    words: dict[str, np.ndarray] = field(default_factory=dict)  # word -> (N,) probability
    has_faces: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    no_faces: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # looked for faces, found none
    why: dict[str, int] = field(default_factory=dict)  # word -> FACES_WHY or TEXT_WHY

    @classmethod
    def from_catalog(cls, catalog: Catalog, ids: np.ndarray, animal: np.ndarray | None = None) -> DetectedWords:
        """``animal``: (N,) the probability the classifier gives each photo's subject being a (non-human) mammal: the
        face detector also fires on animals' faces (12 of the 22 Caltech test dalmatians, 7 cougar faces), so the
        people words give way to a sure animal, by ANIMAL_SHARE of it (a person holding a dog keeps most of it)."""
        from tagger.engine.people import people_evidence
        from tagger.engine.text_kinds import text_evidence

        out = cls(np.asarray(ids, np.int64), has_faces=np.zeros(len(ids), bool))
        subset = out.ids.tolist() if len(ids) <= FEW else None  # a few photos (a tag cloud): only their rows
        for word in PEOPLE_WORDS:
            out.words[word], out.why[word] = np.zeros(len(ids), np.float32), FACES_WHY
        for word in TEXT_WORDS:
            out.words[word], out.why[word] = np.zeros(len(ids), np.float32), TEXT_WHY
        found_faces = catalog.faces(subset)
        out.no_faces = np.isin(out.ids, [p for p in catalog.looked_at_photos("faces", subset) if p not in found_faces])
        for pid, faces in found_faces.items():
            i = out.row(pid)
            if i is None:
                continue
            keep = 1.0 - ANIMAL_SHARE * float(animal[i]) if animal is not None else 1.0
            evidence = people_evidence(faces)
            out.has_faces[i] = bool(faces) and evidence.get("person", 0.0) * keep >= MATCH
            for word, p in evidence.items():
                if word in out.words:
                    out.words[word][i] = p * keep
        texts = catalog.printed_text(subset)
        if texts:
            facts = _photo_facts(catalog, list(texts))
            for pid, lines in texts.items():
                i = out.row(pid)
                if i is None or pid not in facts:
                    continue
                for word, p in text_evidence(lines, *facts[pid]).items():
                    if word in out.words:
                        out.words[word][i] = p
        return out

    def row(self, pid: int) -> int | None:
        i = int(np.searchsorted(self.ids, pid))
        return i if i < len(self.ids) and self.ids[i] == pid else None

    def evidence(self, text: str) -> tuple[np.ndarray, int] | None:
        """(probability (N,), why code) of a query word or phrase the detectors speak to, else None."""
        word, scale = _meaning(text, tuple(self.words))
        if word is None:
            return None
        return self.words[word] * np.float32(scale), self.why[word]

    def suggestion(self, text: str) -> str | None:
        """The detected word to offer when ``text`` finds no match but names what it stands for: "person" for
        "woman" (no gender is guessed), "group photo" for "family"; only when some photo has it."""
        word, _ = _meaning(text, tuple(self.words))
        if word is None or fold_word(word) == fold_word(text) or not np.any(self.words[word] >= MATCH):
            return None
        return word

    def rivals(self, text: str) -> np.ndarray | None:
        """(N,) for a kind of text (receipt, menu, ...): how surely each photo's text says it is another kind, which
        the classifier's evidence for this one must give way to (a rendered receipt is ImageNet's "menu" 0.6: its
        text says receipt); None for other words."""
        word, scale = _meaning(text, tuple(self.words))
        if word not in TEXT_KINDS or scale < 1.0:
            return None
        others = [self.words[k] for k in TEXT_KINDS if k != word and k in self.words]
        return np.max(others, axis=0) if others else None


KNOWN = tuple(dict.fromkeys((*PEOPLE_WORDS, *TEXT_WORDS)))  # the words of DetectedWords.words, in its order


def names_detected(text: str) -> bool:
    """Whether a query word or phrase can get evidence from the detectors (a people or text word, a synonym, a kind of
    person or a group): only then must a search read every photo's faces and printed text, ``from_catalog``, which
    costs ~2 s at 10k photos (issue 16); for any other word ``evidence`` and ``rivals`` are None anyway."""
    return _meaning(text, KNOWN)[0] is not None


@lru_cache(maxsize=4096)
def _meaning(text: str, known: tuple[str, ...]) -> tuple[str | None, float]:
    """The detected word a query names (and 1.0), a kind of person or a group (and RANK_ONLY), else (None, 0)."""
    forms = word_forms(text)
    for word in known:
        if forms & word_forms(word):
            return word, 1.0
    for alias, word in SYNONYMS.items():
        if word in known and forms & word_forms(alias):
            return word, 1.0
    for alias, word in GROUPS.items():
        if word in known and forms & word_forms(alias):
            return word, RANK_ONLY
    if "person" in known and _kind_of_person(text):
        return "person", RANK_ONLY
    return None, 0.0


def _kind_of_person(text: str) -> bool:
    """"man", "woman", "child", "girl", "doctor": most senses WordNet gives the word are persons (so "kid", also a
    young goat and kidskin, and "bass", once a singer among fish and sounds, are not)."""
    from tagger.engine.wordnet import senses, wordnet

    net = wordnet()
    person = net.synsets("person")[:1]
    found = senses(text)
    return bool(found and person) and 2 * sum(person[0] in net.ancestors(s) for s in found) > len(found)


def _photo_facts(catalog: Catalog, photo_ids: list[int]) -> dict[int, tuple[int, int, str | None, str | None]]:
    """(width, height, format, taken_at) of photos: what the text kinds need besides the lines."""
    from tagger.library.catalog_common import chunks

    out = {}
    for part in chunks(photo_ids, 500):
        for pid, w, h, fmt, taken in catalog.db.execute(
                f"SELECT id, width, height, format, taken_at FROM photos WHERE id IN ({','.join('?' * len(part))})",
                part):
            out[pid] = (int(w or 0), int(h or 0), fmt, taken)
    return out


def printed_relevance(catalog: Catalog, text: str, ids: np.ndarray, base: float = PRINTED,
                      fuzzy: bool = False) -> np.ndarray | None:
    """(N,) relevance of each photo whose printed text holds every word of ``text`` (0 elsewhere), None when no
    photo prints them: ``base``, raised by up to PRINTED_SPAN by FTS5's rank. ``fuzzy``: when no photo prints the
    word itself, photos printing a word one letter off match at PRINTED_FUZZY (the reader misreads a letter now and
    then; only for a name or a made-up word, where a real word one letter off is another word: "bench", "beach")."""
    ranks = catalog.photos_printing(text)
    if not ranks and fuzzy:
        for near in catalog.printed_words_like(text):
            for pid, rank in catalog.photos_printing(near).items():
                ranks.setdefault(pid, rank)
        base = min(base, PRINTED_FUZZY)
    if not ranks:
        return None
    pids = np.fromiter(ranks, np.int64, len(ranks))
    score = np.fromiter(ranks.values(), np.float64, len(ranks))
    pos = np.searchsorted(ids, pids)
    ok = (pos < len(ids)) & (ids[np.minimum(pos, len(ids) - 1)] == pids)
    if not ok.any():
        return None
    span = float(score.max() - score.min()) or 1.0
    out = np.zeros(len(ids), np.float32)
    out[pos[ok]] = base + PRINTED_SPAN * (score[ok] - score.min()) / span
    return out


ARTIFACT = "n00021939"
PERSON = "n00007846"
PERSON_WITHOUT_FACE = 0.5  # a person word keeps this share of its weight on a photo looked at with no face found
WORN = ("n03122748", "n02671780", "n03597469", "n03502509")  # covering (clothing, headgear, masks), accessory, jewelry
OBJECT_DEMOTION = 1.0  # share of an object tag's weight a sure face subject takes away: all of it


def detected_tags(found: DetectedWords, row: int, tags: list[tuple[str, float]], lead: float,
                  line: float) -> list[tuple[str, float]]:
    """A photo's automatic tags with what the detectors found: each word they give evidence >= ``line`` for joins at
    the photo's best tag's weight, raised by up to ``lead`` as its probability rises (as labels do); on a photo
    whose subject is a face, tags naming objects (artifacts that are not worn) lose up to OBJECT_DEMOTION of their
    weight, in step with how surely the face is the subject: what the classifier sees in a face close-up are mostly
    its confusions ("tub", "plunger" from skin tones; on 290 Caltech Faces photos 12 had a bathroom object among
    their top 5 tags), while a "windsor tie" or a "lab coat" is worn by the person and stays. The mirror case: on a
    photo looked at for faces with none found, words naming a kind of person keep PERSON_WITHOUT_FACE of their weight
    (a kangaroo's cloud said "flanker, fullback, winger": the rugby Wallabies in the word space), except the kinds
    ImageNet itself recognises without a face (scuba diver, groom, ballplayer)."""
    top = tags[0][1] if tags else 0.0
    face = float(found.words["face"][row]) if "face" in found.words else 0.0
    if face > 0:
        tags = [(t, w * (1 - OBJECT_DEMOTION * face) if _object(t) else w) for t, w in tags]
    if len(found.no_faces) > row and found.no_faces[row]:
        tags = [(t, w * PERSON_WITHOUT_FACE if _person(t) else w) for t, w in tags]
    for kind in TEXT_KINDS:  # the text says receipt: the classifier's "menu" gives way, as in search (rivals)
        p = float(found.words[kind][row]) if kind in found.words else 0.0
        if p >= line:
            tags = [(t, w * (1 - p) if t in TEXT_KINDS and t != kind else w) for t, w in tags]
    have = {t for t, _ in tags}
    extra = [(word, top * (1 + lead * (2 * float(p[row]) - 1))) for word, p in found.words.items()
             if p[row] >= line and word not in have]
    return sorted(extra + tags, key=lambda tw: -tw[1])


@lru_cache(maxsize=65536)
def _person(tag: str) -> bool:
    """Whether ``tag``'s most used sense is a kind of person that the classifier does not itself recognise."""
    from tagger.engine.wordnet import senses, wordnet

    found = senses(tag)
    if not found or tag in _imagenet_person_words():
        return False
    return PERSON in wordnet().ancestors(found[0]) | {found[0]}


@lru_cache(maxsize=1)
def _imagenet_person_words() -> frozenset[str]:
    from tagger.engine.wordnet import imagenet_classes, wordnet

    net = wordnet()
    return frozenset(w.lower() for c in imagenet_classes() if PERSON in net.ancestors(c.wnid)
                     for w in (*c.synonyms, c.label))


@lru_cache(maxsize=65536)
def _object(tag: str) -> bool:
    """Whether ``tag``'s most used sense is an artifact nobody wears (tub, plunger, screwdriver; a plunger is also a
    diver in WordNet, but rarely)."""
    from tagger.engine.wordnet import senses, wordnet

    net = wordnet()
    found = senses(tag)  # most used first
    if not found:
        return False
    up = net.ancestors(found[0]) | {found[0]}
    return ARTIFACT in up and not any(w in up for w in WORN)
