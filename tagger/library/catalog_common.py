"""What the catalog and its parts share: the catalog's error type, the label rule, batching of id lists."""

from __future__ import annotations

from collections.abc import Iterator

from tagger.errors import TaggerError
from tagger.library.tag_text import clean_tag


class CatalogError(TaggerError, RuntimeError):
    """The catalog cannot be used (newer schema, locked, damaged, unwritable); the message says what to do."""


MAX_LABEL_CHARS = 200


def clean_label(text: str) -> str:
    """One rule for every way a label comes in (CLI, GUI): spaces collapsed, not empty, not absurdly long."""
    try:
        label = clean_tag(text)
    except ValueError:
        raise CatalogError("a label cannot be empty") from None
    if len(label) > MAX_LABEL_CHARS:
        raise CatalogError(f"a label is at most {MAX_LABEL_CHARS} characters")
    return label


def chunks(items: list, size: int) -> Iterator[list]:
    for lo in range(0, len(items), size):
        yield items[lo:lo + size]
