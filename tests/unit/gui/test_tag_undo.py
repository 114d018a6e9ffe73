"""Tag edits in the desktop app apply to every selected photo, through the catalog's one batch edit, and Undo (Ctrl+Z,
Edit > Undo tag change, the status bar's link) puts back exactly what was there: a tag some photos already had stays
on them."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QItemSelectionModel, QSettings, Qt
from PySide6.QtWidgets import QPushButton

from tagger.gui.main_window import MainWindow
from tagger.library.catalog import Catalog, PhotoRecord


@pytest.fixture
def window(qtbot, tmp_path):
    db = tmp_path / "c.db"
    with Catalog.open(db) as cat:
        rid = cat.add_root(tmp_path).id
        rng = np.random.default_rng(0)
        cat.write_batch([PhotoRecord(rid, f"p{i}.jpg".encode(), 100, 1_000 + i, "indexed", hash=f"h{i}",
                                     features=rng.standard_normal(16), top_classes=np.arange(3, dtype=np.int16),
                                     top_probs=np.array([0.5, 0.3, 0.2]),
                                     embedding=np.ones(8, np.float32) / np.sqrt(8), auto_tags=[])
                         for i in range(4)], "lite0", "m")
    win = MainWindow(db, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), start_engine=False)
    qtbot.addWidget(win)
    win.show()
    yield win
    win.close()


def _select(win, rows: list[int]) -> list[int]:
    """Select these grid rows (the last one current, as a shift/ctrl-click leaves it); their photo ids."""
    sel = win.grid.selectionModel()
    sel.clearSelection()
    for r in rows:
        sel.setCurrentIndex(win.model.index(r), QItemSelectionModel.SelectionFlag.Select)
    return [win.model.row(r).photo_id for r in rows]


def _rows(win) -> list[tuple]:
    return win.catalog.db.execute(
        "SELECT photo_id, tag, source, added_at FROM user_tags ORDER BY photo_id, tag").fetchall()


def test_a_tag_goes_to_every_selected_photo_and_ctrl_z_takes_it_back(window, qtbot):
    a, b, c = _select(window, [0, 1, 2])
    other = window.model.row(3).photo_id
    window.catalog.add_user_tag(c, "beach", source="xmp")  # c had it already (read from its file)
    before = _rows(window)
    assert not window.undo_ctl.action.isEnabled()

    box = window.details.new_tag
    qtbot.keyClicks(box, "beach")
    qtbot.keyClick(box, Qt.Key.Key_Return)

    tags = window.catalog.user_tags([a, b, c, other])
    assert tags == {a: ["beach"], b: ["beach"], c: ["beach"]}
    message = window.status_bar.message.text()
    assert "beach" in message and "2 photos" in message and "Undo" in message
    assert window.undo_ctl.action.isEnabled()
    assert [window.details.user.item(i).text() for i in range(window.details.user.count())] == ["beach"]

    qtbot.keyClick(box, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # focus still in the emptied box

    assert _rows(window) == before  # a and b lost it; c keeps it, with its source and date
    assert not window.undo_ctl.action.isEnabled()
    assert "Undid" in window.status_bar.message.text()


def test_removing_from_a_selection_and_undo_from_the_menu_and_the_status_bar(window, qtbot):
    ids = _select(window, [0, 1, 2])
    window.details_ctl.add_user_tag(window.grid.current_photo(), "sea")
    assert all(window.catalog.user_tags(ids)[pid] == ["sea"] for pid in ids)

    panel = window.details
    panel.user.setCurrentItem(panel.user.findItems("sea", Qt.MatchFlag.MatchExactly)[0])
    next(b for b in panel.findChildren(QPushButton) if b.text() == "Remove").click()
    assert window.catalog.user_tags(ids) == {}
    assert "Removed" in window.status_bar.message.text() and "3 photos" in window.status_bar.message.text()

    window.status_bar.message.linkActivated.emit("undo")  # the status bar's "Undo" link
    assert all(window.catalog.user_tags(ids)[pid] == ["sea"] for pid in ids)
    edit_menu = next(m for m in window.menuBar().actions() if m.text() == "&Edit").menu()
    assert window.undo_ctl.action in edit_menu.actions()
    window.undo_ctl.action.trigger()  # Edit > Undo tag change: the add goes too
    assert window.catalog.user_tags(ids) == {}
    assert not window.undo_ctl.action.isEnabled()


def test_reopening_another_catalog_forgets_the_undo(window, qtbot):
    _select(window, [0])
    window.details_ctl.add_user_tag(window.grid.current_photo(), "sea")
    assert window.undo_ctl.action.isEnabled()
    window.open_catalog()
    assert not window.undo_ctl.action.isEnabled()


def test_an_undo_the_catalog_refuses_is_said_and_stays_undoable(window, monkeypatch):
    import sqlite3

    _select(window, [0])
    pid = window.grid.current_photo()
    window.details_ctl.add_user_tag(pid, "sea")

    def locked(*_args):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(window.catalog, "undo_tag_edit", locked)
    assert window.undo_ctl.undo() is False
    assert "Could not undo" in window.status_bar.message.text() and window.undo_ctl.action.isEnabled()
    monkeypatch.undo()
    assert window.undo_ctl.undo() is True and window.catalog.user_tags([pid]) == {}
