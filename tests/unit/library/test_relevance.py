"""The person's words in search, instant labels and the match line, on the small real Caltech library (8 classes x 6).

Each test works on its own copy of the catalog, since they tag and label photos."""

from __future__ import annotations

import numpy as np
import pytest

from tagger.library import relevance
from tagger.library.label_scores import learnable
from tagger.library.search import Library
from tagger.library.user_words import UserWords


def _ids(lib: Library, folder: str) -> list[int]:
    paths = lib.catalog.photo_paths(lib.table().ids.tolist())
    return sorted(pid for pid, p in paths.items() if p.parent.name == folder)


def _folders(hits) -> list[str]:
    return [h.path.parent.name for h in hits]


def test_a_tag_finds_its_photo_first_in_any_case_accent_or_number(lib):
    pizza = _ids(lib, "pizza")[0]
    assert lib.search("Rex", 5)[0].photo_id != pizza
    lib.catalog.edit_user_tags([pizza], ["Rex", "Café"], [])
    for query in ("rex", "REX", "cafe", "cafés", "Café"):
        first = lib.find(query, 5).hits[0]
        assert (first.photo_id, first.match, first.why, first.score) == (pizza, True, "tag", 1.0), query


def test_every_level_of_a_hierarchical_keyword_finds_the_photo(lib):
    okapi = _ids(lib, "okapi")[0]
    with lib.catalog.transaction():
        lib.catalog.db.execute("INSERT INTO user_tags (photo_id, tag, source, added_at) VALUES (?, ?, 'xmp', 0)",
                               [okapi, "Places|Italy|Rome"])
    for query in ("rome", "Italy", "places"):
        assert lib.find(query, 3).hits[0].photo_id == okapi, query
    # a keyword read from files is found, but not learnt: only labels and tags typed in Tagger are
    assert learnable(lib.user_words()) == []


def test_the_tag_filter_keeps_photos_with_every_tag_and_combines_with_text(lib):
    kangaroos, pizzas = _ids(lib, "kangaroo"), _ids(lib, "pizza")
    lib.catalog.edit_user_tags(kangaroos[:4] + pizzas[:2], ["trip"], [])
    lib.catalog.edit_user_tags(kangaroos[2:4] + pizzas[:2], ["2019"], [])
    only = lib.find("", 50, tags=["Trip", "2019"])
    assert sorted(h.photo_id for h in only.hits) == sorted(kangaroos[2:4] + pizzas[:2])
    assert only.matches == 4 and all(h.match for h in only.hits)
    both = lib.find("kangaroo", 50, tags=["trip"])
    assert {h.photo_id for h in both.hits} == set(kangaroos[:4] + pizzas[:2])
    assert _folders(both.hits)[:4] == ["kangaroo"] * 4  # the text still ranks within the filter
    assert lib.find("", 10, tags=["never used"]).hits == []


def test_a_label_counts_at_once_from_the_stored_features(lib, caltech_library):
    """Labelling the okapi folder "zorblax" (a word with no meaning): its photos carry it, and the label model's
    prototypes find okapi-like photos at once, with no training run; a word nobody taught stays matchless."""
    assert lib.find("zorblax", 5).matches == 0
    okapis = _ids(lib, "okapi")
    lib.catalog.edit_user_tags(okapis[:3], ["zorblax"], [])  # three tagged, three left to find
    result = lib.find("zorblax", 6)
    assert lib.label_scores().source == "prototypes (no training)"
    assert {h.photo_id for h in result.hits[:3]} == set(okapis[:3]) and result.hits[0].why == "tag"
    assert {h.photo_id for h in result.hits[3:6]} == set(okapis[3:]), _folders(result.hits)
    assert all(h.match and h.why == "label" for h in result.hits[3:6])
    assert result.matches < 12  # not the whole library: the gate keeps other photos out
    # the label joins the tag cloud of an untagged okapi photo, at the top
    assert lib.tag_cloud([okapis[5]], limit=5)[0].tag == "zorblax"
    lib.catalog.set_label(caltech_library / "okapi", "zorblax")  # a label on the folder: the same word
    assert [t for t, _ in learnable(lib.user_words())] == ["zorblax"]


def test_nothing_matches_a_word_for_nothing_and_suggestions_are_offered(lib):
    kangaroos = _ids(lib, "kangaroo")
    lib.catalog.edit_user_tags(kangaroos[:2], ["Skippy"], [])
    result = lib.find("skipy", 10)  # a typo
    assert result.matches == 0 and not any(h.match for h in result.hits)
    assert "Skippy" in result.suggestions
    assert lib.find("flurbish", 10).matches == 0
    scores = [h.score for h in lib.find("airplane", 48).hits]
    assert scores == sorted(scores, reverse=True) and all(0.0 <= s <= 1.0 for s in scores)


def test_a_real_word_matches_its_photos_on_one_scale(lib):
    result = lib.find("airplane", 48)
    matched = [h for h in result.hits if h.match]
    assert matched and result.matches == len(matched)
    assert _folders(matched).count("airplanes") >= 0.8 * len(matched)
    assert all(h.why == "meaning" for h in matched)
    assert result.hits[: len(matched)] == matched  # matches come first


def test_implies_follows_wordnet_down_not_up():
    assert relevance.implies("dalmatian", "dog") and relevance.implies("Dog", "dog")
    assert not relevance.implies("dog", "dalmatian") and not relevance.implies("zorblax", "dog")


def test_the_taxonomy_probability_counts_only_kinds_of_the_word():
    from tagger.engine.wordnet import class_affinity

    dog_classes = np.flatnonzero(class_affinity("dog") >= relevance.OWN_AFFINITY)
    cat_class = int(np.flatnonzero(class_affinity("tabby") >= relevance.OWN_AFFINITY)[0])
    evidence = relevance.ClassEvidence.of(np.array([[int(dog_classes[0])], [cat_class]]), np.array([[0.9], [0.9]]))
    p = relevance.taxonomy_probability("dog", evidence)
    assert p[0] == pytest.approx(0.9) and p[1] == 0.0
    top = relevance.top_tag_probability(np.array([0.3, 0.2, 0.25]), np.array([0.25] * 3))
    assert top == pytest.approx([0.993, 0.007, 0.5], abs=1e-3)


@pytest.mark.parametrize("label, word, rivals", [
    ("dolphin", "shark", True), ("bicycle", "motorcycle", True), ("okapi", "zebra", True),
    ("dalmatian", "dog", False),  # a kind of it
    ("dog", "dalmatian", False),  # may be one
    ("sea", "boat", False), ("garden", "flower", False),  # places and scenes share photos with anything
    ("kitchen", "refrigerator", False), ("bedroom", "dog", False),  # also those the scene table gives classes
    ("Rex", "dog", False), ("pet", "kangaroo", False),  # a name, a role: no look of their own
    ("zorblax", "dog", False),
])
def test_a_label_rules_out_only_rival_kinds(label, word, rivals):
    assert relevance.excludes(label, word) is rivals


def test_labels_take_their_share_from_other_words():
    zero = np.array([0.9, 0.9], np.float32)
    out = relevance.combine(zero, np.array([0.95, 0.0], np.float32), None)
    assert out[0] < relevance.MATCH <= out[1]
    assert relevance.combine(zero * 0, np.zeros(2), np.array([0.7, 0.1]))[0] == pytest.approx(0.7)


def test_user_words_read_tags_keywords_and_labels(lib, caltech_library):
    pizza = _ids(lib, "pizza")[0]
    lib.catalog.edit_user_tags([pizza], ["dinner"], [])
    lib.catalog.set_label(caltech_library / "ketch", "boat trip")
    words = {w.text: w for w in UserWords.from_catalog(lib.catalog).words()}
    assert words["dinner"].sources == {"tag"} and words["dinner"].photos == {pizza}
    assert words["boat trip"].sources == {"label"} and words["boat trip"].count == 6


def test_a_phrase_wordnet_knows_is_one_concept(lib):
    """"big cat" is a kind of animal (leopards, cheetahs), not a big thing that is also a cat."""
    result = lib.find("big cat", 10)
    assert result.matches >= 3 and _folders(result.hits)[:3] == ["Leopards"] * 3


def test_label_scores_are_kept_until_a_label_changes(lib):
    kangaroos = _ids(lib, "kangaroo")
    lib.catalog.edit_user_tags(kangaroos[:3], ["Skippy"], [])
    first = lib.label_scores()
    with lib.catalog.transaction():  # a keyword read from a file: found by name, never learnt
        lib.catalog.db.execute("INSERT INTO user_tags (photo_id, tag, source, added_at) VALUES (?, 'Rome', 'xmp', 0)",
                               [kangaroos[4]])
    assert lib.label_scores() is first
    lib.catalog.edit_user_tags(kangaroos[3:4], ["Skippy"], [])  # one more photo of the label: learnt again
    again = lib.label_scores()
    assert again is not first and again.labels == ["Skippy"]


def test_context_reranks_each_side_of_the_match_line_and_never_crosses_it():
    head = np.array([0.9, 0.9, 0.5, 0.49, 0.49, 0.1, 1.0], np.float32)
    fit = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0], np.float32)
    out = relevance.with_context(head, fit)
    match = head >= relevance.MATCH
    assert np.array_equal(out >= relevance.MATCH, match)  # a context word neither makes nor breaks a match
    assert out[0] > out[1] == head[1] and out[2] > head[2] and out[5] > head[5]  # fitting photos rise
    assert out[3] > out[4] and out[3] < relevance.MATCH
    assert np.all(out <= 1.0) and out[6] == 1.0
    assert relevance.percentile(np.array([0.3, 0.1, 0.2])) == pytest.approx([1.0, 0.0, 0.5])
