"""Tag and label text: one tidying rule, so the same word typed twice is one tag and an empty one is refused."""

from __future__ import annotations

import pytest

from tagger.library.tag_text import clean_tag


@pytest.mark.parametrize("typed", ["zoo trip", "  zoo trip ", "zoo \t trip", "zoo\ntrip\n"])
def test_whitespace_variants_become_one_tag(typed):
    assert clean_tag(typed) == "zoo trip"


def test_case_and_inner_punctuation_are_kept():
    assert clean_tag(" Grandma's  House ") == "Grandma's House"  # a name is the person's own spelling


@pytest.mark.parametrize("typed", ["", "   ", "\t\n"])
def test_empty_text_is_refused(typed):
    with pytest.raises(ValueError, match="empty"):
        clean_tag(typed)


def test_catalog_labels_follow_the_same_rule():
    from tagger.library.catalog_common import CatalogError, clean_label

    assert clean_label("  sailing \t boat ") == clean_tag("  sailing \t boat ") == "sailing boat"
    with pytest.raises(CatalogError, match="empty"):
        clean_label("  ")
