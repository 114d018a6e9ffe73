"""Browsing by folder and by date in the window (pytest-qt, offscreen): a folder or a month clicked in the sidebar
narrows the grid, alone or with the words typed and the tag filter; its chip's × drops it; the sort order."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings

from tagger.gui.main_window import MainWindow
from tagger.library.catalog import Catalog
from tagger.library.indexer import Indexer

TIMEOUT = 60_000


@pytest.fixture(scope="module")
def dated_db(engine, caltech_library, tmp_path_factory) -> Path:
    """The caltech library indexed, its photos dated May 2018 but for three pizzas and three kangaroos: March 2019."""
    db = tmp_path_factory.mktemp("browse") / "catalog.db"
    with Catalog.open(db) as cat:
        Indexer(cat, engine).index([caltech_library])
        march = cat.photos_under(caltech_library / "pizza")[:3] + cat.photos_under(caltech_library / "kangaroo")[:3]
        cat.db.execute("UPDATE photos SET taken_at = '2018-05-01T10:00:00'")
        cat.db.execute(f"UPDATE photos SET taken_at = '2019-03-04T10:00:00' WHERE id IN ({','.join(map(str, march))})")
    return db


@pytest.fixture
def window(qtbot, dated_db, tmp_path, engine):
    db = tmp_path / "catalog.db"
    shutil.copy(dated_db, db)
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(db, settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.engine is not None, timeout=TIMEOUT)
    win.browse.setCurrentWidget(win.browse.folders)  # the trees are read when first on screen
    yield win
    win.close()


def _folders(win) -> list[str]:
    paths = win.catalog.photo_paths([r.photo_id for r in win.model.rows()])
    return [paths[r.photo_id].parent.name for r in win.model.rows()]


def _item(view, *texts):
    """The index of the tree row whose label starts with each of ``texts`` in turn (a path down the tree)."""
    model, parent = view.model(), None
    for text in texts:
        rows = [model.index(i, 0, parent) if parent is not None else model.index(i, 0) for i in
                range(model.rowCount(parent) if parent is not None else model.rowCount())]
        parent = next(ix for ix in rows if ix.data().startswith(text))
    return parent


def _click(view, index) -> None:
    view.setCurrentIndex(index)
    view.clicked.emit(index)


def test_the_sidebar_counts_folders_and_months(window, qtbot):
    browse = window.browse_ctl
    qtbot.waitUntil(lambda: window.browse.folders.model().rowCount() == 1, timeout=TIMEOUT)
    (top,) = [window.browse.folders.model().index(i, 0) for i in range(window.browse.folders.model().rowCount())]
    assert top.data() == "photos (48)"
    assert _item(window.browse.folders, "photos", "pizza").data() == "pizza (6)"
    assert _item(window.browse.dates, "2019").data() == "2019 (6)"
    assert _item(window.browse.dates, "2019", "March").data() == "March (6)"
    assert browse is not None


def test_the_trees_are_read_only_once_on_screen(qtbot, dated_db, tmp_path, engine):
    """At start the Tags tab shows: the folder and date counts (~0.3 s at 100k photos) wait until Folders or Dates
    is clicked, then come at once."""
    db = tmp_path / "catalog.db"
    shutil.copy(dated_db, db)
    win = MainWindow(db, QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    qtbot.wait(200)
    assert win.browse.folder_model.rowCount() == 0 and win.browse.date_model.rowCount() == 0
    win.browse.setCurrentWidget(win.browse.dates)
    assert _item(win.browse.dates, "2019", "March").data() == "March (6)"
    assert _item(win.browse.folders, "photos", "pizza").data() == "pizza (6)"
    win.close()


def test_the_counts_follow_the_library(window, qtbot):
    """A photo indexed since (here written straight to the catalog): the counts follow once the library reloads."""
    import numpy as np

    from tagger.library.catalog import PhotoRecord

    root = window.catalog.roots()[0]
    record = PhotoRecord(root.id, b"new/x.jpg", 1, 0, "indexed", hash="x", taken_at="2021-02-03T10:00:00",
                         features=np.zeros(4), top_classes=np.zeros(2), top_probs=np.zeros(2), embedding=np.zeros(4))
    window.catalog.write_batch([record], "b", "m")
    window.reload_photos()
    qtbot.waitUntil(lambda: _item(window.browse.folders, "photos").data() == "photos (49)", timeout=TIMEOUT)
    assert _item(window.browse.folders, "photos", "new").data() == "new (1)"
    assert _item(window.browse.dates, "2021", "February").data() == "February (1)"


def test_a_folder_narrows_the_grid_and_a_search_inside_it(window, qtbot):
    _click(window.browse.folders, _item(window.browse.folders, "photos", "pizza"))
    qtbot.waitUntil(lambda: window.model.rowCount() == 6, timeout=TIMEOUT)
    assert set(_folders(window)) == {"pizza"}
    assert "pizza" in window.browse_chip.text()
    # the cloud describes the folder, not the whole library
    qtbot.waitUntil(lambda: window.cloud._title == "6 photos in pizza", timeout=TIMEOUT)
    window.search_box.setText("kangaroo")  # a search typed: only its matches inside the folder
    qtbot.waitUntil(lambda: not window.search_ctl.searching and window.search_ctl.result is not None, timeout=TIMEOUT)
    assert window.search_ctl.result.considered == 6
    window.search_ctl.toggle_weaker()
    assert window.model.rowCount() == 6 and set(_folders(window)) == {"pizza"}


def test_a_month_with_the_tag_filter_and_the_chip_x_restores(window, qtbot):
    _click(window.browse.dates, _item(window.browse.dates, "2019", "March"))
    qtbot.waitUntil(lambda: window.model.rowCount() == 6, timeout=TIMEOUT)
    assert set(_folders(window)) == {"pizza", "kangaroo"}
    first = window.model.rows()[0].photo_id
    window.catalog.edit_user_tags([first], add=["favourite"])
    window.search_ctl.toggle_tag("favourite")  # the tag filter and the month: both apply
    qtbot.waitUntil(lambda: not window.search_ctl.searching and window.model.rowCount() == 1, timeout=TIMEOUT)
    assert window.model.rows()[0].photo_id == first
    window.search_ctl.clear_tags()
    qtbot.waitUntil(lambda: window.model.rowCount() == 6, timeout=TIMEOUT)
    window.browse_chip.removed.emit("taken")  # the chip's ×
    qtbot.waitUntil(lambda: window.model.rowCount() == 48, timeout=TIMEOUT)
    assert not window.browse_chip.isVisible()
    assert window.search_ctl.taken is None and window.search_ctl.folder is None


def test_sort_by_name_and_it_is_remembered(window, qtbot):
    window.browse_ctl.set_sort("name")
    names = [r.name for r in window.model.rows()]
    assert len(names) == 48 and names == sorted(names, key=str.casefold)
    window.search_box.setText("pizza")  # a search sorted by name too
    qtbot.waitUntil(lambda: not window.search_ctl.searching and window.search_ctl.result is not None, timeout=TIMEOUT)
    names = [r.name for r in window.model.rows()]
    assert names and names == sorted(names, key=str.casefold)
    assert window.settings.value("view/sort") == "name"
    window.browse_ctl.set_sort("relevance")  # the default: a search by relevance, the library newest first
    window.search_box.clear()
    assert [r.photo_id for r in window.model.rows()][:6] == sorted(
        [r.photo_id for r in window.model.rows()][:6], reverse=True)
    assert window.model.rowCount() == 48
    assert {window.catalog.photo(r.photo_id)["taken_at"][:7] for r in window.model.rows()[:6]} == {"2019-03"}


def test_a_folder_filter_goes_with_its_folder(window, qtbot):
    """The library folder removed while one of its folders is the filter: the chip goes, the grid is not left empty."""
    _click(window.browse.folders, _item(window.browse.folders, "photos", "pizza"))
    qtbot.waitUntil(lambda: window.model.rowCount() == 6, timeout=TIMEOUT)
    root = window.catalog.roots()[0]
    window.catalog.remove_root(root.id)
    window.reload_photos()
    qtbot.waitUntil(lambda: window.search_ctl.folder is None, timeout=TIMEOUT)
    assert not window.browse_chip.isVisible()


def test_a_folders_cloud_describes_all_its_photos(window, qtbot):
    """Without words nothing is ranked: the cloud of a folder of 48 photos describes the 48, not the newest 24."""
    _click(window.browse.folders, _item(window.browse.folders, "photos"))
    qtbot.waitUntil(lambda: window.cloud._title == "48 photos in photos", timeout=TIMEOUT)


def test_the_filters_row_is_opened_and_selected(window, qtbot):
    """A month chosen elsewhere (the chip, a screenshot's --month): its year opens and the month is the current row."""
    from tagger.library.browse import date_range

    window.browse.setCurrentWidget(window.browse.dates)
    window.search_ctl.set_browse(None, date_range(2018, 5))  # not the newest year: closed at first
    current = window.browse.dates.currentIndex()
    assert current.data() == "May (42)"
    assert window.browse.dates.isExpanded(current.parent())
