"""The full-window viewer (issue 15): Enter opens it on the photo, Right/Left walk the grid's order, Esc comes back
with the viewed photo selected, fit and 100 % differ, originals decode off the GUI thread, a broken file says so, and
a tag added in the viewer is in the catalog (on that photo only) and undoable."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PIL import Image
from PySide6.QtCore import QItemSelectionModel, QPoint, QPointF, QSettings, QSize, Qt
from PySide6.QtGui import QDesktopServices, QImage

from tagger.gui import viewer_controller
from tagger.gui.main_window import MainWindow
from tagger.gui.viewer import clamp_offset, fit_scale
from tagger.library.catalog import Catalog, PhotoRecord

WIDTH, HEIGHT = 1600, 1200  # larger than the offscreen window: fit is under 100 %
BROKEN = "broken.jpg"


@pytest.fixture
def window(qtbot, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    names = [f"p{i}.jpg" for i in range(4)] + [BROKEN]
    for i, name in enumerate(names[:-1]):
        Image.new("RGB", (WIDTH, HEIGHT), (40 * i, 90, 160)).save(photos / name, quality=60)
    (photos / BROKEN).write_bytes(b"\xff\xd8\xff\xe0 this is not a photo" * 10)
    db = tmp_path / "c.db"
    with Catalog.open(db) as cat:
        rid = cat.add_root(photos).id
        rng = np.random.default_rng(0)
        cat.write_batch([PhotoRecord(rid, name.encode(), 100, 1_000 + i, "indexed", hash=f"h{i}", width=WIDTH,
                                     height=HEIGHT, format="JPEG", taken_at="2024-02-11T12:00:00",
                                     features=rng.standard_normal(16), top_classes=np.arange(3, dtype=np.int16),
                                     top_probs=np.array([0.5, 0.3, 0.2]),
                                     embedding=np.ones(8, np.float32) / np.sqrt(8), auto_tags=[])
                         for i, name in enumerate(names)], "lite0", "m")
    win = MainWindow(db, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), start_engine=False)
    qtbot.addWidget(win)
    win.show()
    win.resize(1000, 700)
    yield win
    win.close()


def _ids(win) -> list[int]:
    return [r.photo_id for r in win.model.rows()]


def _row_of(win, name: str) -> int:
    return next(i for i, r in enumerate(win.model.rows()) if r.name == name)


def _open_with_enter(win, qtbot, row: int) -> int:
    win.grid.setFocus()
    win.grid.selectionModel().setCurrentIndex(win.model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    qtbot.keyClick(win.grid, Qt.Key.Key_Return)
    return _ids(win)[row]


def _good_row(win) -> int:
    return 0 if win.model.row(0).name != BROKEN else 1


def test_enter_opens_the_viewer_on_that_photo_with_a_counter(window, qtbot):
    pid = _open_with_enter(window, qtbot, 1)
    assert window.stack.currentWidget() is window.viewer
    assert window.viewer_ctl.photo_id == pid
    assert window.viewer.counter.text() == "2 of 5"


def test_right_and_left_walk_the_grid_order_and_esc_returns_with_that_photo_selected(window, qtbot):
    ids = _ids(window)
    _open_with_enter(window, qtbot, 0)
    viewer = window.viewer
    qtbot.keyClick(viewer.canvas, Qt.Key.Key_Right)
    qtbot.keyClick(viewer.canvas, Qt.Key.Key_Right)
    assert window.viewer_ctl.photo_id == ids[2] and viewer.counter.text() == "3 of 5"
    qtbot.keyClick(viewer.canvas, Qt.Key.Key_Left)
    assert window.viewer_ctl.photo_id == ids[1]
    qtbot.keyClick(viewer.canvas, Qt.Key.Key_End)
    assert window.viewer_ctl.photo_id == ids[-1] and viewer.counter.text() == "5 of 5"
    qtbot.keyClick(viewer.canvas, Qt.Key.Key_Right)  # no wrapping: the last stays
    assert window.viewer_ctl.photo_id == ids[-1]
    qtbot.keyClick(viewer.canvas, Qt.Key.Key_Home)
    qtbot.keyClick(viewer.canvas, Qt.Key.Key_PageDown)
    assert window.viewer_ctl.photo_id == ids[1]
    viewer.next_button.click()
    assert window.viewer_ctl.photo_id == ids[2]

    qtbot.keyClick(viewer.canvas, Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is window.main_page
    assert window.grid.selected_ids() == [ids[2]]  # the window's own Esc (drop the selection) did not run too
    assert window.grid.current_photo() == ids[2]


def test_fit_and_100_percent_change_the_scale(window, qtbot):
    _open_with_enter(window, qtbot, _good_row(window))
    canvas = window.viewer.canvas
    qtbot.waitUntil(lambda: canvas.full_resolution, timeout=10_000)
    assert canvas.scale() < 1.0  # fit: a 1600x1200 photo in a 1000x700 window
    qtbot.keyClick(canvas, Qt.Key.Key_1)
    assert canvas.scale() == 1.0
    qtbot.keyClick(canvas, Qt.Key.Key_F)
    assert canvas.scale() < 1.0
    qtbot.keyClick(canvas, Qt.Key.Key_Z)
    assert canvas.scale() == 1.0
    qtbot.keyClick(canvas, Qt.Key.Key_Z)
    assert canvas.scale() < 1.0


def test_originals_decode_off_the_gui_thread_and_the_next_one_is_ready(window, qtbot, monkeypatch):
    threads = []
    real = viewer_controller.open_upright

    def recording(path, *args, **kwargs):
        threads.append(threading.current_thread())
        return real(path, *args, **kwargs)

    monkeypatch.setattr(viewer_controller, "open_upright", recording)
    row = _good_row(window)
    _open_with_enter(window, qtbot, row)
    canvas = window.viewer.canvas
    assert not canvas.full_resolution  # the stored thumbnail (or nothing) at once, the original later
    qtbot.waitUntil(lambda: canvas.full_resolution, timeout=10_000)
    assert threads and all(t is not threading.main_thread() for t in threads)
    nxt = _ids(window)[row + 1]
    qtbot.waitUntil(lambda: nxt in window.viewer_ctl.cached(), timeout=10_000)  # pre-decoded for fast flipping
    assert len(window.viewer_ctl.cached()) <= 3


def test_a_stale_decode_is_dropped(window, qtbot):
    ids = _ids(window)
    _open_with_enter(window, qtbot, 0)
    canvas = window.viewer.canvas
    qtbot.keyClick(canvas, Qt.Key.Key_End)  # moved on before the first photo arrived
    window.viewer_ctl.decoded(ids[0], QImage(10, 10, QImage.Format.Format_RGB32), "")
    assert canvas.image_size() != (10, 10)  # the photo moved away from is not shown


def test_a_broken_file_says_so_in_the_viewer(window, qtbot):
    _open_with_enter(window, qtbot, _row_of(window, BROKEN))
    canvas = window.viewer.canvas
    qtbot.waitUntil(lambda: bool(canvas.message), timeout=10_000)
    assert "Cannot show" in canvas.message and "broken.jpg" in canvas.message
    assert window.stack.currentWidget() is window.viewer


def test_a_tag_added_in_the_viewer_is_on_that_photo_only_and_undoable(window, qtbot):
    sel = window.grid.selectionModel()
    for r in (0, 2, 1):  # three selected, the second current: the viewer still edits only the photo it shows
        sel.setCurrentIndex(window.model.index(r), QItemSelectionModel.SelectionFlag.Select)
    ids = _ids(window)
    window.grid.setFocus()
    qtbot.keyClick(window.grid, Qt.Key.Key_Return)
    assert window.viewer_ctl.photo_id == ids[1]
    box = window.viewer.new_tag
    box.setFocus()
    qtbot.keyClicks(box, "rex")
    qtbot.keyClick(box, Qt.Key.Key_Return)
    tags = window.catalog.user_tags(ids[:3])
    assert tags.get(ids[1]) == ["rex"] and not tags.get(ids[0]) and not tags.get(ids[2])
    assert [window.viewer.user.item(i).text() for i in range(window.viewer.user.count())] == ["rex"]
    assert window.undo_ctl.undo()
    assert not window.catalog.user_tags([ids[1]]).get(ids[1])
    assert window.viewer.user.count() == 0


def test_photo_open_opens_the_viewer_and_the_default_app_failure_is_said(window, qtbot, monkeypatch):
    ids = _ids(window)
    window.grid.select_photo(ids[0])
    opened = [a for a in window.menuBar().actions() if a.text() == "&Photo"][0].menu().actions()
    by_text = {a.text(): a for a in opened}
    by_text["&Open"].trigger()
    assert window.stack.currentWidget() is window.viewer
    qtbot.keyClick(window.viewer.canvas, Qt.Key.Key_Right)
    notices, urls = [], []
    window.details_ctl.notice.connect(lambda text, _ms: notices.append(text))
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: urls.append(url) or False))
    by_text["Open in &default app"].trigger()  # the photo on screen, not the one the viewer opened on
    assert urls[0].toLocalFile() == str(window.catalog.photo_paths([ids[1]])[ids[1]])
    assert notices and "No app" in notices[0] and "Photo > Open" in notices[0]
    qtbot.keyClick(window.viewer.canvas, Qt.Key.Key_Escape)
    assert window.stack.currentWidget() is window.main_page


def test_a_photo_larger_than_the_window_pans_by_dragging_but_never_off_screen(window, qtbot):
    _open_with_enter(window, qtbot, _good_row(window))
    canvas = window.viewer.canvas
    qtbot.waitUntil(lambda: canvas.full_resolution, timeout=10_000)
    qtbot.keyClick(canvas, Qt.Key.Key_1)
    centre = canvas.rect().center()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseMove(canvas, centre + QPoint(5000, 40))  # far past the photo's edge
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=centre + QPoint(5000, 40))
    assert canvas.offset().x() == (WIDTH - canvas.width()) / 2  # its left edge stops at the window's
    assert canvas.offset().y() == 40
    qtbot.keyClick(canvas, Qt.Key.Key_F)
    assert canvas.offset() == QPointF(0, 0)  # fitted: centred


def test_clamp_offset_and_fit_scale():
    area = QSize(1000, 700)
    assert fit_scale(QSize(1600, 1200), area) == pytest.approx(700 / 1200)
    assert fit_scale(QSize(300, 200), area) == 1.0  # a small photo is not blown up
    assert clamp_offset(QPointF(900, -900), (1600, 1200), area) == QPointF(300, -250)
    assert clamp_offset(QPointF(50, 50), (400, 300), area) == QPointF(0, 0)


def test_the_strip_shows_the_automatic_tags_and_a_click_searches_them(qtbot, caltech_catalog, tmp_path, engine):
    """Beside the photo, its automatic tags as in the details panel; clicking one goes back to the grid searching it."""
    import shutil

    shutil.copytree(caltech_catalog.parent, tmp_path / "lib")
    win = MainWindow(tmp_path / "lib" / caltech_catalog.name,
                     QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.engine is not None and win.model.rowCount() > 0, timeout=60_000)
    pid = _open_with_enter(win, qtbot, 0)
    assert win.viewer_ctl.photo_id == pid
    qtbot.waitUntil(lambda: bool(win.viewer.auto.words), timeout=10_000)
    word = win.viewer.auto.words[0]
    win.viewer.auto.tag_clicked.emit(word)
    assert win.stack.currentWidget() is win.main_page
    assert win.search_box.text() == word
    win.close()
