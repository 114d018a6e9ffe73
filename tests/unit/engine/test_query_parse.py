"""How a query's words are read: the head noun leads, the rest is context ("boat on water" is about a boat)."""

from __future__ import annotations

import pytest

from tagger.engine.query_parse import Query, parse


@pytest.mark.parametrize("text, head, context", [
    ("boat on water", "boat", ["water"]),  # a preposition splits the subject from its setting
    ("boats at sunset", "boats", ["sunset"]),
    ("dog in the snow", "dog", ["snow"]),
    ("Boats at the SUNSET!", "boats", ["sunset"]),  # case and punctuation fall away
    ("a person", "person", []),
    ("photo of a kangaroo", "kangaroo", []),  # the photo frame is not the subject
    ("photos with text", "text", []),
    ("pictures showing snow on mountains", "snow", ["mountains"]),
    ("a picture of boats on a lake", "boats", ["lake"]),
    ("images of grand pianos", "grand pianos", []),
    ("red car", "car", ["red"]),  # a modifier before the noun
    ("red sports car", "sports car", ["red"]),  # the longest phrase WordNet knows at the end leads
    ("grand piano", "grand piano", []),  # WordNet knows these whole
    ("sea horse", "sea horse", []),
    ("hot dog", "hot dog", []),
    ("city street", "street", ["city"]),  # WordNet does not know it whole: a street, in a city
    ("sailing boats", "sailing boats", []),  # "sailing boat" is a WordNet noun (a sailboat)
    ("old boats", "boats", ["old"]),
    ("dog running on the beach", "dog", ["running", "beach"]),  # a gerund after the noun describes it
    ("kangaroo", "kangaroo", []),
    ("zorblax", "zorblax", []),
])
def test_the_head_noun_leads(text, head, context):
    q = parse(text)
    assert (q.head, q.context) == (head, context)


def test_whole_keeps_every_content_word_in_order():
    assert parse("a photo of boats at sunset").whole == "boats sunset"
    assert parse("grand piano").whole == "grand piano"


@pytest.mark.parametrize("text", ["", "   ", "the", "of", "photo of", "🚀🐨", "%_*?", "x" * 10_000])
def test_any_text_parses(text):
    q = parse(text)
    assert isinstance(q, Query) and isinstance(q.head, str) and all(c for c in q.context)
    if text.strip().lower() in ("the", "of"):
        assert q.head == text.strip().lower()  # nothing but function words: kept as typed, as search always did


def test_a_frame_word_alone_is_the_subject():
    assert parse("photo").head == "photo"  # "photo" names a photo when nothing follows it
    assert parse("photo of").head == "photo"
