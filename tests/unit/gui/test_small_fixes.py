"""Small fixes of issue 15: editing the "similar to X.jpg" a find-similar puts in the search box starts a fresh word
search (the find-similar's text is never searched as words), and the "Retrain to teach it" hint of the labels panel
goes once a training has made a new version active."""

from __future__ import annotations

import os
import shutil

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, Qt

from tagger.gui.main_window import MainWindow
from tagger.gui.search_controller import SIMILAR_PREFIX

TIMEOUT = 60_000
TRAIN_TIMEOUT = 300_000
PHOTOS = 48


@pytest.fixture
def window(qtbot, caltech_catalog, tmp_path, engine):
    """A window on a private copy of the shared small catalog (the labels test writes labels and a version)."""
    shutil.copytree(caltech_catalog.parent, tmp_path / "lib")
    win = MainWindow(tmp_path / "lib" / caltech_catalog.name,
                     QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.engine is not None, timeout=TIMEOUT)
    yield win
    win.close()


def _find_similar(window, qtbot) -> None:
    search = window.search_ctl
    search.find_similar(window.model.row(0).photo_id)
    assert window.search_box.text().startswith(SIMILAR_PREFIX)
    qtbot.waitUntil(lambda: not search.searching, timeout=TIMEOUT)
    assert "best first" in window.result_label.text()


def test_typing_after_a_find_similar_searches_only_the_typed_words(window, qtbot):
    _find_similar(window, qtbot)
    box, search = window.search_box, window.search_ctl
    box.setFocus()
    box.end(False)
    qtbot.keyClicks(box, "kangaroo")
    assert box.text() == "kangaroo"  # the find-similar's text went with the first key
    qtbot.waitUntil(lambda: search.result is not None and not search.searching, timeout=TIMEOUT)
    assert search.result.query == "kangaroo"
    assert window.result_label.text().endswith("for “kangaroo”")


def test_deleting_part_of_a_find_similar_goes_back_to_the_library(window, qtbot):
    _find_similar(window, qtbot)
    box, search = window.search_box, window.search_ctl
    box.setFocus()
    box.end(False)
    qtbot.keyClick(box, Qt.Key.Key_Backspace)
    assert box.text() == ""
    assert not search.active and search.result is None
    assert window.model.rowCount() == PHOTOS and window.model.row(0).score is None
    assert not search.search_timer.isActive()  # nothing left to search for


def test_a_clicked_tag_after_a_find_similar_is_searched_as_is(window, qtbot):
    _find_similar(window, qtbot)
    window.search_ctl.search_for("pizza")
    assert window.search_box.text() == "pizza"
    qtbot.waitUntil(lambda: window.search_ctl.result is not None and not window.search_ctl.searching,
                    timeout=TIMEOUT)
    assert window.search_ctl.result.query == "pizza"


def test_the_retrain_hint_goes_once_a_training_made_a_new_version(window, qtbot, caltech_library):
    panel, labels = window.labels_panel, window.labels_ctl
    for folder in ("kangaroo", "okapi"):
        assert labels.add_label(caltech_library / folder, folder)
    assert "Retrain" in panel.message.text()
    labels.start_training()
    qtbot.waitUntil(lambda: not labels.busy, timeout=TRAIN_TIMEOUT)
    assert window.catalog.active_version() == 1
    assert "Retrain" not in panel.message.text()


def test_the_retrain_hint_stays_when_a_training_is_cancelled(window, qtbot, caltech_library, monkeypatch):
    import tagger.training.retrain as retrain
    from tests.shared import fit_until_stopped

    monkeypatch.setattr(retrain, "fit_open_set", fit_until_stopped)
    panel, labels = window.labels_panel, window.labels_ctl
    for folder in ("kangaroo", "okapi"):
        labels.add_label(caltech_library / folder, folder)
    hint = panel.message.text()
    labels.start_training()
    labels.job.progress.connect(lambda stage, *_: stage.startswith("learning") and panel.training.cancel.click())
    qtbot.waitUntil(lambda: not labels.busy, timeout=TRAIN_TIMEOUT)
    assert window.catalog.active_version() == 0
    assert panel.message.text() == hint  # nothing was learnt: the hint is still true


@pytest.mark.parametrize(("text", "typed"), [
    ("similar to a.jpgdog", "dog"),  # typed at the end
    ("dogsimilar to a.jpg", "dog"),  # at the start
    ("similar to a.jp", ""),  # a character deleted
    ("similar a.jpg", ""),  # a word deleted
    ("cat", "cat"),  # all selected, typed over
    ("", ""),  # cleared
])
def test_typed_over_keeps_only_what_was_typed(text, typed):
    from tagger.gui.search_controller import typed_over

    assert typed_over("similar to a.jpg", text) == typed
