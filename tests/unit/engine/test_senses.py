"""Which meaning of a word counts: WordNet's senses weighted by how often each is used, and cousins only through a
specific common kind ("person" is an organism, but that does not make a Persian cat a person)."""

from __future__ import annotations

from tagger.engine.scoring import MIN_AFFINITY
from tagger.engine.wordnet import class_affinity, imagenet_classes, sense_weights, senses


def _index(label: str) -> int:
    return next(c.index for c in imagenet_classes() if c.label == label)


def test_senses_come_most_used_first():
    assert senses("person")[0] == "n00007846"  # a human being (6,833 tagged uses), before the body and the grammar
    assert senses("mouse")[0] == "n02330245"  # the animal before the computer mouse
    weights = sense_weights("person")
    assert weights["n00007846"] == 1.0 and weights["n05217688"] < 0.01
    assert set(sense_weights("sea horse").values()) == {1.0}  # no tagged use of either: neither is preferred


def test_every_sense_keeps_its_own_classes():
    assert class_affinity("mouse")[_index("computer mouse")] == 1.0
    assert class_affinity("person")[_index("scuba diver")] == 1.0


def test_a_rare_sense_lends_little_to_its_cousins():
    assert class_affinity("mouse")[_index("computer keyboard")] < MIN_AFFINITY  # cousin of the rare sense only


def test_cousins_meet_below_a_specific_kind():
    person = class_affinity("person")
    assert person[_index("Persian cat")] < MIN_AFFINITY and person[_index("tabby cat")] < MIN_AFFINITY
    dog = class_affinity("dog")
    assert dog[_index("grey wolf")] == 0.5  # a dog's cousins under "canine" still count
    boat = class_affinity("boat")
    assert boat[_index("schooner")] >= 0.5  # a ship is a boat's cousin under "vessel"
