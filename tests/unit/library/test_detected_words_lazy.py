"""Issue 16 ("speed"): a search reads every photo's faces and printed text only when the query can need them."""

from __future__ import annotations

from tagger.library.catalog_detections import StoredFace
from tagger.library.detected_words import DetectedWords, names_detected


def test_names_detected_is_what_the_detected_words_answer():
    known = DetectedWords(ids=__import__("numpy").zeros(0, "int64"))
    for word in ("person", "Faces", "selfie", "receipt", "headshot", "family", "woman", "text"):
        assert names_detected(word), word
    for word in ("dog", "pizza", "boats", "sunset", "kangaroo", "quorvella"):
        assert not names_detected(word), word
    assert known.evidence("dog") is None


def test_a_query_naming_no_detected_word_does_not_read_every_photo_s_detections(lib, caltech_library, monkeypatch):
    photo = lib.catalog.photos_under(caltech_library / "sunflower")[0]
    with lib.catalog.transaction():
        lib.catalog.put_faces(photo, [StoredFace(0.3, 0.15, 0.4, 0.6, 0.99)], "det-1", None)
    real = DetectedWords.from_catalog.__func__
    calls = []

    def counting(cls, *args, **kwargs):
        calls.append(args)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(DetectedWords, "from_catalog", classmethod(counting))
    before = [h.photo_id for h in lib.find("pizza", limit=5).hits]
    lib.find("boats at sunset", limit=5)
    assert calls == []
    hit = lib.find("person", limit=3).hits[0]  # a people word still reads them, and finds the face
    assert (hit.photo_id, hit.why) == (photo, "faces") and len(calls) == 1
    assert [h.photo_id for h in lib.find("pizza", limit=5).hits] == before  # the same results either way
