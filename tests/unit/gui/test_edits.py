"""A tag edit that does not reach the catalog is said so in the app, never swallowed by a traceback on stderr."""

from __future__ import annotations

import os
import sqlite3

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings

from tagger.gui.main_window import MainWindow
from tagger.library.catalog import Catalog


def test_a_tag_the_catalog_refuses_is_reported_not_lost_silently(qtbot, tmp_path, monkeypatch):
    db = tmp_path / "c.db"
    Catalog.open(db).close()
    win = MainWindow(db, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat), start_engine=False)
    qtbot.addWidget(win)
    notices = []
    win.details_ctl.notice.connect(lambda text, _ms: notices.append(text))

    def locked(*_args):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(win.session.catalog, "edit_user_tags", locked)  # the one write of tag edits
    assert win.details_ctl.add_user_tag(1, "rex") is False
    assert notices and "Could not add “rex”" in notices[0] and "locked by another Tagger" in notices[0]
