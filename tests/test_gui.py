"""The desktop app, offscreen (pytest-qt): search as you type, tag clicks, selection clouds, indexing with cancel,
and starting with no catalog, a populated one and a damaged one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QItemSelectionModel, QSettings, QUrl  # noqa: E402

from tagger.catalog import Catalog  # noqa: E402
from tagger.gui.main_window import MainWindow  # noqa: E402
from tagger.indexer import Indexer  # noqa: E402

TIMEOUT = 60_000


@pytest.fixture(scope="module")
def populated_db(engine, caltech_library, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("gui") / "catalog.db"
    with Catalog.open(db) as cat:
        Indexer(cat, engine).index([caltech_library])
    return db


@pytest.fixture
def settings(tmp_path) -> QSettings:
    return QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def window(qtbot, populated_db, settings, engine):
    win = MainWindow(populated_db, settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.engine is not None, timeout=TIMEOUT)
    yield win
    win.close()


def _folders(win) -> list[str]:
    paths = win.catalog.photo_paths([r.photo_id for r in win.model.rows()])
    return [paths[r.photo_id].parent.name for r in win.model.rows()]


def test_starts_on_a_populated_catalog(window):
    assert window.stack.currentWidget() is window.main_page
    assert window.model.rowCount() == 48
    assert "48 photos" in window.counts_label.text()
    assert window.provider_label.text().strip() == "CPU"
    assert window.engine.model_id in window.model_label.text()


def test_typing_a_query_updates_the_grid(window, qtbot):
    qtbot.keyClicks(window.search_box, "kangaroo")
    qtbot.waitUntil(lambda: window.search_active and not window.searching and window.model.row(0).score is not None,
                    timeout=TIMEOUT)
    assert _folders(window)[:5] == ["kangaroo"] * 5
    scores = [r.score for r in window.model.rows()]
    assert scores == sorted(scores, reverse=True)
    window.search_box.clear()
    qtbot.waitUntil(lambda: window.model.row(0).score is None, timeout=TIMEOUT)
    assert window.model.rowCount() == 48


def test_clicking_a_tag_searches_it(window, qtbot):
    qtbot.waitUntil(lambda: bool(window.cloud.words), timeout=TIMEOUT)  # the whole-library cloud
    window.cloud.anchorClicked.emit(QUrl("tag:pizza"))
    assert window.search_box.text() == "pizza"
    qtbot.waitUntil(lambda: not window.searching and window.model.row(0).score is not None, timeout=TIMEOUT)
    assert _folders(window)[:4] == ["pizza"] * 4


def test_selecting_photos_updates_the_cloud_and_details(window, qtbot):
    rows = window.model.rows()
    okapis = [i for i, f in enumerate(_folders(window)) if f == "okapi"][:2]
    sel = window.grid.selectionModel()
    sel.setCurrentIndex(window.model.index(okapis[0]), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    sel.select(window.model.index(okapis[1]), QItemSelectionModel.SelectionFlag.Select)
    qtbot.waitUntil(lambda: not window.cloud_pending and "2 selected" in window.cloud._title, timeout=TIMEOUT)
    assert window.cloud.words
    assert window.details.photo_id == rows[okapis[0]].photo_id
    qtbot.waitUntil(lambda: window.details.preview.pixmap() is not None and not window.details.preview.pixmap().isNull(),
                    timeout=TIMEOUT)
    window.details.new_tag.setText("zoo trip")
    window.details.new_tag.returnPressed.emit()
    assert window.catalog.user_tags([rows[okapis[0]].photo_id])[rows[okapis[0]].photo_id] == ["zoo trip"]


def test_indexing_shows_progress_and_can_be_cancelled(qtbot, engine, caltech_library, tmp_path, settings):
    folder = tmp_path / "photos"
    for copy in ("a", "b", "c"):  # 144 photos: long enough to cancel half-way
        shutil.copytree(caltech_library, folder / copy)
    win = MainWindow(tmp_path / "new.db", settings)
    qtbot.addWidget(win)
    win.show()
    assert win.stack.currentWidget() is win.welcome  # a fresh catalog starts on the welcome page
    qtbot.waitUntil(lambda: win.engine is not None, timeout=TIMEOUT)
    seen = []
    win.add_folder(folder)
    assert win.stack.currentWidget() is win.main_page
    win.index_job.progress.connect(lambda s, d, t: seen.append((s, d, t)) or (s == "indexing" and win.cancel_indexing()))
    assert win.progress.isVisible() and win.cancel_button.isVisible()
    qtbot.waitUntil(lambda: not win.indexing and not win.progress.isVisible(), timeout=TIMEOUT)
    assert any(s == "indexing" for s, _, _ in seen)
    assert "cancelled" in win.message.text()
    done = win.catalog.counts()["indexed"]
    assert 0 < done < 144
    win.reindex()  # resumes
    qtbot.waitUntil(lambda: not win.indexing and not win.progress.isVisible(), timeout=TIMEOUT)
    assert win.catalog.counts()["indexed"] == 144 and win.model.rowCount() == 144
    win.close()


def test_damaged_catalog_shows_a_message_not_a_traceback(qtbot, tmp_path, settings):
    bad = tmp_path / "damaged.db"
    bad.write_bytes(b"SQLite format 3\x00" + b"\xff" * 5000)
    win = MainWindow(bad, settings, start_engine=False)
    qtbot.addWidget(win)
    win.show()
    assert win.catalog is None and win.stack.currentWidget() is win.welcome
    assert win.welcome.error.isVisible() and "damaged" in win.welcome.error.text()
    assert bad.read_bytes().startswith(b"SQLite format 3")  # left as it was
    win.close()


def test_geometry_and_thumbnail_size_are_remembered(qtbot, populated_db, settings):
    win = MainWindow(populated_db, settings, start_engine=False)
    qtbot.addWidget(win)
    win.show()
    win.resize(701, 551)  # the offscreen screen is 800x600: stay inside it
    win.set_thumb_size(200)
    win.close()
    again = MainWindow(populated_db, settings, start_engine=False)
    qtbot.addWidget(again)
    assert (again.size().width(), again.size().height()) == (701, 551) and again.model.thumb_size == 200
    again.close()


def test_screenshot_command(populated_db, caltech_library, tmp_path, engine):
    from tagger.gui.app import main

    photo = sorted((caltech_library / "pizza").glob("*.jpg"))[0]
    out = tmp_path / "shot.png"
    assert main(["--db", str(populated_db), "--screenshot", str(out), "--search", "pizza", "--select", str(photo),
                 "--settings", str(tmp_path / "s.ini"), "--size", "1000x700"]) == 0
    from PIL import Image

    assert Image.open(out).size == (1000, 700)
