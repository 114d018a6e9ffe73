"""The person's own words as search sees them (issue 13): a word is found however it is typed (case, accents, plural),
every level of a hierarchical keyword is a word, the tag list shows the spelling used most, completion offers the
most used words first, a typo gets the words spelled like it, and the tag filter keeps only photos carrying ALL the
words it names."""

from __future__ import annotations

import numpy as np
import pytest

from tagger.library.catalog import Catalog, PhotoRecord
from tagger.library.user_words import UserWords, fold, levels, word_forms


def _texts(words) -> list[str]:
    return [w.text for w in words]


# ------------------------------------------------------------------ fold and forms


@pytest.mark.parametrize(("typed", "folded"), [
    ("Café", "cafe"),
    ("CAFÉ", "cafe"),
    ("Café  Müller", "cafe muller"),
    ("  Rex ", "rex"),
    ("sea-side", "sea side"),  # a hyphen is a space: "sea-side" and "sea side" are one word
    ("Straße", "strasse"),
    ("Ålesund", "alesund"),
    ("!!!", ""),
])
def test_fold_ignores_case_accents_and_punctuation(typed, folded):
    assert fold(typed) == folded


@pytest.mark.parametrize(("stored", "typed"), [
    ("Café", "cafe"),
    ("cafe", "Cafés"),
    ("Holidays", "holiday"),
    ("Holiday", "HOLIDAYS"),
    ("beach", "beaches"),
    ("puppy", "Puppies"),
    ("Rex", "rex"),
    ("New York", "new york"),
])
def test_a_word_is_found_however_it_is_typed(stored, typed):
    words = UserWords([(1, stored, "tag")])
    assert _texts(words.find(typed)) == [stored]
    assert words.photos(typed) == {1}


def test_word_forms_include_the_singular_of_the_last_word_only():
    assert {"holiday", "holidays"} <= word_forms("Holidays")
    assert "beach" in word_forms("Beaches")
    assert "summer holiday" in word_forms("Summer Holidays")
    assert all(f.startswith("summer ") for f in word_forms("Summer Holidays"))  # "summer" is never made singular
    assert word_forms("  ") == frozenset()


def test_a_different_word_is_not_found():
    words = UserWords([(1, "beach", "tag"), (2, "Rome", "keyword")])
    assert words.find("bench") == [] and words.photos("bench") == set()
    assert words.photos("roam") == set()
    assert words.photos("") == set()


# ------------------------------------------------------------------ hierarchies


def test_every_level_of_a_hierarchical_keyword_is_a_word():
    assert levels("Places|Italy|Rome") == ["Places", "Italy", "Rome"]
    assert levels("Rome") == ["Rome"]
    words = UserWords([(1, "Places|Italy|Rome", "keyword"), (2, "Places|Kenya|Masai Mara", "keyword"),
                       (3, "Rome", "tag")])
    assert words.photos("italy") == {1}
    assert words.photos("Rome") == {1, 3}  # the leaf of a path and the same word typed flat are one word
    assert words.photos("places") == {1, 2}
    assert words.photos("masai mara") == {2}
    assert words.photos("Places|Italy|Rome") == set()  # a path is not one word: its levels are
    assert sorted(_texts(words.words())) == ["Italy", "Kenya", "Masai Mara", "Places", "Rome"]
    assert next(w for w in words.words() if w.text == "Rome").sources == {"keyword", "tag"}


# ------------------------------------------------------------------ the tag list


def test_the_most_used_spelling_is_shown():
    words = UserWords([(1, "Café", "keyword"), (2, "cafe", "tag"), (3, "cafe", "tag"), (4, "CAFE", "tag")])
    assert len(words) == 1
    (word,) = words.words()
    assert word.text == "cafe" and word.count == 4 and word.photos == {1, 2, 3, 4}
    assert word.sources == {"keyword", "tag"}


def test_the_tag_list_is_most_used_first_then_alphabetical():
    rows = [(1, "zebra", "tag"), (2, "zebra", "tag"), (3, "apple", "tag"), (4, "Mango", "label"),
            (5, "Mango", "tag"), (6, "banana", "tag")]
    words = UserWords(rows)
    assert _texts(words.words()) == ["Mango", "zebra", "apple", "banana"]  # 2, 2, then 1, 1
    assert [w.count for w in words.words()] == [2, 2, 1, 1]


def test_a_photo_counts_once_per_word():
    words = UserWords([(1, "beach", "tag"), (1, "Beach", "keyword"), (1, "Places|Beach", "keyword")])
    counts = {fold(w.text): w.count for w in words.words()}
    assert counts == {"beach": 1, "places": 1}


# ------------------------------------------------------------------ completion and suggestions


def test_completion_offers_the_most_used_words_first():
    rows = [(i, "beach", "tag") for i in range(5)] + [(i, "Bear", "keyword") for i in range(2)]
    rows += [(9, "bee", "tag"), (9, "Béla", "tag"), (9, "sea", "tag")]
    words = UserWords(rows)
    assert _texts(words.complete("be")) == ["beach", "Bear", "bee", "Béla"]
    assert _texts(words.complete("BÉ")) == ["beach", "Bear", "bee", "Béla"]  # accents and case do not matter
    assert _texts(words.complete("bea")) == ["beach", "Bear"]
    assert _texts(words.complete("be", limit=2)) == ["beach", "Bear"]
    assert words.complete("") == [] and words.complete("x") == []


def test_similar_spellings_are_suggested_for_a_typo():
    words = UserWords([(1, "Holiday", "tag"), (2, "beach", "tag"), (3, "Kangaroo", "keyword")])
    assert _texts(words.similar("holidy")) == ["Holiday"]
    assert _texts(words.similar("kangaro")) == ["Kangaroo"]
    assert _texts(words.similar("Beech")) == ["beach"]
    assert words.similar("zorblax") == []


# ------------------------------------------------------------------ the tag filter


def test_the_tag_filter_keeps_photos_with_all_the_words():
    words = UserWords([(1, "beach", "tag"), (1, "Holiday", "keyword"), (2, "beach", "tag"),
                       (3, "Holidays", "keyword"), (3, "Beaches", "tag"), (4, "Places|Italy|Rome", "keyword"),
                       (4, "beach", "tag")])
    assert words.photos_with_all(["beach"]) == {1, 2, 3, 4}
    assert words.photos_with_all(["beach", "holiday"]) == {1, 3}  # AND, each word in any of its forms
    assert words.photos_with_all(["BEACHES", "italy"]) == {4}
    assert words.photos_with_all(["beach", "holiday", "italy"]) == set()
    assert words.photos_with_all(["beach", "unknown"]) == set()  # a word nobody used filters everything out
    assert words.photos_with_all([]) is None  # no filter at all, not an empty one


# ------------------------------------------------------------------ from the catalog


def _record(root_id: int, key: bytes, seed: int, status: str = "indexed") -> PhotoRecord:
    rng = np.random.default_rng(seed)
    vec = rng.standard_normal(8).astype(np.float32)
    return PhotoRecord(root_id, key, 100 + seed, 1_000 + seed, status, hash=f"h{seed}",
                       features=rng.standard_normal(16), top_classes=np.arange(3, dtype=np.int16),
                       top_probs=np.array([0.5, 0.3, 0.2]), embedding=vec / np.linalg.norm(vec), auto_tags=[])


def test_from_catalog_reads_tags_keywords_and_labels_of_indexed_photos(tmp_path):
    root = tmp_path / "photos"
    (root / "dogs").mkdir(parents=True)
    with Catalog.open(tmp_path / "c.db") as cat:
        rid = cat.add_root(root).id
        a, b, c = cat.write_batch([_record(rid, b"a.jpg", 1), _record(rid, b"dogs/b.jpg", 2),
                                   _record(rid, b"c.jpg", 3)], "lite0", "m")
        cat.add_user_tag(a, "Rex")
        cat.add_user_tag(a, "Places|Italy|Rome", source="xmp")
        cat.add_user_tag(c, "Rex")
        cat.set_label(root / "dogs", "puppy")
        cat.mark_gone([c])  # a photo no longer there is found by nothing

        words = UserWords.from_catalog(cat)

    assert words.photos("rex") == {a}
    assert words.photos("italy") == {a}
    assert words.photos("puppies") == {b}
    sources = {w.text: w.sources for w in words.words()}
    assert sources == {"Rex": {"tag"}, "Places": {"keyword"}, "Italy": {"keyword"}, "Rome": {"keyword"},
                       "puppy": {"label"}}
