"""Side panels give way in a small window so that the grid keeps two columns (tagger.gui.panel_fit)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings

from tagger.gui.main_window import MainWindow
from tagger.gui.panel_fit import cramped_sizes


def test_the_grid_takes_from_the_sides_in_proportion():
    sizes = cramped_sizes([210, 184, 380], [127, 70, 204], grid=1, min_grid=400)
    assert sizes[1] == 400 and sum(sizes) == 774
    assert sizes[0] >= 127 and sizes[2] >= 204
    # each side gave in proportion to what it could give: 83 and 176 px of room above its minimum
    assert abs((210 - sizes[0]) / 83 - (380 - sizes[2]) / 176) < 0.02


def test_a_grid_with_room_is_left_as_the_person_set_it():
    assert cramped_sizes([300, 700, 400], [127, 70, 204], grid=1, min_grid=400) is None


def test_no_side_goes_under_its_minimum():
    sizes = cramped_sizes([130, 100, 210], [127, 70, 204], grid=1, min_grid=400)
    assert sizes == [127, 109, 204]


def test_an_800_pixel_window_shows_two_columns(qtbot, caltech_catalog, tmp_path):
    win = MainWindow(caltech_catalog, QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat),
                     start_engine=False)
    qtbot.addWidget(win)
    win.show()
    win.resize(800, 600)
    qtbot.waitUntil(lambda: win.grid.columns() >= 2, timeout=5000)
    assert win.browse.width() >= win.browse.minimumSizeHint().width()
    assert win.side_tabs.width() >= win.side_tabs.minimumSizeHint().width()
    win.resize(1400, 900)  # room again: the grid widens, the sides keep what they had
    qtbot.waitUntil(lambda: win.grid.columns() >= 4, timeout=5000)
    win.close()
