"""The desktop app, offscreen (pytest-qt): search as you type, tag clicks, selection clouds, indexing with cancel,
starting with no catalog, a populated one and a damaged one, and the labels & retraining panel."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QItemSelectionModel, QSettings, QUrl

from tagger.gui.main_window import MainWindow
from tagger.library.catalog import Catalog
from tagger.library.indexer import Indexer

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
    assert "48 photos" in window.status_bar.counts_label.text()
    assert window.status_bar.provider_label.text().strip() == "CPU"
    model_label = window.status_bar.model_label
    assert model_label.text() == "model: untrained" and window.engine.model_id in model_label.toolTip()


def test_typing_a_query_updates_the_grid(window, qtbot):
    qtbot.keyClicks(window.search_box, "kangaroo")
    search = window.search_ctl
    qtbot.waitUntil(lambda: search.active and not search.searching and window.model.row(0).score is not None,
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
    qtbot.waitUntil(lambda: not window.search_ctl.searching and window.model.row(0).score is not None, timeout=TIMEOUT)
    assert _folders(window)[:4] == ["pizza"] * 4


def test_selecting_photos_updates_the_cloud_and_details(window, qtbot):
    rows = window.model.rows()
    okapis = [i for i, f in enumerate(_folders(window)) if f == "okapi"][:2]
    sel = window.grid.selectionModel()
    sel.setCurrentIndex(window.model.index(okapis[0]), QItemSelectionModel.SelectionFlag.ClearAndSelect)
    sel.select(window.model.index(okapis[1]), QItemSelectionModel.SelectionFlag.Select)
    qtbot.waitUntil(lambda: not window.search_ctl.cloud_pending and "2 selected" in window.cloud._title,
                    timeout=TIMEOUT)
    assert window.cloud.words
    assert window.details.photo_id == rows[okapis[0]].photo_id
    preview = window.details.preview
    qtbot.waitUntil(lambda: preview.pixmap() is not None and not preview.pixmap().isNull(), timeout=TIMEOUT)
    window.details.new_tag.setText("  zoo   trip ")  # tidied as the command line does
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
    win.index_ctl.add_folder(folder)
    assert win.stack.currentWidget() is win.main_page
    indexing, status = win.index_ctl, win.status_bar
    indexing.job.progress.connect(lambda s, d, t: seen.append((s, d, t)) or (s == "indexing" and indexing.cancel()))
    assert status.progress.isVisible() and status.cancel_button.isVisible()
    qtbot.waitUntil(lambda: not indexing.running and not status.progress.isVisible(), timeout=TIMEOUT)
    assert any(s == "indexing" for s, _, _ in seen)
    assert "cancelled" in win.status_bar.message.text()
    done = win.catalog.counts()["indexed"]
    assert 0 < done < 144
    win.index_ctl.reindex()  # resumes
    qtbot.waitUntil(lambda: not win.index_ctl.running and not win.status_bar.progress.isVisible(), timeout=TIMEOUT)
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


# ---------------------------------------------------------------------- labels & retraining panel

TRAIN_TIMEOUT = 300_000
FAST = {"epochs": 3, "patience": 3, "batch_size": 16}  # seconds, not minutes: the panel is under test, not the model


@pytest.fixture
def fresh_db(populated_db, tmp_path) -> Path:
    """A private copy of the indexed small library's catalog: labels and versions written here stay here."""
    shutil.copytree(populated_db.parent, tmp_path / "lib")
    return tmp_path / "lib" / populated_db.name


def _open(qtbot, db: Path, settings) -> MainWindow:
    win = MainWindow(db, settings)
    qtbot.addWidget(win)
    win.show()
    win.side_tabs.setCurrentWidget(win.labels_panel)
    qtbot.waitUntil(lambda: win.engine is not None, timeout=TIMEOUT)
    return win


def _select(table, column: int, text: str) -> None:
    row = next(i for i in range(table.rowCount()) if table.item(i, column).text().strip() == text)
    table.selectRow(row)


def _table(table) -> list[tuple[str, ...]]:
    return [tuple(table.item(i, j).text() for j in range(table.columnCount())) for i in range(table.rowCount())]


def test_labels_can_be_added_renamed_and_removed(qtbot, fresh_db, settings, caltech_library, tmp_path, monkeypatch):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QFileDialog, QInputDialog

    win = _open(qtbot, fresh_db, settings)
    panel, labels = win.labels_panel, win.labels_ctl
    assert panel.table.rowCount() == 0 and not panel.training.retrain.isEnabled()  # nothing to train on yet
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(caltech_library / "kangaroo"))
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("  roo ", True))
    qtbot.mouseClick(panel.add_button, Qt.MouseButton.LeftButton)
    assert _table(panel.table) == [("roo", "kangaroo", "6")]
    assert labels.add_label(caltech_library / "okapi", "okapi")
    assert _table(panel.table) == [("okapi", "okapi", "6"), ("roo", "kangaroo", "6")]
    assert panel.training.retrain.isEnabled()
    labels.set_indexing(True)  # never while indexing
    assert not panel.training.retrain.isEnabled()
    labels.set_indexing(False)

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    assert not labels.add_label(outside, "nope")
    assert "not inside a library folder" in panel.message.text() and "Traceback" not in panel.message.text()
    assert panel.table.rowCount() == 2

    _select(panel.table, 0, "roo")
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("kangaroo", True))
    qtbot.mouseClick(panel.rename_button, Qt.MouseButton.LeftButton)
    assert _table(panel.table) == [("kangaroo", "kangaroo", "6"), ("okapi", "okapi", "6")]
    assert [r["label"] for r in win.catalog.labels()] == ["kangaroo", "okapi"]

    _select(panel.table, 0, "okapi")
    qtbot.mouseClick(panel.remove_button, Qt.MouseButton.LeftButton)
    assert _table(panel.table) == [("kangaroo", "kangaroo", "6")]
    assert [r["label"] for r in win.catalog.labels()] == ["kangaroo"]
    win.close()


def test_retrain_shows_progress_and_curve_then_uses_the_new_version(qtbot, fresh_db, settings, caltech_library):
    from PySide6.QtCore import Qt

    from tagger.training.trainer import TrainConfig

    win = _open(qtbot, fresh_db, settings)
    panel, labels = win.labels_panel, win.labels_ctl
    labels.train_config = TrainConfig(**FAST)
    for folder in ("kangaroo", "okapi", "pizza"):
        assert labels.add_label(caltech_library / folder, folder)
    assert win.status_bar.model_label.text() == "model: untrained"
    qtbot.mouseClick(panel.training.retrain, Qt.MouseButton.LeftButton)
    stages: list[str] = []
    labels.job.progress.connect(lambda stage, done, total: stages.append(stage))
    assert labels.busy and panel.training.bar.isVisible() and panel.training.cancel.isVisible()
    assert not panel.training.retrain.isEnabled() and not panel.add_button.isEnabled()
    qtbot.waitUntil(lambda: not labels.busy, timeout=TRAIN_TIMEOUT)

    # each stage says what it does; the label model learns in one step (no epochs, so no curve)
    assert stages[0] == "preparing" and "re-projecting photos" in stages
    report = labels.last_report
    assert report is not None and report.version == 1 and report.history == []
    # the three folders, and any tag typed in the app earlier (tags are labels too)
    n = len(report.labels)
    assert {"kangaroo", "okapi", "pizza"} <= set(report.labels)
    assert any(s.startswith(f"learning {n} labels from") for s in stages), stages
    assert not panel.chart.isVisible()
    result = panel.training.result.text()
    assert "Accuracy (cross-validated)" in result and "→" in result and "Version 1 is active" in result
    assert not panel.training.bar.isVisible() and not panel.training.cancel.isVisible()
    assert win.catalog.active_version() == 1
    assert win.engine.version is not None and win.engine.version.number == 1  # the engine service switched
    assert win.status_bar.model_label.text() == f"model v1 (trained: {n} labels)"
    rows = _table(panel.versions)
    assert [r[0] for r in rows] == ["● v1", "   v0"] and "kangaroo, okapi, pizza" in rows[0][2]
    assert panel.training.retrain.isEnabled()

    win.search_ctl.search_for("okapi")  # searches now mix in the trained label
    qtbot.waitUntil(lambda: not win.search_ctl.searching and win.model.row(0).score is not None, timeout=TIMEOUT)
    assert _folders(win)[:5] == ["okapi"] * 5
    win.close()


def test_cancelling_a_training_changes_nothing(qtbot, fresh_db, settings, caltech_library, monkeypatch):

    import tagger.training.retrain as retrain
    from tests.shared import fit_until_stopped

    monkeypatch.setattr(retrain, "fit_open_set", fit_until_stopped)
    win = _open(qtbot, fresh_db, settings)
    panel, labels = win.labels_panel, win.labels_ctl
    for folder in ("kangaroo", "okapi"):
        labels.add_label(caltech_library / folder, folder)
    labels.start_training()
    labels.job.progress.connect(lambda stage, *_: stage.startswith("learning") and panel.training.cancel.click())
    qtbot.waitUntil(lambda: not labels.busy, timeout=TRAIN_TIMEOUT)
    assert "Cancelled" in panel.training.result.text()
    assert win.catalog.active_version() == 0 and [v["version"] for v in win.catalog.versions()] == [0]
    assert win.engine.version is None and win.status_bar.model_label.text() == "model: untrained"
    assert _table(panel.versions) == [("● v0", "", "untrained (zero-shot)", "")]
    assert not (fresh_db.parent / f"{fresh_db.stem}.models" / "v1").exists()
    assert panel.training.retrain.isEnabled()
    win.close()


def test_using_version_0_rolls_back_and_back_again(qtbot, fresh_db, settings, caltech_library, engine):
    from PySide6.QtCore import Qt

    from tagger.gui.training_job import private_engine
    from tagger.training.retrain import train_version
    from tagger.training.trainer import TrainConfig

    with Catalog.open(fresh_db) as cat:  # a catalog trained from the command line (a copy: the session's engine stays)
        for folder in ("kangaroo", "okapi"):
            cat.set_label(caltech_library / folder, folder)
        n = len(train_version(cat, private_engine(engine), config=TrainConfig(**FAST)).labels)  # + any typed tag
    win = _open(qtbot, fresh_db, settings)
    panel, labels = win.labels_panel, win.labels_ctl
    assert win.engine.version is not None and win.engine.version.number == 1  # loaded with the active version
    assert win.status_bar.model_label.text() == f"model v1 (trained: {n} labels)"
    assert [r[0] for r in _table(panel.versions)] == ["● v1", "   v0"]
    assert not panel.use_button.isEnabled()  # nothing chosen yet
    _select(panel.versions, 0, "v0")
    qtbot.mouseClick(panel.use_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not labels.busy, timeout=TRAIN_TIMEOUT)
    assert win.catalog.active_version() == 0 and win.engine.version is None
    assert win.status_bar.model_label.text() == "model: untrained"
    assert [r[0] for r in _table(panel.versions)] == ["   v1", "● v0"]
    assert [v["version"] for v in win.catalog.versions()] == [0, 1]  # rolled back, not deleted

    labels.use_version(1)
    qtbot.waitUntil(lambda: not labels.busy, timeout=TRAIN_TIMEOUT)
    assert win.catalog.active_version() == 1 and win.engine.version.number == 1
    assert win.status_bar.model_label.text() == f"model v1 (trained: {n} labels)"
    win.close()


def test_retraining_errors_read_as_sentences():
    from tagger.engine.version import VersionError
    from tagger.gui.services import readable_error
    from tagger.training.retrain import RetrainError

    assert readable_error(RetrainError("label a folder first")) == "label a folder first"
    assert readable_error(VersionError("model version 2 is damaged")) == "model version 2 is damaged"


def test_screenshot_of_the_labels_panel(populated_db, tmp_path, engine):
    from tagger.gui.app import main

    out = tmp_path / "labels.png"
    assert main(["--db", str(populated_db), "--screenshot", str(out), "--panel", "labels",
                 "--settings", str(tmp_path / "s.ini"), "--size", "1000x700"]) == 0
    from PIL import Image

    assert Image.open(out).size == (1000, 700)
