"""People evidence: which words the faces in a photo support, and how strongly, from their number, size and place."""

from __future__ import annotations

import pytest

from tagger.engine.faces import Face
from tagger.engine.people import PEOPLE_WORDS, people_evidence


def face(cx: float, cy: float, h: float, score: float = 0.99) -> Face:
    """A face box centred at (cx, cy), ``h`` of the photo's height, a typical face's aspect (w = 0.8 h)."""
    w = 0.8 * h
    return Face(cx - w / 2, cy - h / 2, w, h, score, tuple(v for _ in range(5) for v in (cx, cy)))


def high(p: float) -> bool:
    return p >= 0.8


def low(p: float) -> bool:
    return p <= 0.2


def test_every_word_is_answered_and_no_faces_means_no_evidence():
    assert people_evidence([]) == dict.fromkeys(PEOPLE_WORDS, 0.0)
    assert set(people_evidence([face(0.5, 0.4, 0.3)])) == set(PEOPLE_WORDS)


def test_one_big_centred_face_is_a_person_a_face_and_a_portrait_not_a_crowd_or_group():
    p = people_evidence([face(0.5, 0.4, 0.3)])
    assert high(p["person"]) and high(p["face"]) and high(p["portrait"])
    assert low(p["crowd"]) and low(p["group photo"])


def test_people_finds_one_person_but_ranks_two_or_more_higher():
    one = people_evidence([face(0.5, 0.4, 0.3)])["people"]
    two = people_evidence([face(0.3, 0.4, 0.3), face(0.7, 0.4, 0.3)])["people"]
    assert 0.5 <= one < two <= 1.0


def test_a_small_face_is_a_person_but_not_a_face_or_portrait_photo():
    p = people_evidence([face(0.5, 0.6, 0.06)])
    assert high(p["person"]) and low(p["face"]) and low(p["portrait"]) and low(p["selfie"])


def test_a_face_at_the_edge_is_not_a_portrait():
    assert people_evidence([face(0.5, 0.4, 0.3)])["portrait"] > 0.8
    assert people_evidence([face(0.93, 0.4, 0.3)])["portrait"] < 0.3


def test_a_single_very_large_face_reads_as_a_selfie_a_modest_one_does_not():
    big = people_evidence([face(0.5, 0.45, 0.5)])
    # a box cannot tell a selfie from a close-up portrait: ranked first for "selfie", never called one on a guess
    assert 0.3 <= big["selfie"] < 0.5 <= big["portrait"]
    assert high(big["close-up"]) and low(people_evidence([face(0.5, 0.4, 0.2)])["close-up"])
    assert low(people_evidence([face(0.5, 0.4, 0.2)])["selfie"])
    assert low(people_evidence([face(0.3, 0.45, 0.5), face(0.7, 0.45, 0.5), face(0.5, 0.45, 0.45)])["selfie"])


def test_four_similar_faces_are_a_group_photo():
    p = people_evidence([face(x, 0.4, 0.15) for x in (0.2, 0.4, 0.6, 0.8)])
    assert high(p["group photo"]) and high(p["people"]) and low(p["crowd"]) and low(p["portrait"])


def test_one_big_face_with_small_ones_behind_is_not_a_group_photo():
    p = people_evidence([face(0.5, 0.5, 0.4), face(0.1, 0.2, 0.04), face(0.9, 0.2, 0.04)])
    assert low(p["group photo"])


def test_ten_small_faces_are_a_crowd():
    p = people_evidence([face(0.05 + 0.09 * k, 0.5, 0.05) for k in range(10)])
    assert high(p["crowd"]) and high(p["people"]) and low(p["portrait"]) and low(p["face"])


def test_many_small_faces_are_a_crowd_even_if_fewer_than_eight_were_found():
    """At 320 px most faces under ~12 px are missed, so five tiny ones found stand for many more."""
    assert people_evidence([face(0.1 + 0.18 * k, 0.5, 0.035) for k in range(5)])["crowd"] >= 0.5


@pytest.mark.parametrize("faces", [[], [face(0.5, 0.5, 0.9)], [face(0.5, 0.5, 0.02)] * 40,
                                   [face(0.1 * k, 0.5, 0.3) for k in range(10)]])
def test_values_are_probabilities(faces):
    assert all(0.0 <= v <= 1.0 for v in people_evidence(faces).values())


def test_bigger_faces_never_lower_the_face_evidence():
    values = [people_evidence([face(0.5, 0.5, h)])["face"] for h in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 0.8)]
    assert values == sorted(values)
