"""The GUI and keyword writing: off by default and invisible; the Library menu turns it on (the status bar says so
plainly) and writes sidecars; tags added or removed in the details panel reach the sidecar."""

from __future__ import annotations

import os
import shutil

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings

from tagger.gui.main_window import MainWindow
from tagger.library.catalog import Catalog
from tagger.library.indexer import Indexer
from tagger.library.keywords import find_sidecars, read_sidecar
from tests.shared import digests


@pytest.fixture
def library_db(engine, caltech_library, tmp_path):
    photos = tmp_path / "photos"
    shutil.copytree(caltech_library / "okapi", photos)  # a private copy: sidecars will be written into it
    db = tmp_path / "catalog.db"
    with Catalog.open(db) as cat:
        Indexer(cat, engine).index([photos])
    return photos, db


def test_keyword_writing_toggle_indicator_and_tag_edits(qtbot, library_db, tmp_path):
    photos, db = library_db
    before = digests(photos)
    win = MainWindow(db, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), start_engine=False)
    qtbot.addWidget(win)
    win.show()
    assert not win.xmp_action.isChecked() and not win.status_bar.xmp_label.isVisible()
    pid = win.model.row(0).photo_id
    win.details_ctl.add_user_tag(pid, "striped")
    assert digests(photos) == before  # off: the photo folder is only read

    win.xmp_action.trigger()  # Library > Write keywords to XMP sidecars
    indicator = win.status_bar.xmp_label
    assert win.xmp_action.isChecked() and indicator.isVisible() and "XMP writing ON" in indicator.text()
    assert "sidecars written" in win.status_bar.message.text()
    path = win.catalog.photo_paths([pid])[pid]
    assert read_sidecar(find_sidecars(path)[0]).keywords() == ["striped"]
    win.details_ctl.add_user_tag(pid, "zoo")
    win.details_ctl.remove_user_tag(pid, "striped")
    assert read_sidecar(find_sidecars(path)[0]).keywords() == ["zoo"]
    assert {k: v for k, v in digests(photos).items() if k in before} == before  # image files untouched

    win.xmp_action.trigger()
    assert not win.xmp_action.isChecked() and not win.status_bar.xmp_label.isVisible()
    win.close()
    again = MainWindow(db, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), start_engine=False)
    qtbot.addWidget(again)
    assert not again.xmp_action.isChecked()  # the setting lives in the catalog
    again.close()
