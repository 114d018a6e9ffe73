"""The app speaks the person's words: a search shows its matches ("12 matches for “kangaroo”") with the weaker results
folded away, says when nothing matches and offers words that would; the tag list counts the tags, keywords and
labels and filters the grid (AND) when clicked; the search box completes known words in any case and accent; and the
list follows tag edits, undo and other programs' writes."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QItemSelectionModel, QSettings, Qt

from tagger.gui.main_window import MainWindow
from tagger.gui.search_controller import match_line, worth_trying
from tagger.library.catalog import Catalog
from tests.shared import ids_by_folder

TIMEOUT = 60_000
PHOTOS = 48  # the caltech_catalog fixture: 8 folders of 6 photos


@pytest.fixture(scope="module")
def words_db(caltech_catalog, tmp_path_factory) -> Path:
    """A private copy of the small indexed library with the person's words on it: tags typed in Tagger ("Rex" on two
    kangaroos, "pet" on them and an okapi) and keywords from the files ("Café" on a pizza, "Places|Holiday" on two
    ketches: both of its levels are words; "Kwyjibo", a word no model knows, on two sunflowers: a search for it
    matches exactly its two photos, whatever the model thinks of the rest)."""
    lib = tmp_path_factory.mktemp("words") / "lib"
    shutil.copytree(caltech_catalog.parent, lib)
    db = lib / caltech_catalog.name
    with Catalog.open(db) as cat:
        ids = ids_by_folder(cat)
        cat.edit_user_tags(ids["kangaroo"][:2], ["Rex"])
        cat.edit_user_tags(ids["kangaroo"][:2] + ids["okapi"][:1], ["pet"])
        cat.add_user_tag(ids["pizza"][0], "Café", source="xmp")
        for pid in ids["ketch"][:2]:
            cat.add_user_tag(pid, "Places|Holiday", source="xmp")
        for pid in ids["sunflower"][:2]:
            cat.add_user_tag(pid, "Kwyjibo", source="xmp")
    return db


@pytest.fixture
def window(qtbot, words_db, tmp_path, engine):
    win = MainWindow(words_db, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.engine is not None and win.words_model.rowCount() > 0, timeout=TIMEOUT)
    yield win
    win.close()


def _search(qtbot, win, text: str) -> None:
    win.search_ctl.search_for(text)
    _wait(qtbot, win)


def _wait(qtbot, win) -> None:
    qtbot.waitUntil(lambda: not win.search_ctl.searching and win.search_ctl.result is not None, timeout=TIMEOUT)


def _shown(win) -> list[int]:
    return [r.photo_id for r in win.model.rows()]


def _folders(win) -> list[str]:
    paths = win.catalog.photo_paths(_shown(win))
    return [paths[pid].parent.name for pid in _shown(win)]


def _links(label) -> list[tuple[str, str]]:
    """(text, href) of a rich-text label's links: what it shows and what a click on it emits."""
    return [(text, href) for href, text in re.findall(r"<a href='([^']*)'[^>]*>([^<]*)</a>", label.text())]


# ---------------------------------------------------------------------- the result line and the fold


def test_a_search_shows_its_matches_and_folds_the_weaker_results_away(window, qtbot):
    bar = window.result_bar
    assert bar.isHidden()  # the library: nothing to say over the grid
    qtbot.keyClicks(window.search_box, "kwyjibo")
    _wait(qtbot, window)
    result = window.search_ctl.result
    n = result.matches
    assert n == 2
    assert window.result_label.text() == "2 matches for “kwyjibo”"
    assert _shown(window) == [h.photo_id for h in result.hits if h.match]  # only the matches, best first
    assert _folders(window) == ["sunflower", "sunflower"]
    assert bar.isVisible() and bar.weaker.isVisible() and bar.weaker.text() == f"Show {PHOTOS - n} weaker results"
    assert not bar.suggestions.isVisible()

    qtbot.mouseClick(bar.weaker, Qt.MouseButton.LeftButton)
    assert _shown(window) == [h.photo_id for h in result.hits]  # the weaker ones after the matches
    assert bar.weaker.text() == "Hide weaker results"
    qtbot.mouseClick(bar.weaker, Qt.MouseButton.LeftButton)
    assert window.model.rowCount() == n and bar.weaker.text() == f"Show {PHOTOS - n} weaker results"

    window.search_box.clear()
    assert window.model.rowCount() == PHOTOS and window.result_label.text() == f"{PHOTOS} photos"
    assert bar.isHidden()


def test_unfolding_keeps_the_selection(window, qtbot):
    _search(qtbot, window, "kwyjibo")
    chosen = window.model.row(1).photo_id
    window.grid.selectionModel().setCurrentIndex(window.model.index(1),
                                                 QItemSelectionModel.SelectionFlag.ClearAndSelect)
    window.result_bar.weaker.click()
    assert window.grid.selected_ids() == [chosen] and window.grid.current_photo() == chosen
    assert window.details.photo_id == chosen
    _search(qtbot, window, "Rex")  # other photos: nothing selected, no stale photo in the details panel
    assert window.grid.selected_ids() == [] and window.details.photo_id is None


def test_a_word_that_finds_nothing_says_so_and_clicking_a_suggestion_searches_it(window, qtbot):
    bar = window.result_bar
    _search(qtbot, window, "kwyjibbo")  # a typo of the person's own word
    assert window.result_label.text() == "No photo matches “kwyjibbo”"
    assert window.model.rowCount() == 0
    assert bar.suggestions.isVisible() and bar.suggestions.text().startswith("Try: ")
    links = dict(_links(bar.suggestions))
    assert "Kwyjibo" in links
    assert bar.weaker.isVisible() and bar.weaker.text() == f"Show {PHOTOS} weaker results"  # still at hand

    bar.suggestions.linkActivated.emit(links["Kwyjibo"])
    assert window.search_box.text() == "Kwyjibo"
    _wait(qtbot, window)
    assert window.result_label.text() == "2 matches for “Kwyjibo”"
    assert _folders(window) == ["sunflower", "sunflower"] and not bar.suggestions.isVisible()


def test_a_made_up_word_matches_nothing_but_its_weaker_results_stay_at_hand(window, qtbot):
    _search(qtbot, window, "zorblax")
    assert window.result_label.text() == "No photo matches “zorblax”" and window.model.rowCount() == 0
    window.result_bar.weaker.click()
    assert window.model.rowCount() == PHOTOS


def test_find_similar_shows_its_whole_ranking_as_before(window, qtbot):
    photo = window.model.row(0).photo_id
    window.search_ctl.find_similar(photo)
    _wait_similar = lambda: not window.search_ctl.searching and window.model.rowCount() == PHOTOS - 1  # noqa: E731
    qtbot.waitUntil(_wait_similar, timeout=TIMEOUT)
    assert window.result_label.text() == f"{PHOTOS - 1} photos, best first"
    assert window.result_bar.isHidden()


def test_match_line_wording():
    def line(query, matches, tags=()):
        return match_line(SimpleNamespace(query=query, matches=matches, tags=list(tags)))

    assert line("dog", 12) == "12 matches for “dog”"
    assert line("dog", 1) == "1 match for “dog”"
    assert line("dog", 1234) == "1,234 matches for “dog”"
    assert line("zorblax", 0) == "No photo matches “zorblax”"
    assert line("", 3, ["pet"]) == "3 photos tagged “pet”"
    assert line("", 1, ["pet", "Rex"]) == "1 photo tagged “pet” and “Rex”"
    assert line("", 0, ["a", "b", "c"]) == "No photo is tagged “a”, “b” and “c”"
    assert line("dog", 2, ["pet"]) == "2 matches for “dog” tagged “pet”"
    assert line("cat", 0, ["pet"]) == "No photo tagged “pet” matches “cat”"
    assert line("x" * 100, 0) == f"No photo matches “{'x' * 39}…”"  # it sits beside the search box


def test_suggestions_never_offer_what_is_already_searched():
    def result(query, matches, suggestions, tags=()):
        return SimpleNamespace(query=query, matches=matches, suggestions=suggestions, tags=list(tags))

    assert worth_trying(result("pizzza", 0, ["pizza", "pita"])) == ["pizza", "pita"]
    assert worth_trying(result("dog", 3, ["puppy"])) == []  # it matches: nothing to suggest
    assert worth_trying(result("cafe", 0, ["Café", "pizza", "pet"], tags=["Pet"])) == ["pizza"]


def test_the_result_bar_gives_back_any_word_its_links_carry(qtbot):
    from tagger.gui.widgets import ResultBar

    bar = ResultBar()
    qtbot.addWidget(bar)
    words = ["grandma's house", "R&D <2024>", "Café/Bar"]
    bar.show_tags(words)
    bar.show_suggestions(words)
    assert "&lt;2024&gt;" in bar.tags.text()  # shown as text, never as markup
    removed, tried = [], []
    bar.tag_removed.connect(removed.append)
    bar.suggestion_clicked.connect(tried.append)
    for _, href in _links(bar.tags)[:3]:
        bar.tags.linkActivated.emit(href)
    for _, href in _links(bar.suggestions):
        bar.suggestions.linkActivated.emit(href)
    assert removed == words and tried == words


# ---------------------------------------------------------------------- the tag list


def _click_word(qtbot, win, text: str) -> None:
    view = win.tag_list.view
    row = win.tag_list.row_of(text)
    assert row is not None, f"{text} is not in the tag list"
    rect = view.visualRect(win.words_model.index(row, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def _listed(win) -> list[tuple[str, int, str]]:
    return [(w.text, w.count, w.source) for w in win.words_model.words()]


def test_the_tag_list_counts_tags_keywords_and_labels(window):
    assert _listed(window) == [("pet", 3, "tag"), ("Holiday", 2, "keyword"), ("Kwyjibo", 2, "keyword"),
                               ("Places", 2, "keyword"), ("Rex", 2, "tag"), ("Café", 1, "keyword")]  # most used first
    model = window.words_model
    assert model.index(0, 1).data() == "3"
    assert "keyword in the photos' files" in model.index(5, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert window.tag_list.title.text().endswith("(6)</span>")


def test_clicking_words_filters_the_grid_to_photos_carrying_all_of_them(window, qtbot, words_db):
    with Catalog.open(words_db) as cat:
        ids = ids_by_folder(cat)
    pets, rexes = set(ids["kangaroo"][:2] + ids["okapi"][:1]), set(ids["kangaroo"][:2])
    bar = window.result_bar

    _click_word(qtbot, window, "pet")
    _wait(qtbot, window)
    assert set(_shown(window)) == pets and window.result_label.text() == "3 photos tagged “pet”"
    assert window.search_ctl.tags == ["pet"] and bar.tags.isVisible() and "pet" in bar.tags.text()
    assert window.words_model.index(0, 0).data(Qt.ItemDataRole.FontRole).bold()  # the filter's words stand out

    _click_word(qtbot, window, "Rex")  # AND
    _wait(qtbot, window)
    assert set(_shown(window)) == rexes and window.result_label.text() == "2 photos tagged “pet” and “Rex”"
    chips = _links(bar.tags)
    assert [text for text, _ in chips] == ["×", "×", "clear"]

    bar.tags.linkActivated.emit(chips[0][1])  # the × of "pet"
    _wait(qtbot, window)
    assert window.search_ctl.tags == ["Rex"] and set(_shown(window)) == rexes

    _click_word(qtbot, window, "Rex")  # clicked again: the filter is off
    assert window.search_ctl.tags == [] and window.model.rowCount() == PHOTOS and bar.isHidden()

    _click_word(qtbot, window, "pet")  # with words in the box: searched among the tagged photos only
    qtbot.keyClicks(window.search_box, "kangaroo")
    qtbot.waitUntil(lambda: not window.search_ctl.searching and window.search_ctl.result.query == "kangaroo",
                    timeout=TIMEOUT)
    result = window.search_ctl.result
    assert result.considered == 3 and {h.photo_id for h in result.hits} == pets
    window.search_box.clear()  # the tagged photos again, not the library
    _wait(qtbot, window)
    assert set(_shown(window)) == pets
    window.search_ctl.show_all()  # View > Show all photos: no filter either
    assert window.model.rowCount() == PHOTOS and not window.search_ctl.tags


def test_the_search_box_completes_known_words_in_any_case_and_accent(window, qtbot):
    box, completer = window.search_box, window.tags_ctl.completer
    qtbot.keyClicks(box, "RE")
    assert completer.completions() == ["Rex"]
    box.clear()
    qtbot.keyClicks(box, "cafe")
    assert completer.completions() == ["Café"]
    box.clear()
    qtbot.keyClicks(box, "p")
    assert completer.completions() == ["pet", "Places"]  # most used first
    popup = completer.popup()
    qtbot.waitUntil(popup.isVisible)
    qtbot.keyClick(popup, Qt.Key.Key_Down)
    qtbot.keyClick(popup, Qt.Key.Key_Return)
    assert box.text() == "pet"  # as the person spells it
    _wait(qtbot, window)
    assert window.search_ctl.result.query == "pet"  # searched at once


def test_the_tag_list_follows_tag_edits_undo_labels_and_other_programs(window, qtbot, words_db, caltech_library):
    ctl = window.tags_ctl
    reads = ctl.reads
    ctl.timer.setInterval(50)
    time.sleep(0.3)
    qtbot.wait(300)
    assert ctl.reads == reads  # nothing changed: nothing read again

    window.grid.selectionModel().setCurrentIndex(window.model.index(0),
                                                 QItemSelectionModel.SelectionFlag.ClearAndSelect)
    window.details.new_tag.setText("Zebra crossing")
    window.details.new_tag.returnPressed.emit()
    qtbot.waitUntil(lambda: ("Zebra crossing", 1, "tag") in _listed(window), timeout=TIMEOUT)
    qtbot.keyClicks(window.search_box, "zeb")
    assert window.tags_ctl.completer.completions() == ["Zebra crossing"]
    window.search_box.clear()

    assert window.undo_ctl.undo()
    qtbot.waitUntil(lambda: "Zebra crossing" not in [w[0] for w in _listed(window)], timeout=TIMEOUT)

    folder = caltech_library / "okapi"
    assert window.labels_ctl.add_label(folder, "zoo animals")
    try:
        qtbot.waitUntil(lambda: ("zoo animals", 6, "label") in _listed(window), timeout=TIMEOUT)
    finally:
        assert window.labels_ctl.remove_label(folder)
    qtbot.waitUntil(lambda: "zoo animals" not in [w[0] for w in _listed(window)], timeout=TIMEOUT)

    with Catalog.open(words_db) as other:  # `tagger tag` in a terminal, while the app is open
        pid = other.indexed_ids()[0]
        other.edit_user_tags([pid], ["from the terminal"])
    try:
        qtbot.waitUntil(lambda: ("from the terminal", 1, "tag") in _listed(window), timeout=TIMEOUT)
    finally:
        with Catalog.open(words_db) as other:
            other.edit_user_tags([pid], [], ["from the terminal"])
