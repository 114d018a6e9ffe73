"""What one keyword is: a cleaned word, or a path through a keyword tree (``Places|Kenya|Masai Mara``).

Why paths, written with ``|``: Lightroom and digiKam both keep a tree of keywords. Lightroom writes the path in
``lr:hierarchicalSubject`` with ``|``, digiKam in ``digiKam:TagsList`` with ``/``, and both put the leaf (Lightroom
also its parents) in the flat ``dc:subject``. Keeping only the leaf (as Tagger once did) loses the tree on a round
trip; keeping every flat entry as its own keyword turns one Lightroom keyword into three. So Tagger keeps the path,
in Lightroom's spelling (a ``/`` is too common inside real keywords, "AC/DC", to split on anywhere but digiKam's list),
and reads flat entries as the nodes of the paths beside them.

A keyword's *identity* is its leaf, case-insensitively: ``Rome`` and ``Places|Italy|Rome`` are the same keyword placed
differently, which is what lets a change of place made in one program meet a change made in another.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

SEPARATOR = "|"
MAX_KEYWORD_CHARS = 200
MAX_KEYWORDS = 2000
MAX_LEVELS = 32
# roots of hierarchical keywords that are other programs' internal state, not a person's keywords
INTERNAL_ROOTS = frozenset({"darktable", "_digikam_internal_tags_"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def clean_keyword(text: str) -> str | None:
    """One keyword as Tagger stores it: control characters out, whitespace collapsed, length capped; None if empty."""
    text = " ".join(_CONTROL.sub(" ", text).split())
    if not text:
        return None
    return text[:MAX_KEYWORD_CHARS].rstrip()


def unique_keywords(words: Iterable[str]) -> list[str]:
    """Cleaned, first spelling kept, case-insensitive duplicates dropped (``Beach`` and ``beach`` are one keyword)."""
    seen: set[str] = set()
    out = []
    for w in words:
        c = clean_keyword(w)
        if c is not None and c.casefold() not in seen:
            seen.add(c.casefold())
            out.append(c)
            if len(out) >= MAX_KEYWORDS:
                break
    return out


def keyword_path(entry: str, separator: str | None = None) -> str | None:
    """An entry of a keyword list as a Tagger keyword: its levels cleaned and joined by ``|``.

    ``separator`` is the list's own (``/`` for digiKam); ``|`` always separates. None for an empty entry or one of
    another program's internal trees (``darktable|...``)."""
    parts = entry.split(SEPARATOR) if separator in (None, SEPARATOR) else re.split(
        f"[{re.escape(SEPARATOR)}{re.escape(separator)}]", entry)
    levels = [c for c in (clean_keyword(p) for p in parts) if c is not None][-MAX_LEVELS:]
    if not levels or levels[0].casefold() in INTERNAL_ROOTS:
        return None
    return SEPARATOR.join(levels)


def levels(path: str) -> list[str]:
    return path.split(SEPARATOR)


def leaf(path: str) -> str:
    """The keyword a path names (``Places|France|Paris`` -> ``Paris``)."""
    return path.rpartition(SEPARATOR)[2]


def identity(path: str) -> str:
    """What makes two keywords the same keyword: the leaf, case-insensitively."""
    return leaf(path).casefold()


def unique_paths(entries: Iterable[str], separator: str | None = None) -> list[str]:
    """Entries as keyword paths, first spelling kept, case-insensitive duplicates and internal trees dropped."""
    seen: set[str] = set()
    out = []
    for e in entries:
        p = keyword_path(e, separator)
        if p is not None and p.casefold() not in seen:
            seen.add(p.casefold())
            out.append(p)
            if len(out) >= MAX_KEYWORDS:
                break
    return out


@dataclass
class KeywordEntries:
    """Raw keyword entries of one or more sources (XMP packets, IPTC), before deciding which keywords they name.

    ``paths`` come from hierarchical lists (a one-level path is a plain keyword), ``flat`` from ``dc:subject`` and
    IPTC; both already normalised by :func:`keyword_path`."""

    paths: list[str] = field(default_factory=list)
    flat: list[str] = field(default_factory=list)

    def __add__(self, other: KeywordEntries) -> KeywordEntries:
        return KeywordEntries(self.paths + other.paths, self.flat + other.flat)

    def resolve(self) -> list[str]:
        """The keywords these entries name, as a person chose them.

        A path that is a parent of another path is part of it (Lightroom lists ``Places`` and ``Places|Italy`` next
        to ``Places|Italy|Rome``); a flat entry equal to a path's leaf is that path, one equal to a parent level is
        part of it (Lightroom exports parents to ``dc:subject``); any other flat entry is a keyword of its own.
        Flat entries keep their order, each path appearing where its leaf does; paths without one follow."""
        paths = _unique_cf(self.paths + [f for f in self.flat if SEPARATOR in f])
        parents = {SEPARATOR.join(levels(p)[:i]).casefold() for p in paths for i in range(1, len(levels(p)))}
        paths = [p for p in paths if p.casefold() not in parents]
        by_leaf: dict[str, list[str]] = {}
        nodes: set[str] = set()
        for p in paths:
            by_leaf.setdefault(identity(p), []).append(p)
            nodes.update(level.casefold() for level in levels(p))
        out: list[str] = []
        done: set[str] = set()
        for word in self.flat:
            if SEPARATOR in word:
                continue
            cf = word.casefold()
            if cf in by_leaf:
                for p in by_leaf[cf]:
                    if p.casefold() not in done:
                        done.add(p.casefold())
                        out.append(p)
            elif cf not in nodes and cf not in done:
                done.add(cf)
                out.append(word)
        out += [p for p in paths if p.casefold() not in done]
        return out[:MAX_KEYWORDS]


def _unique_cf(paths: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for p in paths:
        if p.casefold() not in seen:
            seen.add(p.casefold())
            out.append(p)
    return out
