"""First start and the keys of the main window (issue 15): the window fits a small screen with its status bar in view
(at first start, from a saved geometry, and with a long result line), the folder dialog starts in the Pictures folder
(or home), never where the process happened to start, Down from the search box enters the results, and the details
panel follows the selection: Esc, a new search or a changed result set empty it; dates read as dates."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QItemSelectionModel, QRect, QSettings, QStandardPaths, Qt
from PySide6.QtGui import QScreen
from PySide6.QtWidgets import QFileDialog

from tagger.gui.main_window import MainWindow
from tagger.gui.widgets import DetailsPanel

TIMEOUT = 60_000
LONG_LINE = "No photo with people matches “woman in a red coat walking a very small dog along the beach”"


@pytest.fixture
def settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


def small_screen(monkeypatch, width: int, height: int) -> QRect:
    """Every screen says it has this much room (what Tagger asks; the offscreen platform's own screen is bigger)."""
    room = QRect(0, 0, width, height)
    monkeypatch.setattr(QScreen, "availableGeometry", lambda self: QRect(room))
    return room


def assert_fits(win: MainWindow, room: QRect) -> None:
    frame = win.frameGeometry()
    assert room.contains(frame), f"window {frame} does not fit the screen {room}"
    bar = win.status_bar
    assert bar.isVisible()
    bottom = bar.mapToGlobal(bar.rect().bottomRight())
    assert room.contains(bottom), f"the status bar ends at {bottom}, off the screen {room}"


def open_window(qtbot, db: Path, settings: QSettings, *, engine: bool = False) -> MainWindow:
    win = MainWindow(db, settings, start_engine=engine)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    if engine:
        qtbot.waitUntil(lambda: win.engine is not None, timeout=TIMEOUT)
    return win


@pytest.mark.parametrize("size", [(1440, 900), (1024, 768), (800, 600)])
def test_first_start_fits_the_screen_with_its_status_bar(qtbot, monkeypatch, caltech_catalog, settings, size):
    room = small_screen(monkeypatch, *size)
    win = open_window(qtbot, caltech_catalog, settings)
    assert win.stack.currentWidget() is win.main_page
    assert_fits(win, room)
    win.close()


def test_a_saved_geometry_from_a_bigger_screen_is_fitted(qtbot, monkeypatch, caltech_catalog, settings):
    first = open_window(qtbot, caltech_catalog, settings)
    first.setGeometry(300, 200, 1400, 900)  # on a big monitor, moved to the right and down
    first.close()  # saves its geometry
    assert settings.value("window/geometry") is not None
    room = small_screen(monkeypatch, 1024, 768)  # then opened on a laptop
    win = open_window(qtbot, caltech_catalog, settings)
    assert_fits(win, room)
    win.close()


def test_a_long_result_line_is_elided_not_widening_the_window(qtbot, monkeypatch, caltech_catalog, settings):
    room = small_screen(monkeypatch, 800, 600)
    win = open_window(qtbot, caltech_catalog, settings)
    win.result_label.setText(LONG_LINE)
    win.result_label.setToolTip(LONG_LINE)
    qtbot.wait(50)
    assert win.minimumSizeHint().width() <= room.width()
    assert_fits(win, room)
    shown = win.result_label.shown_text()
    assert shown.endswith("…") and len(shown) < len(LONG_LINE)
    assert win.result_label.text() == LONG_LINE  # the whole line is still there (and in the tooltip)
    win.close()


def test_a_long_status_message_does_not_widen_the_window(qtbot, monkeypatch, caltech_catalog, settings):
    room = small_screen(monkeypatch, 800, 600)
    win = open_window(qtbot, caltech_catalog, settings)
    win.status_bar.notify("Could not add “beach”: " + "the disk is full, " * 20, 8000)
    qtbot.wait(50)
    assert win.minimumSizeHint().width() <= room.width()
    assert_fits(win, room)
    win.close()


def test_words_to_try_do_not_widen_the_window(qtbot, monkeypatch, caltech_catalog, settings):
    """A search that matched nothing offers words over the grid: many of them wrap, the window stays on screen."""
    room = small_screen(monkeypatch, 800, 600)
    win = open_window(qtbot, caltech_catalog, settings)
    win.result_bar.show_suggestions(["black ice", "dress hat", "hair shirt", "blue", "american black bear",
                                     "red wine", "fashion plate", "dust jacket"])
    win.result_bar.show_weaker(322, False)
    win.result_label.setText(LONG_LINE)
    qtbot.wait(50)
    assert win.minimumSizeHint().width() <= room.width()
    assert_fits(win, room)
    win.close()


def test_the_folder_dialog_starts_in_pictures_or_home(qtbot, monkeypatch, caltech_catalog, settings, tmp_path):
    asked: list[tuple] = []

    def fake_dialog(*args, **kwargs):
        asked.append(args + tuple(kwargs.values()))
        return ""  # cancelled

    workdir = tmp_path / "somewhere_else"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", fake_dialog)
    win = open_window(qtbot, caltech_catalog, settings)
    win.index_ctl.choose_folder()
    win.welcome.choose.click()
    pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    expected = pictures if pictures and Path(pictures).is_dir() else str(Path.home())
    assert len(asked) == 2
    for args in asked:
        assert len(args) >= 3, f"no start folder given: {args}"
        assert args[2] == expected and Path(args[2]) != workdir
    win.close()


def _select(win: MainWindow, row: int) -> int:
    index = win.model.index(row)
    win.grid.selectionModel().setCurrentIndex(index, QItemSelectionModel.SelectionFlag.ClearAndSelect)
    return win.model.row(row).photo_id


@pytest.mark.parametrize("key", [Qt.Key.Key_Down, Qt.Key.Key_PageDown])
def test_down_from_the_search_box_enters_the_results(qtbot, caltech_catalog, settings, key):
    win = open_window(qtbot, caltech_catalog, settings)
    win.activateWindow()
    win.search_box.setFocus()
    qtbot.waitUntil(win.search_box.hasFocus)
    assert not win.grid.selected_ids()
    qtbot.keyClick(win.search_box, key)
    assert win.grid.hasFocus()
    first = win.model.row(0).photo_id
    assert win.grid.selected_ids() == [first] and win.grid.current_photo() == first
    assert win.details.photo_id == first
    win.close()


def test_esc_clears_the_selection_and_the_details(qtbot, caltech_catalog, settings):
    win = open_window(qtbot, caltech_catalog, settings)
    win.activateWindow()
    shown = _select(win, 3)
    win.grid.setFocus()
    qtbot.waitUntil(win.grid.hasFocus)
    assert win.details.photo_id == shown
    qtbot.keyClick(win.grid, Qt.Key.Key_Escape)
    assert win.grid.selected_ids() == []
    assert win.details.photo_id is None and not win.details.isEnabled()
    assert win.details.preview.text() == "No photo selected"
    win.close()


def test_a_changed_result_set_empties_the_details(qtbot, caltech_catalog, settings):
    """The library read again (indexing finished, a folder removed): the grid's rows are replaced, which drops the
    selection without a word; the panel must not keep showing the photo."""
    win = open_window(qtbot, caltech_catalog, settings)
    shown = _select(win, 2)
    assert win.details.photo_id == shown
    win.reload_photos()
    assert win.details.photo_id in (set(win.grid.selected_ids()) | {None})
    assert win.details.photo_id is None or win.grid.current_photo() == shown
    win.close()


def test_a_new_search_empties_the_details(qtbot, caltech_catalog, settings):
    win = open_window(qtbot, caltech_catalog, settings, engine=True)
    shown = _select(win, 5)
    assert win.details.photo_id == shown
    win.search_ctl.search_for("kangaroo")
    qtbot.waitUntil(lambda: not win.search_ctl.searching and win.model.rowCount() > 0, timeout=TIMEOUT)
    assert win.grid.selected_ids() == []
    assert win.details.photo_id is None
    win.close()


def test_zooming_keeps_the_details_with_the_selection(qtbot, caltech_catalog, settings):
    win = open_window(qtbot, caltech_catalog, settings)
    shown = _select(win, 1)
    win.set_thumb_size(win.model.thumb_size + 32)
    assert win.details.photo_id in (set(win.grid.selected_ids()) | {None})
    assert win.grid.selected_ids() == [shown] and win.details.photo_id == shown  # a zoom changes no selection
    win.close()


def test_dates_are_shown_for_people_not_as_iso(qtbot):
    panel = DetailsPanel()
    qtbot.addWidget(panel)
    indexed = 1_700_000_000  # 14 Nov 2023, in some time zone
    panel.show_photo(7, {"taken_at": "2024-02-11T12:00:00", "indexed_at": indexed, "size": 2_400_000,
                         "width": 4000, "height": 3000, "format": "JPEG"}, Path("/photos/a.jpg"))
    facts = panel.facts.text()
    assert "11 Feb 2024, 12:00" in facts
    assert "2024-02-11" not in facts and "T12:00" not in facts
    assert "Nov 2023" in facts and "2023-11" not in facts
    panel.show_photo(8, {"taken_at": None, "indexed_at": indexed}, Path("/photos/b.jpg"))
    assert "unknown date" in panel.facts.text()
