"""The person's own words on photos (tags typed in Tagger, keywords read from files, folder labels) as search sees them.

A word a person gave a photo is the strongest evidence search has: a query that names it must find those photos
first, however the model ranks them. People do not type a word the way it was stored, so words are compared by
*forms*: case-folded, accents removed ("Café" = "cafe"), and the head noun with its likely singular ("Holidays" =
"holiday", "beaches" = "beach"), the same rule WordNet lookups use (``tagger.engine.wordnet.noun_forms``). Every level
of a hierarchical keyword is a word of its own (``Places|Italy|Rome`` is found by "Italy" and by "Rome").

``UserWords`` is read from the catalog in one query and kept until the catalog changes; search, the tag filter, the
app's tag list and its completion all ask it.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tagger.engine.wordnet import noun_forms
from tagger.library.keyword_paths import SEPARATOR

_TOKEN = re.compile(r"[^\W_]+(?:['][^\W_]+)*", re.UNICODE)
SOURCES = ("tag", "keyword", "label")  # typed in Tagger, read from the photo's files, a labelled folder


def fold(text: str) -> str:
    """Case- and accent-insensitive spelling: "Café  Müller" -> "cafe muller" (punctuation and hyphens as spaces)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_TOKEN.findall(plain))


def word_forms(text: str) -> frozenset[str]:
    """The spellings under which ``text`` is found: its folded form and the singular forms of its last word."""
    folded = fold(text)
    if not folded:
        return frozenset()
    head, _, last = folded.rpartition(" ")
    forms = {folded}
    for form in noun_forms(last):
        forms.add(f"{head} {form}" if head else form)
    return frozenset(forms)


def levels(tag: str) -> list[str]:
    """The words one stored tag stands for: itself, and for a keyword path each of its levels."""
    parts = [p.strip() for p in tag.split(SEPARATOR) if p.strip()]
    return parts if len(parts) > 1 else [tag]


@dataclass
class UserWord:
    """One word as the person spelled it (the most used spelling), with the photos carrying it."""

    text: str
    photos: set[int] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)

    @property
    def count(self) -> int:
        return len(self.photos)


class UserWords:
    """Every user word of a catalog, findable by any of its forms."""

    def __init__(self, rows: Iterable[tuple[int, str, str]]):
        """``rows``: (photo id, stored tag or label text, source in SOURCES)."""
        self._words: dict[str, UserWord] = {}  # folded spelling -> word
        self._spellings: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._by_form: dict[str, set[str]] = defaultdict(set)  # form -> folded spellings
        for pid, tag, source in rows:
            for text in levels(tag):
                key = fold(text)
                if not key:
                    continue
                word = self._words.get(key)
                if word is None:
                    word = self._words[key] = UserWord(text)
                    for form in word_forms(text):
                        self._by_form[form].add(key)
                word.photos.add(int(pid))
                word.sources.add(source)
                self._spellings[key][text] += 1
        for key, spellings in self._spellings.items():
            self._words[key].text = max(spellings, key=lambda s: (spellings[s], s))

    @classmethod
    def from_catalog(cls, catalog) -> UserWords:
        """Tags and keywords of indexed photos, and the labels of labelled folders (their indexed photos)."""
        rows = [(pid, tag, "keyword" if src == "xmp" else "tag") for pid, tag, src in catalog.db.execute(
            "SELECT u.photo_id, u.tag, u.source FROM user_tags u JOIN photos p ON p.id = u.photo_id "
            "WHERE p.status = 'indexed'")]
        rows += [(pid, label, "label") for pid, label in catalog.labelled_photos()]
        return cls(rows)

    def __len__(self) -> int:
        return len(self._words)

    def words(self) -> list[UserWord]:
        """Every word, most used first (then alphabetically): the app's tag list."""
        return sorted(self._words.values(), key=lambda w: (-w.count, fold(w.text)))

    def find(self, text: str) -> list[UserWord]:
        """The words ``text`` names (any of its forms against any of theirs); [] when none."""
        keys: set[str] = set()
        for form in word_forms(text):
            keys |= self._by_form.get(form, set())
        return [self._words[k] for k in sorted(keys)]

    def photos(self, text: str) -> set[int]:
        """Photos carrying a word ``text`` names."""
        out: set[int] = set()
        for word in self.find(text):
            out |= word.photos
        return out

    def photos_with_all(self, texts: Sequence[str]) -> set[int] | None:
        """Photos carrying every one of ``texts`` (the tag filter); None when no text is given."""
        out: set[int] | None = None
        for text in texts:
            found = self.photos(text)
            out = found if out is None else out & found
        return out

    def complete(self, prefix: str, limit: int = 10) -> list[UserWord]:
        """Words starting with ``prefix`` (folded), most used first: completion in the search box."""
        p = fold(prefix)
        if not p:
            return []
        hits = [w for key, w in self._words.items() if key.startswith(p)]
        return sorted(hits, key=lambda w: (-w.count, fold(w.text)))[:limit]

    def similar(self, text: str, limit: int = 5) -> list[UserWord]:
        """Words spelled like ``text`` (a typo, another spelling): suggestions when nothing matches."""
        close = difflib.get_close_matches(fold(text), list(self._words), n=limit, cutoff=0.75)
        return [self._words[k] for k in close]
