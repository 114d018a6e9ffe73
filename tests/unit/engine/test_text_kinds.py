"""What the lines read in a photo say about the kind of thing photographed: document, receipt, menu, ticket, sign,
screenshot. Each rule is tried on the kind it names and on the kinds it must not be confused with."""

from __future__ import annotations

import pytest

from tagger.engine.ocr import TextLine
from tagger.engine.text_kinds import TEXT_WORDS, text_evidence

PHONE = (3024, 4032)  # a portrait phone photo
CAMERA = {"fmt": "JPEG", "taken_at": "2024-05-01T12:00:00"}


def _column(texts, left=0.1, top=0.08, width=0.8, line_h=0.02, step=0.04, score=0.95, angle=0.0) -> list[TextLine]:
    """Lines stacked down a column; each box is as wide as its text would be (``width`` for the longest)."""
    longest = max(len(t) for t in texts)
    return [TextLine(t, (left, top + i * step, width * len(t) / longest, line_h), score, angle)
            for i, t in enumerate(texts)]


DOCUMENT = _column([
    "The committee met on Tuesday to review the annual report and the budget",
    "for the coming year. Members agreed that the library renovation should",
    "begin in the spring, once the contract with the builder has been signed.",
    "The treasurer presented the accounts, which show a small surplus after",
    "the repairs to the roof of the main building were paid in full last year.",
    "A vote on the new opening hours was postponed until the next meeting,",
    "when the survey of readers will be complete and its results are known.",
    "Questions from members concerned parking, the cafe and the children's",
    "reading room, which several people asked to be open on Sunday mornings.",
    "The chair thanked the volunteers and closed the meeting at nine o'clock.",
    "Minutes taken by the secretary and approved by the committee members.",
    "Next meeting: the first Tuesday of the month, in the main hall upstairs.",
] * 2, top=0.05, step=0.037, line_h=0.018)

RECEIPT = _column(["CORNER MARKET", "COFFEE 3.50", "BREAD 2.20", "BUTTER 1.99", "MILK 1.15", "APPLES 2.40",
                   "SUBTOTAL 11.24", "TAX 0.90", "TOTAL 12.14", "CASH 20.00", "CHANGE 7.86"],
                  left=0.3, top=0.05, width=0.4, step=0.08, line_h=0.03)

MENU = _column(["MENU", "Soup of the day 4.50", "Chicken salad 8.90", "Grilled steak with fries 16.00",
                "Pasta with tomato sauce 9.50", "Chocolate cake 5.00", "Coffee or tea 2.20"],
               left=0.15, top=0.1, width=0.7, step=0.1, line_h=0.035)

TICKET = [TextLine("BOARDING PASS", (0.05, 0.1, 0.5, 0.08), 0.97),
          TextLine("FLIGHT LH 2041", (0.05, 0.3, 0.4, 0.07), 0.96),
          TextLine("GATE B12", (0.05, 0.5, 0.25, 0.07), 0.95),
          TextLine("SEAT 14A", (0.4, 0.5, 0.25, 0.07), 0.95),
          TextLine("BOARDING 10:45", (0.05, 0.7, 0.4, 0.07), 0.93)]

SIGN = [TextLine("MAIN STREET", (0.2, 0.3, 0.6, 0.1), 0.96), TextLine("ONE WAY", (0.3, 0.45, 0.4, 0.08), 0.94)]


def _ev(lines, size=PHONE, fmt="JPEG", taken_at="2024-05-01T12:00:00") -> dict[str, float]:
    return text_evidence(lines, size[0], size[1], fmt, taken_at)


def test_every_word_gets_a_probability():
    for lines in ([], DOCUMENT, RECEIPT, MENU, TICKET, SIGN):
        ev = _ev(lines)
        assert tuple(ev) == TEXT_WORDS
        assert all(0.0 <= v <= 1.0 for v in ev.values())


def test_no_lines_no_text():
    assert all(v == 0.0 for v in _ev([]).values())
    assert all(v == 0.0 for v in _ev([TextLine("   ", (0.1, 0.1, 0.1, 0.1), 0.9)]).values())


def test_text_grows_with_confident_lines():
    one_faint = _ev([TextLine("ab", (0.1, 0.1, 0.05, 0.02), 0.55)])["text"]
    one_clear = _ev([TextLine("OPEN DAILY", (0.1, 0.1, 0.3, 0.05), 0.98)])["text"]
    assert one_faint < 0.5 < one_clear < _ev(DOCUMENT)["text"]


@pytest.mark.parametrize("kind, lines", [("document", DOCUMENT), ("receipt", RECEIPT), ("menu", MENU),
                                         ("ticket", TICKET), ("sign", SIGN)])
def test_each_kind_wins_on_its_own_lines(kind, lines):
    ev = _ev(lines)
    assert ev[kind] > 0.6, ev
    others = {k: v for k, v in ev.items() if k not in (kind, "text", "screenshot")}
    assert all(v < ev[kind] - 0.2 for v in others.values()), ev


def test_a_receipt_in_german_or_french_is_still_a_receipt():
    german = _column(["BÄCKEREI MÜLLER", "Brötchen 2,40", "Kaffee 3,10", "Kuchen 2,90", "SUMME 8,40", "MwSt 7% 0,55",
                      "BAR 10,00", "Rückgeld 1,60"], left=0.3, width=0.4, step=0.09, line_h=0.03)
    french = _column(["BOULANGERIE", "Croissant 1,20", "Baguette 1,10", "TOTAL TTC 2,30", "TVA 5,5% 0,12",
                      "ESPECES 5,00", "RENDU 2,70"], left=0.3, width=0.4, step=0.09, line_h=0.03)
    assert _ev(german)["receipt"] > 0.6 and _ev(french)["receipt"] > 0.6


def test_a_page_of_dates_is_not_a_receipt():
    """Dates such as 12.05.2024 are not amounts."""
    dates = _column([f"Meeting on 12.0{i}.2024 in the hall" for i in range(1, 9)], left=0.3, width=0.4, step=0.09)
    assert _ev(dates)["receipt"] < 0.3


def test_screenshot_needs_a_screen_not_a_camera():
    lines = _column(["Inbox", "Messages from your team", "Settings", "Battery 84%", "Wi-Fi connected"])
    png_screen = _ev(lines, size=(1170, 2532), fmt="PNG", taken_at=None)["screenshot"]
    jpeg_screen_size = _ev(lines, size=(1920, 1080), fmt="JPEG", taken_at=None)["screenshot"]
    camera = _ev(lines, size=(4032, 3024), **CAMERA)["screenshot"]
    tilted_png = _ev(_column(["Inbox", "Messages from your team", "Settings"], angle=6.0), size=(1170, 2532),
                     fmt="PNG", taken_at=None)["screenshot"]
    assert png_screen > 0.8 and jpeg_screen_size > 0.6
    assert camera < 0.15 and tilted_png < png_screen - 0.2


def test_a_sign_is_large_text_not_a_page_of_it():
    small_print = [TextLine("MAIN STREET", (0.45, 0.5, 0.06, 0.008), 0.9), TextLine("ONE WAY", (0.46, 0.51, 0.04,
                                                                                                 0.008), 0.9)]
    assert _ev(SIGN)["sign"] > _ev(small_print)["sign"] + 0.3
    assert _ev(DOCUMENT)["sign"] < 0.2


def test_a_till_row_read_as_two_lines_still_counts():
    """The detector reads "TOTAL" at the left edge and "12.14" at the right edge of a till roll as two lines."""
    split = []
    for i, (label, amount) in enumerate([("COFFEE", "3.50"), ("BREAD", "2.20"), ("MILK", "1.15"), ("TOTAL", "6.85"),
                                         ("CASH", "10.00"), ("CHANGE", "3.15")]):
        split += [TextLine(label, (0.3, 0.1 + i * 0.08, 0.12, 0.03), 0.95),
                  TextLine(amount, (0.6, 0.1 + i * 0.08 + 0.003, 0.08, 0.03), 0.95)]
    assert _ev(split)["receipt"] > 0.6


def test_words_run_into_numbers_are_still_found():
    """Small print loses the spaces between words and numbers: "ROW4SEAT3E" still names a row and a seat."""
    admit = [TextLine("ADMIT ONE", (0.1, 0.15, 0.3, 0.1), 0.95),
             TextLine("SUMMER FESTIVAL", (0.1, 0.3, 0.3, 0.08), 0.95),
             TextLine("ROW4SEAT3E", (0.1, 0.4, 0.2, 0.07), 0.97)]
    assert _ev(admit)["ticket"] > 0.6


def test_a_letter_about_a_train_journey_is_not_a_ticket():
    letter = _column(["Dear Anna, the train to the coast was late again and we missed the boat,",
                      "so we waited on the platform for an hour before the next departure came.",
                      "The ticket office was closed and nobody could tell us which gate to use.",
                      "In the end a kind passenger showed us the way and we found our seats.",
                      "We arrived after dark but the hotel had kept our room for the night.",
                      "Tomorrow we will walk along the harbour and visit the old castle there.",
                      "I hope the weather stays as good as it was today, and I will write again.",
                      "With love from both of us, and see you soon when we are back home."] * 2,
                     top=0.05, step=0.05, line_h=0.02)
    ev = _ev(letter)
    assert ev["ticket"] < 0.3 and ev["document"] > 0.6


def test_a_screenshot_full_of_prose_is_a_screenshot_not_a_document():
    shot = text_evidence(DOCUMENT, 1170, 2532, "PNG", None)
    page = text_evidence(DOCUMENT, *PHONE, **CAMERA)
    assert shot["screenshot"] >= 0.5 > shot["document"] and page["document"] >= 0.5 > page["screenshot"]


def test_a_grocery_receipt_is_not_a_menu():
    p = text_evidence(RECEIPT, *PHONE, **CAMERA)  # coffee, bread, milk with prices: a till's, with TOTAL and CASH
    assert p["receipt"] >= 0.5 > p["menu"]
