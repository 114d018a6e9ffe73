"""Recent libraries survive a restart as whole paths (QSettings' INI format returns a one-element list as a string)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings

from tagger.gui.main_window import MainWindow
from tagger.gui.recent import recent_catalogs, remember_catalog
from tagger.library.catalog import Catalog


def test_one_recent_library_comes_back_as_one_path_after_a_restart(qtbot, tmp_path):
    db = tmp_path / "photos.db"
    Catalog.open(db).close()
    ini = tmp_path / "settings.ini"
    first = MainWindow(db, QSettings(str(ini), QSettings.Format.IniFormat), start_engine=False)
    qtbot.addWidget(first)
    first.close()
    # the next start, with another (new) catalog: the welcome page offers the first library, whole
    again = MainWindow(tmp_path / "new.db", QSettings(str(ini), QSettings.Format.IniFormat), start_engine=False)
    qtbot.addWidget(again)
    offered = [again.welcome.recent.item(i).text() for i in range(again.welcome.recent.count())]
    assert offered == [str(db)]


def test_junk_in_the_setting_is_never_offered(tmp_path):
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    real = tmp_path / "real.db"
    real.write_bytes(b"")
    settings.setValue("recent/catalogs", "/")  # what older versions left behind
    assert recent_catalogs(settings) == []
    remember_catalog(settings, real)
    remember_catalog(settings, real)
    settings.sync()
    assert recent_catalogs(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)) == [str(real)]
