"""The responsive photo grid (issue 15): its columns follow the window's width and its cells fill it, every cell is
the same size with the thumbnail drawn at one size, the caption has its own line under the thumbnail and never runs
out of its cell, and the library's order does not reshuffle the photos in view while indexing adds photos."""

from __future__ import annotations

import os
from types import SimpleNamespace

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QLabel, QLineEdit, QStyleOptionViewItem

from tagger.gui.grid import GridRow, PhotoGrid, PhotoGridModel, cell_layout
from tagger.gui.search_controller import SearchController
from tagger.gui.widgets import TagCloud

THUMB = 160
LONG_NAME = "a very long file name from a camera that nobody renamed IMG_20240101_123456_HDR_final_v2.jpg"


def _rows(n: int, start: int = 0) -> list[GridRow]:
    return [GridRow(i, None, f"IMG_{i:04d}.jpg") for i in range(start, start + n)]


@pytest.fixture
def grid(qtbot, tmp_path):
    model = PhotoGridModel(lambda key: tmp_path / f"{key}.jpg", thumb_size=THUMB)
    view = PhotoGrid(model)
    qtbot.addWidget(view)
    model.set_rows(_rows(200))
    view.resize(800, 600)
    view.show()
    qtbot.waitExposed(view)
    yield view
    model.loader.wait()


def _columns_laid_out(view: PhotoGrid) -> int:
    """How many cells Qt really put on the first row."""
    model = view.model()
    view.executeDelayedItemsLayout()
    top = view.visualRect(model.index(0)).top()
    return sum(1 for i in range(model.rowCount()) if view.visualRect(model.index(i)).top() == top)


@pytest.mark.parametrize("width", [800, 1389, 1920, 430])
def test_the_cells_fill_the_width_at_any_window_width(grid, qtbot, width):
    grid.resize(width, 600)
    qtbot.wait(10)
    columns, cell = _columns_laid_out(grid), grid.gridSize().width()
    gap = cell - THUMB  # the space between two thumbnails side by side
    assert columns >= 2 and gap >= 8
    left_over = grid.viewport().width() - columns * cell
    assert 0 <= left_over <= gap, f"{left_over} px wasted on the right at {width} px ({columns} x {cell})"
    last = grid.visualRect(grid.model().index(columns - 1))
    assert grid.viewport().width() - last.right() <= gap  # the last column reaches the right edge


def test_more_columns_in_a_wider_window(grid, qtbot):
    grid.resize(800, 600)
    qtbot.wait(10)
    narrow = _columns_laid_out(grid)
    grid.resize(1920, 600)
    qtbot.wait(10)
    assert _columns_laid_out(grid) > narrow


def test_every_cell_is_the_same_size(grid):
    model = grid.model()
    model.set_rows([GridRow(1, None, "a.jpg"), GridRow(2, None, LONG_NAME), GridRow(3, None, "b.jpg", 0.95, "text"),
                    GridRow(4, None, "c.jpg", 0.5)])
    grid.executeDelayedItemsLayout()
    option = QStyleOptionViewItem()
    option.initFrom(grid)
    hints = {grid.itemDelegate().sizeHint(option, model.index(i)).toTuple() for i in range(4)}
    rects = {grid.visualRect(model.index(i)).size().toTuple() for i in range(4)}
    assert hints == rects == {grid.gridSize().toTuple()}


def test_the_caption_sits_under_the_thumbnail_inside_its_cell(grid):
    line = grid.fontMetrics().height()
    model = grid.model()
    grid.executeDelayedItemsLayout()
    below = grid.visualRect(model.index(_columns_laid_out(grid)))  # the first cell of the second row
    for i in range(3):
        cell = grid.visualRect(model.index(i))
        image, caption = cell_layout(cell, THUMB, line)
        assert cell.contains(image) and cell.contains(caption)
        assert caption.top() > image.bottom() and caption.height() >= line
        assert caption.bottom() < below.top()  # the next row's thumbnails start after this row's captions


def _paint_cell(grid: PhotoGrid, row: int) -> tuple[QImage, QRect]:
    """One cell painted by the grid's delegate on a white canvas with room around it, and where the cell is."""
    cell = QRect(40, 40, grid.gridSize().width(), grid.gridSize().height())
    canvas = QImage(cell.width() + 80, cell.height() + 80, QImage.Format.Format_ARGB32)
    canvas.fill(QColor("white"))
    option = QStyleOptionViewItem()
    option.initFrom(grid)
    option.rect = cell
    option.state &= ~option.state.State_HasFocus
    painter = QPainter(canvas)
    grid.itemDelegate().paint(painter, option, grid.model().index(row))
    painter.end()
    return canvas, cell


def _inked(canvas: QImage, area: QRect | None = None) -> QRect:
    """The bounding box of every pixel that is not white (within ``area``)."""
    area = area or canvas.rect()
    xs, ys = [], []
    for y in range(area.top(), area.bottom() + 1):
        for x in range(area.left(), area.right() + 1):
            if canvas.pixelColor(x, y) != QColor("white"):
                xs.append(x)
                ys.append(y)
    return QRect(QPoint(min(xs), min(ys)), QPoint(max(xs), max(ys))) if xs else QRect()


def test_a_long_name_is_elided_within_its_cell(grid):
    grid.model().set_rows([GridRow(1, None, LONG_NAME)])
    canvas, cell = _paint_cell(grid, 0)
    _, caption = cell_layout(cell, THUMB, grid.fontMetrics().height())
    ink = _inked(canvas)
    assert cell.contains(ink)
    text = _inked(canvas, caption)
    assert text.isValid() and caption.contains(text)  # the caption is drawn, on its own line


def test_a_thumbnail_is_drawn_at_one_size_however_big_the_cached_image(grid):
    model = grid.model()
    model.set_rows([GridRow(1, "small", "small.jpg"), GridRow(2, "big", "big.jpg")])
    for key, side in (("small", 90), ("big", THUMB)):
        pix = QPixmap(side, side)
        pix.fill(QColor("black"))
        model._cache[key] = pix  # as if the loader had brought them: a small photo's thumbnail is small
    sizes = set()
    for row in range(2):
        canvas, cell = _paint_cell(grid, row)
        image, _ = cell_layout(cell, THUMB, grid.fontMetrics().height())
        drawn = _inked(canvas, image)
        assert drawn.center() == image.center() or abs(drawn.center().x() - image.center().x()) <= 1
        sizes.add(drawn.size().toTuple())
    assert sizes == {(THUMB, THUMB)}


def test_new_rows_do_not_move_the_photos_in_view(grid, qtbot):
    model = grid.model()
    grid.executeDelayedItemsLayout()
    grid.verticalScrollBar().setValue(grid.verticalScrollBar().maximum() // 2)
    selected = model.row(grid.indexAt(QPoint(8, 8)).row() + 1).photo_id
    grid.select_photo(selected)  # it is in view: no scrolling
    top = grid.indexAt(QPoint(8, 8))
    top_id, top_y = model.row(top.row()).photo_id, grid.visualRect(top).top()
    before = [r.photo_id for r in model.rows()]
    # indexing found photos newer than all of these (they go first) and some in between
    rows = _rows(30, start=1000) + model.rows()[:50] + _rows(7, start=2000) + model.rows()[50:]
    with grid.anchored():
        assert model.update_rows(rows)
    after = [r.photo_id for r in model.rows()]
    assert after == [r.photo_id for r in rows]
    assert [i for i in after if i in set(before)] == before
    anchor = model.index(after.index(top_id))  # the photo that was at the top left is still on the top row
    assert abs(grid.visualRect(anchor).top() - top_y) <= 1
    assert grid.selected_ids() == [selected]  # the selection survives (the details panel keeps its photo)


class _Catalog:
    def __init__(self, photos: list[tuple[int, str, str]]):
        self.photos = photos

    def newest_first(self) -> list[tuple[int, str, str]]:
        return list(self.photos)


def test_reloading_the_library_while_indexing_keeps_the_view(grid, qtbot):
    """The controller's reload (every few seconds while indexing) goes through the same steady update."""
    catalog = _Catalog([(i, None, f"IMG_{i:04d}.jpg") for i in range(200)])
    session = SimpleNamespace(catalog=catalog, engine=None)
    controller = SearchController(session, QLineEdit(), QLabel(), grid.model(), grid, TagCloud())
    controller.reload_library()
    grid.executeDelayedItemsLayout()
    grid.verticalScrollBar().setValue(grid.verticalScrollBar().maximum() // 2)
    top = grid.indexAt(QPoint(8, 8))
    top_id, top_y = grid.model().row(top.row()).photo_id, grid.visualRect(top).top()
    catalog.photos = [(i, None, f"new_{i}.jpg") for i in range(500, 540)] + catalog.photos
    controller.reload_library()
    shown = [r.photo_id for r in grid.model().rows()]
    assert abs(grid.visualRect(grid.model().index(shown.index(top_id))).top() - top_y) <= 1
    assert grid.model().rowCount() == 240 and grid.model().row(0).photo_id == 500  # still newest first


def test_a_changed_order_resets_and_says_so(grid):
    model = grid.model()
    rows = list(reversed(model.rows()))
    assert not model.update_rows(rows)
    assert [r.photo_id for r in model.rows()] == [r.photo_id for r in rows]


def test_removed_photos_leave_the_others_in_order(grid):
    model = grid.model()
    keep = [r for r in model.rows() if r.photo_id % 3]
    assert model.update_rows(keep)
    assert [r.photo_id for r in model.rows()] == [r.photo_id for r in keep]
    assert model.rowCount() == len(keep)
