"""Faces and printed text in the catalog (catalog_detections), the pass that finds them (detection_pass) and what they
say to search (detected_words): stored per content, forgotten with it, searchable, and never looked at twice."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from tagger.library.catalog import Catalog, PhotoRecord
from tagger.library.catalog_detections import FACES, TEXT, StoredFace, StoredLine
from tagger.library.detected_words import RANK_ONLY, DetectedWords, _meaning
from tagger.library.detection_pass import look_at_photos, text_pass_id


def _record(root_id: int, name: bytes, seed: int, top_class: int = 0, digest: str | None = None) -> PhotoRecord:
    classes = np.array([top_class] + list(range(1, 10)), np.int16)
    probs = np.array([0.9] + [0.01] * 9, np.float32)
    return PhotoRecord(root_id, name, 100 + seed, seed, "indexed", hash=digest or f"h{seed:031d}", width=640,
                       height=480, format="JPEG", features=np.full(1280, seed, np.float32), top_classes=classes,
                       top_probs=probs, embedding=np.ones(50, np.float32) / np.sqrt(50), auto_tags=[("thing", 0.2)])


@pytest.fixture
def cat(tmp_path):
    with Catalog.open(tmp_path / "c.db") as catalog:
        yield catalog


def _photos(cat: Catalog, root: Path, n: int, top_class: int = 0) -> list[int]:
    root.mkdir(exist_ok=True)
    root_id = cat.add_root(root).id
    return cat.write_batch([_record(root_id, f"p{i}.jpg".encode(), i, top_class) for i in range(n)], "lite0", "m")


FACE = StoredFace(0.3, 0.2, 0.4, 0.5, 0.99)
LINES = [StoredLine("Quorvélla Bakery", (0.1, 0.1, 0.8, 0.1), 0.98),
         StoredLine("TOTAL 12.50", (0.1, 0.3, 0.5, 0.1), 0.95)]


def test_faces_and_text_are_stored_and_searchable(cat, tmp_path):
    a, b = _photos(cat, tmp_path / "lib", 2)
    with cat.transaction():
        cat.put_faces(a, [FACE], "det-1", "h" + "0" * 31)
        cat.put_text(b, LINES, "ocr-1", "h" + "0" * 30 + "1")
    assert cat.faces() == {a: [FACE]} and cat.faces([b]) == {}
    assert [line.text for line in cat.printed_text([b])[b]] == ["Quorvélla Bakery", "TOTAL 12.50"]
    # case and accents do not matter; every word must be there
    assert set(cat.photos_printing("quorvella")) == {b}
    assert set(cat.photos_printing("QUORVELLA total")) == {b}
    assert cat.photos_printing("quorvella pizza") == {}
    assert cat.detection_counts()["photos_with_faces"] == 1 and cat.detection_counts()["photos_with_text"] == 1


def test_what_was_found_goes_with_the_content_it_was_found_in(cat, tmp_path):
    a, b = _photos(cat, tmp_path / "lib", 2)
    with cat.transaction():
        cat.put_faces(a, [FACE], "det-1", "h" + "0" * 31)
        cat.put_text(a, LINES, "ocr-1", "h" + "0" * 31)
    assert cat.not_looked_at(FACES, "det-1") == [b]
    assert cat.not_looked_at(FACES, "det-2") == [a, b]  # a better detector looks again
    assert cat.not_looked_at(TEXT, "ocr-1", [cat.roots()[0].id]) == [b]
    assert cat.not_looked_at(TEXT, "ocr-1", []) == []
    # the file changed: re-indexed with new content, the old faces and text are gone and it is looked at again
    cat.write_batch([_record(cat.roots()[0].id, b"p0.jpg", 7, digest="n" * 32)], "lite0", "m")
    assert cat.faces() == {} and cat.photos_printing("quorvella") == {}
    assert cat.not_looked_at(FACES, "det-1") == [a, b]
    # a photo that goes takes its text out of the search index; nothing is left behind
    with cat.transaction():
        cat.put_text(b, LINES, "ocr-1", "h" + "0" * 30 + "1")
    cat.remove_root(cat.roots()[0].id)
    assert cat.photos_printing("quorvella") == {} and cat.orphan_rows() == {}


@pytest.mark.parametrize("text", ['"', "AND OR NOT", "*", "NEAR(a b", "quorvella*", "'; DROP TABLE photos; --", "",
                                  "🚀", "a" * 5000])
def test_hostile_text_queries_find_nothing_and_never_fail(cat, tmp_path, text):
    (b,) = _photos(cat, tmp_path / "lib", 1)
    with cat.transaction():
        cat.put_text(b, LINES, "ocr-1", "h" * 32)
    assert isinstance(cat.photos_printing(text), dict)


class _Detector:
    """Finds one face in an image whose top-left pixel is red, none elsewhere; counts its calls."""

    def __init__(self):
        self.calls = 0

    def detect(self, pixels):
        self.calls += 1
        r, g, b = (int(v) for v in pixels[0, 0])
        return [FACE] if r > 200 > 50 > max(g, b) else []  # red, give or take the JPEG


class _Reader:
    def __init__(self):
        self.read_calls = 0

    def has_text(self, pixels, side=320):
        return True

    def read(self, pixels, side=960):
        self.read_calls += 1
        return LINES


def test_the_pass_looks_at_each_photo_once_from_its_thumbnail_and_reads_only_likely_text(cat, tmp_path):
    from tagger.engine.ocr import TEXT_CLASSES

    lib = tmp_path / "lib"
    lib.mkdir()
    root_id = cat.add_root(lib).id
    records = []
    for i, colour in enumerate([(255, 0, 0), (0, 0, 255), (0, 255, 0)]):
        data = io.BytesIO()
        Image.new("RGB", (64, 48), colour).save(data, "JPEG")
        (lib / f"p{i}.jpg").write_bytes(data.getvalue())
        # photo 2's stored evidence says "web site" (text likely); the others are ordinary photos
        top = int(sorted(TEXT_CLASSES)[0]) if i == 2 else 0
        records.append(_record(root_id, f"p{i}.jpg".encode(), i, top_class=top))
        cat.save_thumbnail(records[-1].hash, data.getvalue())
    ids = cat.write_batch(records, "lite0", "m")
    engine = SimpleNamespace(faces=_Detector(), text_reader=_Reader(), backbone="lite0")
    looked = look_at_photos(cat, engine, workers=2)
    assert looked.faces == 3 and looked.texts == 1
    assert set(cat.faces()) == {ids[0]}  # the red one
    assert set(cat.photos_printing("bakery")) == {ids[2]} and engine.text_reader.read_calls == 1
    again = look_at_photos(cat, engine)
    assert (again.faces, again.texts, engine.faces.calls, engine.text_reader.read_calls) == (0, 0, 3, 1)
    assert cat.not_looked_at(TEXT, text_pass_id()) == []


def test_a_missing_file_is_looked_at_again_later(cat, tmp_path):
    from tagger.engine.ocr import TEXT_CLASSES

    lib = tmp_path / "lib"
    lib.mkdir()
    root_id = cat.add_root(lib).id
    ids = cat.write_batch([_record(root_id, b"gone.jpg", 1, top_class=int(sorted(TEXT_CLASSES)[0]))], "lite0", "m")
    engine = SimpleNamespace(faces=_Detector(), text_reader=_Reader(), backbone="lite0")
    look_at_photos(cat, engine)  # no thumbnail, no file: nothing recorded, nothing fails
    assert cat.not_looked_at(FACES, __import__("tagger.engine.faces").engine.faces.MODEL_ID) == ids
    assert cat.not_looked_at(TEXT, text_pass_id()) == ids


def test_query_words_reach_the_detected_words():
    known = ("person", "people", "face", "portrait", "selfie", "group photo", "crowd", "document", "receipt", "text")
    assert _meaning("Faces", known) == ("face", 1.0)
    assert _meaning("portraits", known) == ("portrait", 1.0)
    assert _meaning("headshot", known) == ("portrait", 1.0)
    assert _meaning("invoice", known) == ("receipt", 1.0)
    assert _meaning("woman", known) == ("person", RANK_ONLY)  # no gender is guessed: ranked, not matched
    assert _meaning("family", known) == ("group photo", RANK_ONLY)
    assert _meaning("bass", known) == (None, 0.0)  # once a singer, among fish and sounds
    assert _meaning("persian", known) == (None, 0.0)
    assert _meaning("kangaroo", known) == (None, 0.0)


def test_a_word_printed_in_a_photo_finds_it_first(lib, caltech_library):
    kangaroo = lib.catalog.photos_under(caltech_library / "kangaroo")[0]
    with lib.catalog.transaction():
        lib.catalog.put_text(kangaroo, LINES, "ocr-1", None)
    result = lib.find("quorvella", limit=5)
    assert result.matches == 1 and result.hits[0].photo_id == kangaroo and result.hits[0].why == "text"
    assert result.hits[0].match and not result.hits[1].match
    # printed words never outrank what the photo shows: "pizza" still finds pizzas first
    assert all(h.path.parent.name == "pizza" for h in lib.find("pizza", limit=4).hits)


def test_faces_answer_people_words_and_the_people_filter(lib, caltech_library):
    photo = lib.catalog.photos_under(caltech_library / "sunflower")[0]  # not an animal (see the dalmatians below)
    big = StoredFace(0.3, 0.15, 0.4, 0.6, 0.99)
    with lib.catalog.transaction():
        lib.catalog.put_faces(photo, [big], "det-1", None)
    for word in ("person", "face", "portrait", "people"):
        hit = lib.find(word, limit=3).hits[0]
        assert (hit.photo_id, hit.match, hit.why) == (photo, True, "faces"), word
    man = lib.find("man", limit=3)
    assert man.hits[0].photo_id == photo and not man.hits[0].match  # first, but no gender is guessed
    only = lib.find("", people=True)
    assert [h.photo_id for h in only.hits] == [photo]
    assert [h.photo_id for h in lib.find("sunflower", people=True).hits] == [photo]
    words = [t.tag for t in lib.tag_cloud([photo], limit=8)]
    assert {"face", "portrait", "person"} <= set(words[:5])


def test_detected_words_are_row_aligned(cat, tmp_path):
    a, b, c = _photos(cat, tmp_path / "lib", 3)
    with cat.transaction():
        cat.put_faces(c, [StoredFace(0.1, 0.1, 0.05, 0.08, 0.95)] * 10, "det-1", None)
    found = DetectedWords.from_catalog(cat, np.array([a, b, c]))
    assert found.has_faces.tolist() == [False, False, True]
    crowd, why = found.evidence("crowd")
    assert crowd[2] > crowd[0] == 0.0 and why == 4
    assert found.evidence("kangaroo") is None


def test_a_detected_phrase_is_one_concept_and_printed_words_count_together(lib, caltech_library):
    group = lib.catalog.photos_under(caltech_library / "pizza")[0]
    sign = lib.catalog.photos_under(caltech_library / "airplanes")[0]
    other = lib.catalog.photos_under(caltech_library / "airplanes")[1]
    row = [StoredFace(x, 0.3, 0.1, 0.15, 0.98) for x in (0.1, 0.3, 0.5, 0.7)]
    with lib.catalog.transaction():
        lib.catalog.put_faces(group, row, "det-1", None)
        lib.catalog.put_text(sign, [StoredLine("HOTEL CALIFORNIA", (0.1, 0.4, 0.8, 0.2), 0.97)], "ocr-1", None)
        lib.catalog.put_text(other, [StoredLine("CALIFORNIA", (0.1, 0.4, 0.8, 0.2), 0.97)], "ocr-1", None)
    hit = lib.find("group photo", limit=1).hits[0]  # not "photo" with "group" as its context
    assert (hit.photo_id, hit.match, hit.why) == (group, True, "faces")
    hits = lib.find("hotel california", limit=2).hits
    assert (hits[0].photo_id, hits[0].why) == (sign, "text") and hits[0].score > hits[1].score


def test_a_page_that_reads_as_one_kind_gives_way_on_the_others(cat, tmp_path):
    a, b = _photos(cat, tmp_path / "lib", 2)
    till = [StoredLine(t, (0.3, 0.05 + 0.08 * i, 0.4, 0.03), 0.97) for i, t in enumerate(
        ["CORNER MARKET", "COFFEE 3.50", "BREAD 2.20", "MILK 1.15", "SUBTOTAL 6.85", "TAX 0.55", "TOTAL 7.40",
         "CASH 10.00", "CHANGE 2.60"])]
    with cat.transaction():
        cat.put_text(a, till, "ocr-1", None)
    found = DetectedWords.from_catalog(cat, np.array([a, b]))
    receipt, _ = found.evidence("receipts")
    assert receipt[0] >= 0.5 and receipt[1] == 0
    assert found.rivals("menu")[0] >= 0.5 and found.rivals("menu")[1] == 0  # ImageNet's "menu" gives way
    assert found.rivals("kangaroo") is None and found.rivals("text") is None


def test_a_misread_letter_is_forgiven_in_a_made_up_word_not_in_a_real_one(lib, caltech_library):
    page = lib.catalog.photos_under(caltech_library / "okapi")[2]
    with lib.catalog.transaction():
        lib.catalog.put_text(page, [StoredLine("Fsgaivule Bench Co", (0.1, 0.1, 0.8, 0.1), 0.9)], "ocr-1", None)
    hit = lib.find("fisgaivule", limit=1).hits[0]  # the reader dropped the i
    assert (hit.photo_id, hit.match, hit.why) == (page, True, "text") and hit.score < 0.6
    assert lib.catalog.printed_words_like("fisgaivule") == ["fsgaivule"]
    assert not any(h.photo_id == page and h.match for h in lib.find("beach", limit=50).hits)  # "bench" is a word


def test_a_word_the_faces_cannot_tell_suggests_the_one_they_can(lib, caltech_library):
    photo = lib.catalog.photos_under(caltech_library / "sunflower")[3]
    with lib.catalog.transaction():
        lib.catalog.put_faces(photo, [StoredFace(0.3, 0.15, 0.4, 0.6, 0.99)], "det-1", None)
    result = lib.find("woman", limit=3)
    assert result.matches == 0 and result.suggestions == ["person"]  # not a bear or a shark
    assert lib.find("kangaroo", limit=3).suggestions == []


def test_a_face_on_a_sure_animal_is_not_a_person(cat, tmp_path):
    dog, owner = _photos(cat, tmp_path / "lib", 2)
    with cat.transaction():
        for pid in (dog, owner):
            cat.put_faces(pid, [StoredFace(0.3, 0.15, 0.4, 0.6, 0.99)], "det-1", None)
    # the classifier: the first photo is surely a dalmatian (RetinaFace fires on 12 of 22 Caltech test dalmatians),
    # the second half a dog, half whatever it makes of the person holding it
    found = DetectedWords.from_catalog(cat, np.array([dog, owner]), animal=np.array([0.95, 0.5]))
    person, _ = found.evidence("person")
    assert person[0] < 0.5 <= person[1] and found.has_faces.tolist() == [False, True]


def test_a_receipt_s_cloud_does_not_call_it_a_menu(cat, tmp_path):
    from tagger.library.detected_words import detected_tags

    (a,) = _photos(cat, tmp_path / "lib", 1)
    till = [StoredLine(t, (0.3, 0.05 + 0.08 * i, 0.4, 0.03), 0.97) for i, t in enumerate(
        ["CORNER MARKET", "COFFEE 3.50", "BREAD 2.20", "MILK 1.15", "SUBTOTAL 6.85", "TAX 0.55", "TOTAL 7.40",
         "CASH 10.00", "CHANGE 2.60"])]
    with cat.transaction():
        cat.put_text(a, till, "ocr-1", None)
    found = DetectedWords.from_catalog(cat, np.array([a]))
    tags = detected_tags(found, 0, [("menu", 0.30), ("envelope", 0.25), ("plate", 0.2)], 0.1, 0.5)
    words = [t for t, _ in tags]
    assert words.index("receipt") < words.index("envelope") < words.index("menu")  # ImageNet's "menu" gives way


def test_person_words_give_way_on_a_photo_with_no_face(cat, tmp_path):
    """A kangaroo's cloud said "flanker, fullback, winger" (the rugby Wallabies in the word space): on a photo looked
    at for faces with none found, words naming a kind of person lose half their weight; ImageNet's own person
    classes (scuba diver) keep theirs, and a photo not looked at yet is left as it is."""
    from tagger.library.detected_words import PERSON_WITHOUT_FACE, detected_tags

    looked, unlooked = _photos(cat, tmp_path / "lib", 2)
    with cat.transaction():
        cat.put_faces(looked, [], "det-1", cat.photo(looked)["hash"])  # looked at (this content): no face
    found = DetectedWords.from_catalog(cat, np.array([looked, unlooked]))
    assert found.no_faces.tolist() == [True, False]
    tags = [("wallaby", 0.30), ("flanker", 0.29), ("winger", 0.28), ("scuba diver", 0.2)]
    weights = dict(detected_tags(found, 0, tags, 0.1, 0.5))
    assert weights["flanker"] == pytest.approx(0.29 * PERSON_WITHOUT_FACE)
    assert weights["winger"] == pytest.approx(0.28 * PERSON_WITHOUT_FACE)
    assert weights["wallaby"] == 0.30 and weights["scuba diver"] == 0.2
    assert dict(detected_tags(found, 1, tags, 0.1, 0.5)) == dict(tags)


def test_a_tag_withdrawn_from_the_vocabulary_since_indexing_stays_out_of_the_cloud(lib):
    """"crotch hair" was blocked after photos were indexed with it: their stored tags keep it until re-indexed, the
    cloud does not show it."""
    from tagger.engine.vocabulary import vocabulary_words

    assert "crotch hair" not in vocabulary_words()
    pid = int(lib.table().ids[0])
    best = lib.catalog.auto_tags([pid], lib.engine.model_id)[pid][0][1]
    lib.catalog.db.execute("INSERT INTO auto_tags (photo_id, model, tag, weight) VALUES (?, ?, ?, ?)",
                           [pid, lib.engine.model_id, "crotch hair", best + 1.0])
    words = [t.tag for t in lib.tag_cloud([pid], limit=30)]
    assert words and "crotch hair" not in words
