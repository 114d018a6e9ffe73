"""One photo's keywords kept in step between Tagger's catalog and the photo's files: a three-way merge.

Why three-way: two copies (the catalog, the files) cannot tell "removed here" from "added there". With the *base*,
the keywords both sides held when Tagger last read or wrote the files (stored per photo in the catalog), each
keyword is decided on its own: whichever side changed it since the base wins; a keyword removed in digiKam stays
removed, one removed in Tagger stays removed; a keyword both sides changed, differently, is a conflict, reported and
left as each side has it until the person decides, never settled silently.

A conflict stays until someone acts on it: a later change on one side only (the person edits the keyword in Tagger,
or in the other program) is the decision, and that side wins as usual; until then each side keeps its value.

A keyword is compared by identity (its leaf, see :mod:`tagger.library.keyword_paths`), its value being the set of
paths it has on that side (compared case-insensitively), so moving ``Rome`` under ``Places|Italy`` is a change of
that keyword, and moving it under two different parents on two sides is a conflict.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from tagger.library.keyword_paths import identity, leaf


@dataclass(frozen=True)
class Conflict:
    """A keyword both sides changed since the base, to different values (an empty tuple: removed on that side)."""

    keyword: str
    in_catalog: tuple[str, ...]
    in_files: tuple[str, ...]

    def to_json(self) -> dict:
        return {"keyword": self.keyword, "in_catalog": list(self.in_catalog), "in_files": list(self.in_files)}

    def describe(self) -> str:
        here = ", ".join(self.in_catalog) or "removed"
        there = ", ".join(self.in_files) or "removed"
        return (f"'{self.keyword}' was changed both in Tagger ({here}) and in another program ({there}); each side "
                "keeps its own until you change it again in one place: in Tagger (yours then goes to the files) or "
                "in the other program (its version then comes into Tagger)")


@dataclass
class Merge:
    base: list[str] = field(default_factory=list)  # the base the merge used (a settled conflict moves it on)
    keywords: list[str] = field(default_factory=list)  # the catalog's keywords after the merge
    to_files: dict[str, list[str]] = field(default_factory=dict)  # identity -> paths: changed in Tagger
    to_catalog: dict[str, list[str]] = field(default_factory=dict)  # identity -> paths: changed elsewhere
    conflicts: list[Conflict] = field(default_factory=list)


def group(paths: Iterable[str]) -> dict[str, list[str]]:
    """Paths by keyword identity, in order, case-insensitive duplicates dropped."""
    out: dict[str, list[str]] = {}
    for p in paths:
        same = out.setdefault(identity(p), [])
        if p.casefold() not in {q.casefold() for q in same}:
            same.append(p)
    return out


def same(a: Sequence[str], b: Sequence[str]) -> bool:
    return {p.casefold() for p in a} == {p.casefold() for p in b}


def three_way(base: Iterable[str], files: Iterable[str], catalog: Iterable[str],
              pending: Iterable[Conflict] = ()) -> Merge:
    """Merge the keywords of the photo's files into the catalog's, given the keywords both last agreed on and the
    conflicts reported before (``pending``): for those, each side's reported value stands in for the base."""
    b, f, c = group(base), group(files), group(catalog)
    reported = {identity(x.keyword): x for x in pending}
    merge = Merge()
    for key in list(dict.fromkeys([*c, *f, *b])):
        old, theirs, ours = b.get(key, []), f.get(key, []), c.get(key, [])
        seen = reported.get(key)
        tagger_changed = not same(ours, seen.in_catalog if seen else old)
        others_changed = not same(theirs, seen.in_files if seen else old)
        if seen and tagger_changed != others_changed:
            old = list(seen.in_files if tagger_changed else seen.in_catalog)  # settled by the later change
        merge.base += old
        if same(theirs, ours):
            merge.keywords += ours
        elif tagger_changed and not others_changed:
            merge.to_files[key] = ours
            merge.keywords += ours
        elif others_changed and not tagger_changed:
            merge.to_catalog[key] = theirs
            merge.keywords += theirs
        else:
            name = leaf((ours or theirs)[0])
            merge.conflicts.append(Conflict(name, tuple(ours), tuple(theirs)))
            merge.keywords += ours
    return merge


def next_base(base: Iterable[str], files: Iterable[str], catalog: Iterable[str]) -> list[str]:
    """The base after a sync step: where the files and the catalog now agree on a keyword, that; elsewhere (a
    change not yet carried across, a conflict) the old base, so the change is still seen as one next time."""
    b, f, c = group(base), group(files), group(catalog)
    out: list[str] = []
    for key in dict.fromkeys([*c, *f, *b]):
        theirs, ours = f.get(key, []), c.get(key, [])
        out += ours if same(theirs, ours) else b.get(key, [])
    return out
