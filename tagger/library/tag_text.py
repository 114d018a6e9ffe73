"""The one rule for text a person types as a tag or a label, wherever it comes in (command line, desktop app).

Tags and labels are compared as exact strings in the catalog, so "zoo  trip", " zoo trip" and "zoo trip" must become
the same word before they are stored or looked up; otherwise a tag added with a stray space could never be removed.
"""

from __future__ import annotations


def clean_tag(text: str) -> str:
    """``text`` with its runs of whitespace (spaces, tabs, newlines) collapsed to one space and its ends trimmed.

    Raises ValueError when nothing is left: an empty tag or label means nothing, and callers say so to the person
    rather than store it.
    """
    tag = " ".join(str(text).split())
    if not tag:
        raise ValueError("a tag or label cannot be empty")
    return tag
