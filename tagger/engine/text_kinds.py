"""What the text read in a photo says about what was photographed: a document, a receipt, a menu, a ticket, a sign or
a screenshot, one probability each, from the lines read plus what the catalog knows of the file.

Every rule here is a hand-set heuristic, not a fitted model: a logistic score over a few features whose weights were
chosen so that each kind wins on its own typical lines and loses on the others' (tests/unit/engine/
test_text_kinds.py), and so that each rests on something that holds on real photos, not on our rendered pages: the
layout of the lines (how many, how large, how much of the picture they fill, the block's shape), amounts and the
words that name the kind in a few languages, and for screenshots the file itself (format, screen size, no camera
date). Every kind is scaled by ``text``, the confidence that there is readable text at all.

Measured on 164 photographed renders (bench/_rendered_docs.py and bench/ocr_options.py, read at 1280 px): each kind
reaches 0.5 on its own photos (document 0.87 of them, the rest are forms with few words a row; receipt 0.90; menu,
ticket, sign, screenshot 1.00) and rarely on the others' (document on 18 %: screenshots of message lists; the rest
<= 1 %). Known weakness: "sign" is large text, so a logo or a caption big in the frame reads as one (29 % of the
Caltech-101 photos in which the detector found lines); the ImageNet pre-gate keeps most such photos from OCR.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence

import numpy as np

from tagger.engine.ocr import TextLine

TEXT_WORDS = ("text", "document", "receipt", "screenshot", "sign", "menu", "ticket")

# Amounts: 3.50, 12,50, 1,234.00, €4.20 - two decimals, not part of a date such as 12.05.2024.
_AMOUNT = re.compile(r"(?<![\d.,])\d{1,3}(?:[.,\s]\d{3})*[.,]\d{2}(?![.,]?\d)")
_TIME = re.compile(r"(?<!\d)(?:[01]?\d|2[0-3])[:h][0-5]\d(?!\d)")  # 10:45, 10h45; not 10.45
_CODE = re.compile(r"^(?=.*\d)(?=.*[^\W\d_])\w{2,6}$")  # seat 14A, gate B12, LH2041

RECEIPT_WORDS = frozenset("""total subtotal tax vat cash change visa mastercard amex card receipt balance due
tip qty amount paid payment debit credit tendered summe gesamt mwst ust rückgeld rueckgeld betrag kartenzahlung
ttc tva espèces especes rendu montant totale iva contanti scontrino efectivo cambio importe btw totaal contant
wisselgeld kassabon 合計 小計 税 合计 现金 お釣り""".split())
MENU_WORDS = frozenset("""soup salad pizza pasta burger steak chicken fish beef pork lamb fries sandwich dessert
desserts starters starter appetizers appetizer mains drinks beverages wine beer coffee tea cake breakfast
lunch dinner specials vegetarian vegan grilled roasted fried sauce cheese chocolate cream juice cocktail
soupe salade poulet poisson boeuf bœuf frites entrées plats boissons vin bière café gâteau suppe salat hähnchen
fisch rind schwein pommes vorspeisen hauptgerichte nachspeisen getränke wein bier kaffee kuchen zuppa insalata pollo
pesce manzo antipasti primi secondi dolci bevande vino birra sopa ensalada carne postres bebidas cerveza""".split())
MENU_NAMES = frozenset("menu menus carte speisekarte menü menú menù メニュー 菜单".split())
TICKET_WORDS = frozenset("""ticket tickets admit admission seat row gate boarding train platform valid coach carriage
flight departure departs arrival passenger entry event fahrkarte fahrschein gleis wagen sitzplatz billet voie quai
voiture biglietto binario carrozza posto billete andén asiento vagón 乗車券 座席 车票 登机牌""".split())
SIGN_WORDS = frozenset("""stop exit entrance open closed street st road rd avenue ave lane way parking no keep caution
danger warning push pull toilets wc welcome private only slow left right north south east west station""".split())

# Screen sizes in pixels (either orientation): phones, tablets, laptops, desktop monitors.
SCREEN_SIZES = frozenset({
    (1920, 1080), (2560, 1440), (3840, 2160), (1366, 768), (1280, 720), (1440, 900), (1536, 864), (1600, 900),
    (1680, 1050), (1280, 800), (2560, 1600), (2880, 1800), (3024, 1964), (3456, 2234), (2940, 1912), (3072, 1920),
    (2048, 1536), (2732, 2048), (2388, 1668), (2360, 1640), (2266, 1488), (1920, 1200), (3440, 1440), (2560, 1080),
    (1170, 2532), (1179, 2556), (1284, 2778), (1290, 2796), (1125, 2436), (1242, 2688), (828, 1792), (750, 1334),
    (1242, 2208), (640, 1136), (1080, 1920), (1080, 2340), (1080, 2400), (1080, 2280), (1440, 3200), (1440, 3120),
    (1440, 3088), (1440, 2560), (720, 1280), (720, 1600), (1206, 2622), (1320, 2868),
})


def _ramp(x: float, lo: float, hi: float) -> float:
    return float(min(1.0, max(0.0, (x - lo) / (hi - lo))))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _words(text: str) -> set[str]:
    """Runs of letters: the OCR often drops the space between a word and a number ("SEAT28E", "ROW4SEAT3E")."""
    return set(re.findall(r"[^\W\d_]+", _fold(text)))


def _hits(vocabulary: frozenset[str], text: str) -> int:
    """Distinct words of ``vocabulary`` in ``text``: whole words, or inside a line for Chinese and Japanese (no
    spaces between words)."""
    words = _words(text)
    folded = _fold(text)
    return sum(w in words or (any(ord(ch) >= 0x2E80 for ch in w) and w in folded) for w in vocabulary)


def _rows(lines: list[TextLine]) -> list[str]:
    """Lines side by side as one row, left to right: a till prints "TOTAL" and its amount far apart, and the
    detector reads them as two lines. Same rule as the reader's reading order (centres within half a line)."""
    rows: list[list[TextLine]] = []
    centre = lambda ln: ln.box[1] + ln.box[3] / 2
    for line in sorted(lines, key=centre):
        first = rows[-1][0] if rows else None
        if first is not None and abs(centre(line) - centre(first)) < 0.5 * min(line.box[3], first.box[3]):
            rows[-1].append(line)
        else:
            rows.append([line])
    return [" ".join(ln.text for ln in sorted(row, key=lambda ln: ln.box[0])) for row in rows]


def _text_presence(lines: Sequence[TextLine]) -> float:
    """1 - P(every line is a misreading), a line counting fully from 4 letters or digits at full confidence."""
    miss = 1.0
    for line in lines:
        chars = sum(ch.isalnum() for ch in line.text)
        miss *= 1.0 - float(np.clip(line.score, 0, 1)) * min(1.0, chars / 4)
    return 1.0 - miss


def _is_screen_size(width: int, height: int) -> bool:
    return (width, height) in SCREEN_SIZES or (height, width) in SCREEN_SIZES


def text_evidence(lines: Sequence[TextLine], width: int, height: int, fmt: str | None,
                  taken_at: str | None) -> dict[str, float]:
    """One probability 0..1 per word of :data:`TEXT_WORDS` for a photo of ``width`` x ``height`` pixels (upright),
    stored as ``fmt`` (PIL's format name), with an EXIF capture date ``taken_at`` or None. All heuristics:

    - document: many rows (4 to 12+) filling much of the picture, prose-long (several words a row), few amounts.
    - receipt: amounts on many rows, the words of a till (total, tax, cash, change, visa; German, French, Italian,
      Spanish, Dutch, Chinese, Japanese) on the rows with amounts, a block taller than wide, short rows; the word
      "menu" and food words count against it.
    - menu: amounts beside food and drink words, or the word menu itself; till words count against it.
    - ticket: the words of tickets and boarding passes (seat, row, gate, platform, admit, valid...), times and seat
      or gate codes, on a short text; a long page of them (a timetable, a travel letter) counts against it.
    - sign: few rows of large text (a line at least ~5 % of the short side), in a camera photo rather than a screen;
      another kind's own words count against it (a boarding pass filling the frame has large text too).
    - screenshot: a PNG or an exact screen size, no camera capture date, level lines (a photo of a screen or of
      paper is turned a little).
    """
    lines = [ln for ln in lines if ln.text.strip()]
    if not lines or width <= 0 or height <= 0:
        return dict.fromkeys(TEXT_WORDS, 0.0)
    rows = _rows(lines)
    n = len(rows)
    all_text = "\n".join(rows)
    priced = [r for r in rows if _AMOUNT.search(r)]
    amount_share = len(priced) / n
    words_per_row = float(np.mean([len(r.split()) for r in rows]))
    chars_per_row = float(np.mean([len(r) for r in rows]))
    n_words = sum(len(r.split()) for r in rows)
    boxes = np.array([ln.box for ln in lines], np.float64)
    left, top = boxes[:, 0].min(), boxes[:, 1].min()
    right, bottom = (boxes[:, 0] + boxes[:, 2]).max(), (boxes[:, 1] + boxes[:, 3]).max()
    block_area = (right - left) * (bottom - top)
    block_aspect = (bottom - top) * height / max((right - left) * width, 1e-9)  # > 1: taller than wide, in pixels
    line_height = float(np.median(boxes[:, 3])) * height / min(width, height)  # of the short side
    level = 1.0 - _ramp(float(np.median([abs(ln.angle) for ln in lines])), 0.3, 1.5)
    till = _hits(RECEIPT_WORDS, "\n".join(priced))
    food, menu_named = _hits(MENU_WORDS, all_text), _hits(MENU_NAMES, all_text) > 0
    travel, street = _hits(TICKET_WORDS, all_text), _hits(SIGN_WORDS, all_text)
    codes = (sum(bool(_CODE.match(t)) for t in set(re.findall(r"[^\W_]+", _fold(all_text))))
             + sum(bool(_TIME.search(r)) for r in rows))
    png, dated = (fmt or "").upper() == "PNG", taken_at is not None
    screen = _is_screen_size(width, height)

    receipt = (-3.5 + 2.0 * _ramp(amount_share, 0.15, 0.5) + 1.5 * min(till, 3) + 1.0 * _ramp(block_aspect, 1, 2)
               + 0.5 * (1 - _ramp(chars_per_row, 25, 45)) - 2.0 * menu_named - 0.5 * min(food, 3))
    shot = -5.5 + 2.0 * png + 2.5 * screen + 1.5 * (not dated) - 3.0 * dated + 3.0 * level
    logits = {
        # a screenshot is first a screenshot: a chat or a web page is full of prose lines too (before this term
        # "document" fired on 18% of other text photos, mostly screenshots of message lists; bench/people_text.py
        # "document" P@10 0.3, 7 of its top 10 screenshots)
        "document": (-4.5 + 2.5 * _ramp(n, 3, 12) + 2.5 * _ramp(block_area, 0.1, 0.45)
                     + 2.0 * _ramp(words_per_row, 2, 6) - 2.5 * amount_share - 3.0 * _sigmoid(shot)),
        "receipt": receipt,
        "screenshot": shot,
        "sign": (-3.0 + 3.5 * _ramp(line_height, 0.03, 0.08) + 1.0 * (n <= 6) - 3.0 * _ramp(n, 6, 12)
                 + 0.5 * min(street, 2) + 0.5 * dated - 1.5 * (png and not dated)
                 - 1.0 * min(travel + till + menu_named, 3)),
        # a receipt lists food with prices too: one that reads as a receipt is not also a menu (bench/people_text.py:
        # "menu" P@10 0.4 before, 6 of its top 10 receipts)
        "menu": (-3.5 + 2.0 * _ramp(amount_share, 0.1, 0.4) + 1.0 * min(food, 3) + 2.5 * menu_named
                 - 1.5 * min(till, 2) - 3.0 * _sigmoid(receipt)),
        "ticket": (-3.5 + 1.5 * min(travel, 3) + 0.75 * min(codes, 2) - 2.5 * _ramp(n, 8, 16)
                   - 2.0 * _ramp(n_words, 30, 80) - 1.0 * amount_share),
    }
    text = _text_presence(lines)
    out = {"text": round(text, 4)} | {k: round(text * _sigmoid(v), 4) for k, v in logits.items()}
    return {w: out[w] for w in TEXT_WORDS}
