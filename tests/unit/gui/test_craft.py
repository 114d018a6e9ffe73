"""The app's craft (issue 15, "gui-craft"): the Library menu opens and creates libraries, the Help menu lists every
shortcut (from the window's own actions), says what runs and where the data lives; the first search shows a busy state
and ignores clicks until its results come; the status bar's progress bar keeps its width and its photo count follows
other processes; photos another process added get their thumbnails in a search; the versions table shows its labels
whole."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QFileDialog, QMessageBox, QPushButton

from tagger.gui.help_dialogs import AboutDialog, DataLocationsDialog, ShortcutsDialog, shortcut_rows
from tagger.gui.labels_panel import VersionsTable
from tagger.gui.main_window import MainWindow
from tagger.gui.status_bar import PROGRESS_WIDTH, StatusBar
from tagger.library.search import Hit

TIMEOUT = 20_000


@pytest.fixture
def window(qtbot, caltech_catalog, tmp_path):
    """A window on a private copy of the shared small catalog, no engine (nothing here needs one)."""
    shutil.copytree(caltech_catalog.parent, tmp_path / "lib")
    win = MainWindow(tmp_path / "lib" / caltech_catalog.name,
                     QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), start_engine=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.close()


def add_duplicates(db: Path, n: int) -> list[int]:
    """What ``tagger index`` in a terminal does to the catalog when it finds copies of photos already indexed: new rows
    (new paths) with the same content hashes, committed by another connection. Returns their ids."""
    conn = sqlite3.connect(db)
    with conn:
        src = conn.execute("SELECT id FROM photos WHERE status = 'indexed' ORDER BY id LIMIT ?", [n]).fetchall()
        cols = [d[0] for d in conn.execute("SELECT * FROM photos LIMIT 0").description if d[0] != "id"]
        new = []
        for (pid,) in src:
            picked = ", ".join("path_key || X'2D636F7079'" if c == "path_key" else "rel_path || '-copy'"
                               if c == "rel_path" else c for c in cols)
            cur = conn.execute(f"INSERT INTO photos ({', '.join(cols)}) SELECT {picked} FROM photos WHERE id = ?",
                               [pid])
            new.append(cur.lastrowid)
    conn.close()
    return new


# ------------------------------------------------------------------ the status bar and outside changes


def test_progress_bar_has_a_fixed_readable_width(qtbot):
    bar = StatusBar()
    qtbot.addWidget(bar)
    assert PROGRESS_WIDTH >= 160
    assert bar.progress.minimumWidth() == bar.progress.maximumWidth() == PROGRESS_WIDTH
    bar.eta_label.setText("about 3 min left")  # the text beside it changing never moves or squeezes it
    assert bar.eta_label.minimumWidth() >= bar.eta_label.fontMetrics().horizontalAdvance("about 59 min left")


def test_photo_count_and_grid_follow_photos_added_by_another_process(window, qtbot):
    before = window.catalog.counts()["indexed"]
    assert window.status_bar.counts_label.text() == f"{before:,} photos"
    new = add_duplicates(window.session.db_path, 3)
    qtbot.waitUntil(lambda: window.status_bar.counts_label.text() == f"{before + 3:,} photos", timeout=TIMEOUT)
    assert {r.photo_id for r in window.model.rows()} >= set(new)


def test_a_tag_added_by_another_process_shows_in_the_details(window, qtbot):
    """`tagger tag --add roo PHOTO` in a terminal while PHOTO is selected: the details panel's own tags follow."""
    from tagger.library.catalog import Catalog

    pid = window.model.row(0).photo_id
    assert window.grid.select_photo(pid)
    qtbot.waitUntil(lambda: window.details.photo_id == pid, timeout=TIMEOUT)
    assert window.details.user.count() == 0
    with Catalog.open(window.session.db_path) as other:  # another process's connection
        other.add_user_tag(pid, "roo")
    qtbot.waitUntil(lambda: [window.details.user.item(i).text() for i in range(window.details.user.count())]
                    == ["roo"], timeout=TIMEOUT)


def test_search_hits_of_photos_added_elsewhere_get_their_thumbnails(window, qtbot, tmp_path):
    window.library_watch.timer.stop()  # the search alone: the grid's library has not been read again
    originals = {r.photo_id: r.hash for r in window.model.rows()}
    new = add_duplicates(window.session.db_path, 2)
    search = window.search_ctl
    search.active = True
    search.search_done(search._search_seq, [Hit(pid, tmp_path / f"{pid}.jpg", 0.9, True) for pid in new])
    hashes = [window.model.row(i).hash for i in range(window.model.rowCount())]
    assert None not in hashes
    assert set(hashes) <= set(originals.values())


# ------------------------------------------------------------------ the first search


def test_a_search_waiting_for_the_model_is_busy_keeps_the_grid_and_ignores_clicks(window, qtbot):
    shown = window.model.rowCount()
    assert window.engine is None
    window.search_box.setText("kangaroo")
    window.search_ctl.search_timer.stop()
    window.search_ctl.run_search()
    assert window.result_label.text().startswith("Searching…")
    assert window.busy.isVisible()
    assert window.model.rowCount() == shown  # the grid is not cleared until results come
    assert window.grid.selectionMode() == QAbstractItemView.SelectionMode.NoSelection
    rect = window.grid.visualRect(window.model.index(0))
    qtbot.mouseClick(window.grid.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.grid.selected_ids() == []  # a click during the wait selects nothing the results would replace
    window.search_ctl.search_done(window.search_ctl._search_seq, [])
    assert not window.busy.isVisible()
    assert window.grid.selectionMode() == QAbstractItemView.SelectionMode.ExtendedSelection


def test_a_quick_search_shows_no_busy_indicator_but_a_slow_one_does(window, qtbot):
    window.search_ctl.session.engine = object()  # a search "runs": answered by hand below
    try:
        window.search_box.setText("kangaroo")
        window.search_ctl.search_timer.stop()
        window.search_ctl.run_search()
        assert window.result_label.text() == "Searching…"
        assert not window.busy.isVisible()  # not before ~300 ms: a quick search does not flash it
        qtbot.waitUntil(window.busy.isVisible, timeout=2000)
    finally:
        window.search_ctl.session.engine = None


# ------------------------------------------------------------------ the Library menu


def menu_action(win: MainWindow, menu: str, text: str) -> QAction:
    for top in win.menuBar().actions():
        if top.text().replace("&", "") == menu:
            for act in top.menu().actions():
                if act.text().replace("&", "") == text:
                    return act
    raise AssertionError(f"no {menu} > {text}")


def test_new_library_opens_an_empty_catalog_on_the_welcome_page(window, qtbot, monkeypatch, tmp_path):
    target = tmp_path / "new" / "family.db"
    target.parent.mkdir()
    monkeypatch.setattr(window.engine_ctl, "restart", lambda: None)  # no engine in these tests
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    menu_action(window, "Library", "New library…").trigger()
    assert window.session.db_path == target
    assert target.is_file()
    assert window.stack.currentWidget() is window.welcome
    assert window.welcome.choose.isEnabled()


def test_open_library_opens_a_catalog_and_refuses_other_files(window, qtbot, monkeypatch, tmp_path):
    first = window.session.db_path
    other = tmp_path / "other"
    shutil.copytree(first.parent, other)
    monkeypatch.setattr(window.engine_ctl, "restart", lambda: None)  # no engine in these tests
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(other / first.name), ""))
    menu_action(window, "Library", "Open library…").trigger()
    assert window.session.db_path == other / first.name
    assert window.stack.currentWidget() is window.main_page

    junk = tmp_path / "notes.db"
    junk.write_text("shopping list: milk, eggs\n" * 50)
    said = []
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(junk), ""))
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a, **k: said.append(text))
    menu_action(window, "Library", "Open library…").trigger()
    assert window.session.db_path == other / first.name  # the library open stays open
    assert said and "not a Tagger library" in said[0] and "Traceback" not in said[0]
    assert junk.read_text().startswith("shopping list")  # never touched


# ------------------------------------------------------------------ the Help menu


def test_shortcuts_dialog_lists_every_shortcut_including_a_new_action(window, qtbot):
    rows = dict(shortcut_rows(window))
    find = QKeySequence(QKeySequence.StandardKey.Find)
    assert rows["Search"] == find.toString(QKeySequence.SequenceFormat.NativeText)
    assert "Add folder…" in rows
    assert any("Undo" in name for name in rows)
    act = QAction("Frobnicate", window)
    act.setShortcut(QKeySequence("Ctrl+Alt+J"))
    window.addAction(act)
    dlg = ShortcutsDialog(window)
    qtbot.addWidget(dlg)
    texts = [dlg.table.item(i, 0).text() for i in range(dlg.table.rowCount())]
    assert "Frobnicate" in texts
    assert any(dlg.table.item(i, 1).text() == "Esc" for i in range(dlg.table.rowCount()))
    keys = {dlg.table.item(i, 0).text(): dlg.table.item(i, 1).text() for i in range(dlg.table.rowCount())}
    assert keys["Next photo (viewer)"].startswith("Right")  # the viewer's keys too, what then key
    assert keys["Enter the results (from the search box)"] == "Down / Page Down"


def test_about_and_data_locations(window, qtbot):
    about = AboutDialog(window)
    qtbot.addWidget(about)
    text = about.text.text()
    assert "0.1.0" in text
    assert "retinaface" in text.lower() and "licen" in text.lower()
    assert "loading" in text.lower()  # no engine yet: the model and provider say so
    where = DataLocationsDialog(window)
    qtbot.addWidget(where)
    shown = where.findChildren(QPushButton)
    assert len([b for b in shown if b.text() == "Open folder"]) == 4
    places = dict(where.places)
    assert places["Catalog"] == window.session.db_path
    assert places["Thumbnails"] == window.catalog.thumbnail_dir
    assert places["Settings"] == Path(window.settings.fileName())


# ------------------------------------------------------------------ versions


def test_versions_table_shows_long_labels_whole(qtbot):
    table = VersionsTable()
    qtbot.addWidget(table)
    table.resize(360, 300)
    table.show()
    labels = ["kangaroo", "sunflower", "grand piano", "motorbikes", "airplanes", "leopards", "watch", "ketch"]
    table.set_versions([{"version": 1, "created_at": 0, "labels": labels, "active": True,
                         "metrics": {"val_acc_before": 0.5, "val_acc_after": 0.9}}])
    item = table.item(0, 2)
    text_width = table.fontMetrics().horizontalAdvance(item.text())
    assert table.wordWrap()
    assert table.rowHeight(0) * table.columnWidth(2) >= text_width * table.fontMetrics().height()


def test_accuracy_says_it_is_cross_validated_over_every_labelled_photo(qtbot, tmp_path):
    """The one-click retraining measures its accuracy by cross-validation on all the labelled photos (no photos are
    set aside): the result says so and on how many, not "6 held-out photos"."""
    from types import SimpleNamespace

    from tagger.gui.labels_controller import LabelsController
    from tagger.gui.labels_panel import LabelsPanel
    from tagger.gui.session import Session

    panel = LabelsPanel()
    qtbot.addWidget(panel)
    versions = [{"version": 2, "metrics": {"n_train": 48, "history": []}}]
    session = Session(tmp_path / "c.db", catalog=SimpleNamespace(versions=lambda: versions))
    ctl = LabelsController.__new__(LabelsController)
    ctl.session = session
    report = SimpleNamespace(version=2, history=[], val_acc_before=0.5, val_acc_after=0.9,
                             labels={"cat": 24, "dog": 24}, seconds={"total": 1.0})
    text = ctl._report_text(report)
    assert "Accuracy (cross-validated)" in text and "over all 48 labelled photos" in text


# ------------------------------------------------------------------ the details panel


def test_details_preview_grows_with_the_panel(qtbot):
    from PySide6.QtGui import QColor, QPixmap

    from tagger.gui.widgets import DetailsPanel

    panel = DetailsPanel()
    qtbot.addWidget(panel)
    panel.resize(360, 560)  # the panel's size in a maximised 1440x900 window
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_photo(1, {"size": 1000, "width": 800, "height": 600}, Path("/photos/a.jpg"),
                     [], ["mine"])
    photo = QPixmap(800, 600)
    photo.fill(QColor("orange"))
    panel.set_preview(photo)
    qtbot.wait(10)
    assert panel.preview.height() >= 0.4 * panel.height()
    shown = panel.preview.pixmap().height()
    panel.resize(360, 800)
    qtbot.waitUntil(lambda: panel.preview.pixmap().height() > shown, timeout=2000)  # rescaled to the new room
    assert panel.preview.pixmap().width() <= panel.preview.width()
