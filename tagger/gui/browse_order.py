"""The grid's sort order: by relevance (a search's own order; for the library and the filters alone, the date), by
date (newest capture first, the library's order) or by file name. No Qt: the rows are sorted, the grid just shows
them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from tagger.gui.grid import GridRow

SORTS = ("relevance", "date", "name")
SORT_NAMES = {"relevance": "&Relevance", "date": "&Date (newest first)", "name": "&Name"}
DEFAULT_SORT = "relevance"


def valid_sort(value: object) -> str:
    """A remembered sort order, or the default for anything else (an old or hand-edited settings file)."""
    return value if isinstance(value, str) and value in SORTS else DEFAULT_SORT


def sorted_rows(rows: Sequence[GridRow], by: str, date_rank: Mapping[int, int], ranked: bool) -> list[GridRow]:
    """``rows`` in the order ``by`` asks for. ``ranked``: the rows are a search's, best first, which "relevance"
    keeps; rows that are not (the library, the filters alone) go newest first. ``date_rank``: each photo's place in
    the library's newest-first order (a photo it lacks, added since, goes first: it is the newest)."""
    if by == "name":
        return sorted(rows, key=lambda r: (r.name.casefold(), r.name, r.photo_id))
    if by == "date" or not ranked:
        return sorted(rows, key=lambda r: date_rank.get(r.photo_id, -1))
    return list(rows)
