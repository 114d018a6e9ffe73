"""People and printed text in the desktop app (issue 14): the People button keeps the photos with faces and combines
with a text search and the tag filter, the result line says so, the details panel shows a photo's faces count and the
text printed in it, a hit found by faces or printed text says so in the grid, and the indexing status bar shows the
stages after "indexing" (finding faces, reading text) with a determinate progress bar."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, Qt

from tagger.gui.main_window import MainWindow
from tagger.gui.search_controller import match_line
from tagger.library.catalog import Catalog
from tagger.library.catalog_detections import StoredFace, StoredLine
from tagger.library.indexer import Indexer
from tests.shared import ids_by_folder

TIMEOUT = 60_000
PHOTOS = 48  # 8 folders of 6 photos
FACE = StoredFace(0.35, 0.2, 0.3, 0.4, 0.97)  # one big, sure face: a portrait
TEXT = [StoredLine("HARBOUR CRUISES", (0.1, 0.1, 0.6, 0.08), 0.93),
        StoredLine("Quillfeather Ferry Co.", (0.1, 0.2, 0.5, 0.06), 0.9)]


@pytest.fixture(scope="module")
def people_db(engine, caltech_library, tmp_path_factory) -> Path:
    """The small library indexed without the detectors, then faces put on two pizzas and an airplane and text on a
    ketch, so the test knows exactly which photos have what (whatever the real detectors would find), and the tag
    "zoo" on a pizza with a face and an okapi without one."""
    db = tmp_path_factory.mktemp("people") / "catalog.db"
    with Catalog.open(db) as cat:
        Indexer(cat, engine, people=False, text=False).index([caltech_library])
        ids = ids_by_folder(cat)
        hashes = dict(cat.photo_hashes(cat.indexed_ids()))
        with cat.transaction():
            for pid in cat.indexed_ids():  # every photo looked at: nothing found but what is put below
                cat.put_faces(pid, [], "test", hashes[pid])
                cat.put_text(pid, [], "test", hashes[pid])
            for pid in ids["pizza"][:2] + ids["airplanes"][:1]:
                cat.put_faces(pid, [FACE], "test", hashes[pid])
            cat.put_text(ids["ketch"][0], TEXT, "test", hashes[ids["ketch"][0]])
        cat.edit_user_tags([ids["pizza"][0], ids["okapi"][0]], ["zoo"])
    return db


@pytest.fixture
def ids(people_db) -> dict[str, list[int]]:
    with Catalog.open(people_db) as cat:
        return ids_by_folder(cat)


@pytest.fixture
def window(qtbot, people_db, tmp_path, engine):
    win = MainWindow(people_db, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.engine is not None, timeout=TIMEOUT)
    yield win
    win.close()


def _wait(qtbot, win) -> None:
    qtbot.waitUntil(lambda: not win.search_ctl.searching and win.search_ctl.result is not None, timeout=TIMEOUT)


def _shown(win) -> list[int]:
    return [r.photo_id for r in win.model.rows()]


# ---------------------------------------------------------------------- the People filter


def test_the_people_button_shows_the_photos_with_faces(window, qtbot, ids):
    with_faces = ids["pizza"][:2] + ids["airplanes"][:1]
    button = window.people_button
    assert button.isVisible() and button.isCheckable() and not button.isChecked()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    _wait(qtbot, window)
    assert sorted(_shown(window)) == sorted(with_faces)
    assert window.result_label.text() == "3 photos with people"
    assert all(r.score is None for r in window.model.rows())  # a filter, not a ranking: names under the photos

    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # off again: the whole library
    assert not button.isChecked()
    assert window.model.rowCount() == PHOTOS and window.result_label.text() == f"{PHOTOS} photos"


def test_people_combine_with_a_text_search_and_the_tag_filter(window, qtbot, ids):
    search = window.search_ctl
    search.search_for("pizza")
    _wait(qtbot, window)
    everywhere = window.search_ctl.result.matches
    assert everywhere >= 4  # the six pizzas, with or without faces

    window.people_button.click()
    _wait(qtbot, window)
    assert window.search_box.text() == "pizza"  # the words stay
    assert sorted(_shown(window)) == sorted(ids["pizza"][:2])
    assert window.result_label.text() == "2 matches for “pizza” with people"
    window.result_bar.weaker.click()  # the weaker results too are photos with people only
    assert set(_shown(window)) <= set(ids["pizza"][:2] + ids["airplanes"][:1])

    search.toggle_tag("zoo")  # the tag filter too: the airplane tagged "zoo" that has a face
    _wait(qtbot, window)
    assert _shown(window) == [ids["pizza"][0]]
    assert window.result_label.text() == "1 match for “pizza” tagged “zoo” with people"

    window.search_box.clear()  # no words: the tagged photos with people
    _wait(qtbot, window)
    assert _shown(window) == [ids["pizza"][0]]
    assert window.result_label.text() == "1 photo tagged “zoo” with people"

    search.show_all()  # Ctrl+Shift+A drops every filter, People too
    assert not window.people_button.isChecked() and not search.people
    assert window.model.rowCount() == PHOTOS


def test_find_similar_drops_the_people_filter(window, qtbot, ids):
    window.people_button.click()
    _wait(qtbot, window)
    window.search_ctl.find_similar(ids["okapi"][0])  # photos that look alike in the whole library
    qtbot.waitUntil(lambda: not window.search_ctl.searching and window.model.rowCount() == PHOTOS - 1,
                    timeout=TIMEOUT)
    assert not window.people_button.isChecked()


def test_the_result_line_says_people():
    def line(query, matches, tags=(), people=True):
        return match_line(SimpleNamespace(query=query, matches=matches, tags=list(tags)), people=people)

    assert line("", 12) == "12 photos with people"
    assert line("", 1) == "1 photo with people"
    assert line("", 0) == "No photo with people"
    assert line("beach", 3) == "3 matches for “beach” with people"
    assert line("beach", 0) == "No photo with people matches “beach”"
    assert line("", 2, ["pet"]) == "2 photos tagged “pet” with people"
    assert line("", 0, ["pet"]) == "No photo tagged “pet” has people"
    assert line("dog", 1, ["pet"]) == "1 match for “dog” tagged “pet” with people"
    assert line("dog", 0, ["pet"]) == "No photo tagged “pet” with people matches “dog”"
    assert line("dog", 2, people=False) == "2 matches for “dog”"  # as before without the filter


# ---------------------------------------------------------------------- why a photo was found


def test_a_photo_found_by_its_printed_text_says_so(window, qtbot, ids):
    window.search_ctl.search_for("quillfeather")  # a word only the ketch's printed text holds
    _wait(qtbot, window)
    assert _shown(window)[:1] == [ids["ketch"][0]]
    assert window.search_ctl.result.hits[0].why == "text"
    index = window.model.index(0)
    assert "text in the photo" in index.data(Qt.ItemDataRole.ToolTipRole)
    assert "text" in index.data(Qt.ItemDataRole.DisplayRole)


def test_why_reads_as_words():
    from tagger.gui.grid import why_text

    assert why_text("faces") == "found by the people in it"
    assert why_text("text") == "found by the text in the photo"
    assert why_text("meaning") == "found by its meaning"
    assert why_text("") == ""


# ---------------------------------------------------------------------- the details panel


def test_the_details_panel_shows_faces_and_printed_text(window, qtbot, ids):
    details = window.details
    assert window.grid.select_photo(ids["pizza"][0])
    assert details.photo_id == ids["pizza"][0]
    assert "Faces: 1" in details.facts.text()
    assert details.text_box.isHidden() and details.text_title.isHidden()  # no printed text: no section

    assert window.grid.select_photo(ids["ketch"][0])
    assert "Faces: 0" in details.facts.text()
    assert details.text_box.isVisible() and details.text_title.isVisible()
    assert details.text_box.toPlainText() == "HARBOUR CRUISES\nQuillfeather Ferry Co."
    assert details.text_box.isReadOnly()
    flags = details.text_box.textInteractionFlags()
    assert flags & Qt.TextInteractionFlag.TextSelectableByMouse  # copyable
    lines = details.text_box.fontMetrics().lineSpacing()
    assert 3 * lines <= details.text_box.maximumHeight() <= 8 * lines  # a few lines high, scrolls beyond

    window.grid.selectionModel().clearSelection()
    assert details.photo_id is None and details.text_box.isHidden() and "Faces" not in details.facts.text()

    # a photo nobody has looked at for faces yet (indexed before, or with --no-people) says nothing, not "0"
    catalog = window.session.catalog
    with catalog.transaction():
        catalog.db.execute("DELETE FROM detections WHERE photo_id = ? AND kind = 'faces'", [ids["okapi"][1]])
    assert window.grid.select_photo(ids["okapi"][1])
    assert "Faces" not in details.facts.text()


# ---------------------------------------------------------------------- indexing progress


def test_the_stages_after_indexing_show_a_progress_bar(window, qtbot, monkeypatch, tmp_path):
    import threading

    from tagger.gui.services import IndexJob
    from tagger.library.indexer import IndexStats

    connected, go_on = threading.Event(), threading.Event()

    def work(job, catalog):  # the stages the indexer reports, each one waiting until the test has looked at it
        connected.wait(TIMEOUT / 1000)
        for stage, done, total in (("indexing", 10, 10), ("finding faces", 120, 800), ("reading text", 3, 12)):
            job.report(stage, done, total)
            go_on.wait(TIMEOUT / 1000)
            go_on.clear()
        return IndexStats()

    monkeypatch.setattr(IndexJob, "work", work)
    status, seen = window.status_bar, []

    def look(stage, done, total):  # connected after the controller's slot: the stage is on screen already
        seen.append((stage, status.progress.minimum(), status.progress.maximum(), status.progress.value(),
                     status.progress.isVisible(), status.eta_label.text()))
        go_on.set()

    window.index_ctl.start([tmp_path])
    window.index_ctl.job.progress.connect(look)
    connected.set()
    qtbot.waitUntil(lambda: not window.index_ctl.running and not status.progress.isVisible(), timeout=TIMEOUT)
    faces = next(s for s in seen if s[0] == "finding faces")
    text = next(s for s in seen if s[0] == "reading text")
    assert faces[1:5] == (0, 800, 120, True) and faces[5].startswith("finding faces 120/800")
    assert text[1:5] == (0, 12, 3, True) and text[5].startswith("reading text 3/12")


def test_screenshot_with_the_people_filter(people_db, tmp_path, engine):
    from PIL import Image

    from tagger.gui.app import main

    out = tmp_path / "people.png"
    assert main(["--db", str(people_db), "--screenshot", str(out), "--people", "--search", "pizza",
                 "--settings", str(tmp_path / "s.ini"), "--size", "1000x700"]) == 0
    assert Image.open(out).size == (1000, 700)
