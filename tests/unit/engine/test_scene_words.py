"""Scene words (resources/scene_words.tsv): a place the classifier has no class for is found through the classes that
show it ("beach" -> seashore), and the table names only real classes and words."""

from __future__ import annotations

import numpy as np
import pytest

from tagger.engine.scene_words import SceneTableError, parse_table, scene_classes, scene_words
from tagger.engine.wordnet import class_affinity, imagenet_classes, senses


def _index(label: str) -> int:
    return next(c.index for c in imagenet_classes() if c.label == label)


def test_the_table_names_real_words_and_real_classes_with_a_reason_each():
    table = scene_words()
    assert {"beach", "sea", "waves", "lake", "mountains", "snow", "kitchen", "bedroom", "bathroom", "living room",
            "office", "city street"} <= set(table)
    for word, row in table.items():
        assert senses(word), f"{word}: WordNet knows neither the word nor its head noun"
        assert row.classes and all(0 <= i < 1000 for i in row.classes), word
        assert len(set(row.classes)) == len(row.classes), word
        if row.why.startswith("as "):  # the same reason as a word above ("ocean": as sea)
            assert table[row.why[3:]].classes == row.classes, word
        else:
            assert len(row.why.split()) >= 4, f"{word}: say why these classes show it"


def test_what_was_checked_against_the_classifier_stays_out_when_no_class_shows_it():
    for word in ("sunset", "sunrise", "sky", "night", "desert", "jungle", "forest"):
        assert word not in scene_words()  # no ImageNet class shows these: nothing is invented


def test_a_scene_words_classes_count_as_kinds_of_it():
    beach = class_affinity("beach")
    assert beach[_index("seashore")] == 1.0 and beach[_index("shoal")] == 1.0
    assert class_affinity("Mountains")[_index("valley")] == 1.0  # case and plural
    assert class_affinity("kitchen")[_index("refrigerator")] == 1.0
    assert set(scene_classes("city street")) == set(scene_classes("street"))
    assert scene_classes("zorblax") == () and scene_classes("dog") == ()
    dog = class_affinity("dog")
    assert dog[_index("seashore")] < 1.0  # other words are untouched


@pytest.mark.parametrize("text, problem", [
    ("word\tclasses\twhy\nbeach\tseashore; sand castle\tthere is no such class\n", "sand castle"),
    ("word\tclasses\twhy\nbeach\tseashore\n", "3 columns"),
    ("word\tclasses\twhy\nbeach\t\tno classes\n", "no class"),
    ("word\tclasses\twhy\nbeach\tseashore\tone\nBeach\tshoal\ttwo\n", "twice"),
])
def test_a_bad_table_is_refused_with_its_row(text, problem):
    with pytest.raises(SceneTableError, match=problem):
        parse_table(text)


def test_comments_and_blank_lines_are_skipped():
    table = parse_table("# a note\nword\tclasses\twhy\n\nbeach\tseashore; shoal\tsand by the sea\n")
    assert list(table) == ["beach"] and table["beach"].classes == (_index("seashore"), _index("shoal"))
    assert np.all(np.array(table["beach"].classes) >= 0)
