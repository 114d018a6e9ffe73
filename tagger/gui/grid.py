"""The thumbnail grid: a list model over photo ids that loads thumbnails lazily, newest request first.

A QListView with uniform item sizes only asks for the rows it shows, so 100k photos cost a list of ids; thumbnails come
from the catalog's thumbnail cache on a small thread pool, most recently requested first (what is on screen now), and a
placeholder is drawn meanwhile. The GUI thread never decodes an image.

The layout is responsive: the number of columns follows the viewport's width and the cells share that width, so no
strip is left empty on the right; every cell is the same size, the thumbnail is drawn centred at the thumbnail size
whatever the cached image's size (a photo looks the same size in the library and in a search), and the caption (a
name, or "0.95 · text") has its own line under it, elided rather than drawn over the next row. While indexing adds
photos the rows already shown keep their order and the photo at the top of the view stays where it is.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QRect,
    QRunnable,
    QSize,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPixmap, QResizeEvent
from PySide6.QtWidgets import QAbstractItemView, QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

PHOTO_ID_ROLE = Qt.ItemDataRole.UserRole + 1
SCORE_ROLE = Qt.ItemDataRole.UserRole + 2

GAP = 8  # the least space between two thumbnails, across and down (the caption sits in the space down)
CAPTION_GAP = 3  # between a thumbnail and its caption


# Why a search found a photo (``Hit.why``), as the grid says it: the tooltip's phrase and the word under the score
WHY_PHRASES = {"meaning": "its meaning", "label": "your label", "tag": "your tag or keyword",
               "faces": "the people in it", "text": "the text in the photo"}
WHY_SHORT = {"label": "label", "tag": "tag", "faces": "people", "text": "text"}  # meaning, the usual why: no word


def why_text(why: str) -> str:
    """"found by the text in the photo": what found a hit, in words ("" when the search does not say)."""
    phrase = WHY_PHRASES.get(why)
    return f"found by {phrase}" if phrase else ""


def grid_columns(width: int, thumb: int) -> tuple[int, int]:
    """(columns, cell width) for a grid ``width`` px wide: as many columns as fit a thumbnail and a gap each, and the
    cells widened to share the whole width between them (what is left over is under one pixel a column)."""
    columns = max(1, width // (thumb + GAP))
    return columns, max(thumb + GAP, width // columns)


def cell_height(thumb: int, line_height: int) -> int:
    """A cell's height: the thumbnail, its caption line and half a gap above and below (a gap between two rows)."""
    return GAP // 2 + thumb + CAPTION_GAP + line_height + GAP // 2


def cell_layout(cell: QRect, thumb: int, line_height: int) -> tuple[QRect, QRect]:
    """(thumbnail square, caption line) inside a cell: the square centred across the cell's top, the caption on its
    own line under it, as wide as the cell less half a gap each side. Shared by painting and tests."""
    image = QRect(cell.left() + (cell.width() - thumb) // 2, cell.top() + GAP // 2, thumb, thumb)
    caption = QRect(cell.left() + GAP // 2, image.bottom() + 1 + CAPTION_GAP, cell.width() - GAP, line_height)
    return image, caption


@dataclass
class GridRow:
    photo_id: int
    hash: str | None
    name: str
    score: float | None = None
    why: str = ""  # what found it (Hit.why: meaning, label, tag, faces, text); "" outside a search


class ThumbnailLoader(QObject):
    """LIFO loading of cached thumbnails on a few threads; requests that scrolled away are dropped first."""

    loaded = Signal(str, QImage)

    def __init__(self, path_for: Callable[[str], Path], threads: int = 2, max_pending: int = 400, size: int = 160):
        super().__init__()
        self._path_for = path_for
        self.size = size  # images are scaled to this in the worker, so the GUI thread only wraps them
        self._pending: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._max_pending = max_pending
        self._pool = QThreadPool()
        self._pool.setMaxThreadCount(threads)
        self._workers = 0
        self._threads = threads

    def request(self, key: str) -> None:
        with self._lock:
            self._pending[key] = None
            self._pending.move_to_end(key)
            while len(self._pending) > self._max_pending:
                self._pending.popitem(last=False)
            start = self._workers < self._threads
            if start:
                self._workers += 1
        if start:
            self._pool.start(_LoaderWorker(self))

    def _next(self) -> str | None:
        with self._lock:
            if not self._pending:
                self._workers -= 1
                return None
            key, _ = self._pending.popitem(last=True)
            return key

    def pending(self) -> int:
        with self._lock:
            return len(self._pending) + self._workers

    def wait(self, msecs: int = 5000) -> bool:
        return self._pool.waitForDone(msecs)


class _LoaderWorker(QRunnable):
    def __init__(self, loader: ThumbnailLoader):
        super().__init__()
        self.loader = loader

    def run(self) -> None:
        while (key := self.loader._next()) is not None:
            image = QImage(str(self.loader._path_for(key)))
            size = self.loader.size
            if not image.isNull() and max(image.width(), image.height()) > size:
                image = image.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                     Qt.TransformationMode.SmoothTransformation)
            self.loader.loaded.emit(key, image)


class PhotoGridModel(QAbstractListModel):
    thumbnails_arrived = Signal()

    def __init__(self, thumbnail_path: Callable[[str], Path], thumb_size: int = 160, cache_size: int = 4000):
        super().__init__()
        self._rows: list[GridRow] = []
        self._rows_by_hash: dict[str, list[int]] = {}
        self._cache: OrderedDict[str, QPixmap] = OrderedDict()
        self._cache_size = cache_size
        self._requested: set[str] = set()
        self._missing: set[str] = set()
        self.thumb_size = thumb_size
        self._placeholder = _placeholder(thumb_size)
        self._broken = _placeholder(thumb_size, QColor(90, 60, 60))
        self.loader = ThumbnailLoader(thumbnail_path, size=thumb_size)
        self.loader.loaded.connect(self._on_loaded)

    # -- contents

    def set_rows(self, rows: Sequence[GridRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self._rows_by_hash = {}
        for i, r in enumerate(self._rows):
            if r.hash:
                self._rows_by_hash.setdefault(r.hash, []).append(i)
        self.endResetModel()

    def update_rows(self, rows: Sequence[GridRow]) -> bool:
        """Show ``rows`` without moving the rows already shown, when it can: photos gone are removed and new ones
        inserted where ``rows`` puts them, so the view's selection and scroll position survive indexing (a reset would
        clear the selection and lay every row out again). False, and a reset, when the rows kept changed order."""
        new = list(rows)
        new_ids = {r.photo_id for r in new}
        old_ids = {r.photo_id for r in self._rows}
        if (len(new_ids) != len(new) or len(old_ids) != len(self._rows)
                or [r.photo_id for r in new if r.photo_id in old_ids]
                != [r.photo_id for r in self._rows if r.photo_id in new_ids]):
            self.set_rows(new)
            return False
        i = len(self._rows) - 1
        while i >= 0:  # the photos gone, a run at a time, from the end so that the indexes ahead stay right
            if self._rows[i].photo_id in new_ids:
                i -= 1
                continue
            end = i
            while i >= 0 and self._rows[i].photo_id not in new_ids:
                i -= 1
            self.beginRemoveRows(QModelIndex(), i + 1, end)
            del self._rows[i + 1:end + 1]
            self.endRemoveRows()
        at = 0
        while at < len(new):  # the new photos, a run at a time, where the new order puts them
            if new[at].photo_id in old_ids:
                changed = self._rows[at] != new[at]  # e.g. the file was edited: another hash, another thumbnail
                self._rows[at] = new[at]
                if changed:
                    self.dataChanged.emit(self.index(at), self.index(at))
                at += 1
                continue
            end = at
            while end < len(new) and new[end].photo_id not in old_ids:
                end += 1
            self.beginInsertRows(QModelIndex(), at, end - 1)
            self._rows[at:at] = new[at:end]
            self.endInsertRows()
            at = end
        self._rows_by_hash = {}
        for i, r in enumerate(self._rows):
            if r.hash:
                self._rows_by_hash.setdefault(r.hash, []).append(i)
        return True

    def row(self, i: int) -> GridRow:
        return self._rows[i]

    def rows(self) -> list[GridRow]:
        return self._rows

    def set_thumb_size(self, size: int) -> None:
        self.beginResetModel()
        self.thumb_size = size
        self.loader.size = size
        self._cache.clear()
        self._requested.clear()
        self._placeholder = _placeholder(size)
        self._broken = _placeholder(size, QColor(90, 60, 60))
        self.endResetModel()

    # -- Qt model API

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        r = self._rows[index.row()]
        if role == Qt.ItemDataRole.DecorationRole:
            return self._pixmap(r.hash)
        if role == Qt.ItemDataRole.ToolTipRole:
            if r.score is None:
                return r.name
            why = why_text(r.why)
            return f"{r.name}\nscore {r.score:.3f}" + (f", {why}" if why else "")
        if role == Qt.ItemDataRole.DisplayRole:
            if r.score is None:
                return r.name
            return f"{r.score:.2f} · {WHY_SHORT[r.why]}" if r.why in WHY_SHORT else f"{r.score:.2f}"
        if role == PHOTO_ID_ROLE:
            return r.photo_id
        if role == SCORE_ROLE:
            return r.score
        return None

    def _pixmap(self, key: str | None) -> QPixmap:
        if not key or key in self._missing:
            return self._broken
        pix = self._cache.get(key)
        if pix is not None:
            self._cache.move_to_end(key)
            return pix
        if key not in self._requested:
            self._requested.add(key)
        self.loader.request(key)  # re-requesting moves it to the front of the queue
        return self._placeholder

    def _on_loaded(self, key: str, image: QImage) -> None:
        self._requested.discard(key)
        if image.isNull():
            self._missing.add(key)
        else:
            self._cache[key] = QPixmap.fromImage(image)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        if key in self._rows_by_hash:
            # not dataChanged: a hash may sit on rows all over a 100k list, and the view would walk that span.
            # The view repaints what is on screen, which asks data() again for just those rows.
            self.thumbnails_arrived.emit()

    def loaded_count(self) -> int:
        return len(self._cache)


def _placeholder(size: int, color: QColor | None = None) -> QPixmap:
    pix = QPixmap(size, size)
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(color or QColor(70, 70, 70))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawRoundedRect(4, 4, size - 8, size - 8, 6, 6)
    p.end()
    return pix


class PhotoDelegate(QStyledItemDelegate):
    """Paints a cell: the thumbnail fitted into the thumbnail square and centred, the caption elided on its line
    under it, the selection as a tint over the whole cell. Every cell is the grid's cell size."""

    def __init__(self, grid: PhotoGrid):
        super().__init__(grid)
        self.grid = grid

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return self.grid.gridSize()

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        thumb = self.grid.iconSize().width()
        image_rect, caption_rect = cell_layout(option.rect, thumb, option.fontMetrics.height())
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        palette = option.palette
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if selected:
            tint = QColor(palette.color(QPalette.ColorRole.Highlight))
            tint.setAlpha(110)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(tint)
            painter.drawRoundedRect(option.rect.adjusted(1, 1, -1, -1), 6, 6)
        pix = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(pix, QPixmap) and not pix.isNull():
            size = pix.size().scaled(image_rect.size(), Qt.AspectRatioMode.KeepAspectRatio)  # one size, small or big
            target = QRect(QPoint(0, 0), size)
            target.moveCenter(image_rect.center())
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, size != pix.size())
            painter.drawPixmap(target, pix)
        text = index.data(Qt.ItemDataRole.DisplayRole) or ""
        elided = option.fontMetrics.elidedText(text, Qt.TextElideMode.ElideMiddle, caption_rect.width())
        painter.setPen(palette.color(QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text))
        painter.drawText(caption_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, elided)
        if option.state & QStyle.StateFlag.State_HasFocus:
            painter.setPen(palette.color(QPalette.ColorRole.Highlight))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(option.rect.adjusted(1, 1, -2, -2), 6, 6)
        painter.restore()


class PhotoGrid(QListView):
    """Icon-mode list view tuned for very long lists (uniform sizes, batched layout), its columns sized to its width.

    The vertical scroll bar is always on: the columns are worked out for the width beside it, and a bar that came and
    went with the number of photos would change that width under them."""

    def __init__(self, model: PhotoGridModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.setModel(model)
        model.thumbnails_arrived.connect(self.viewport().update)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(2000)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setWordWrap(False)
        self.setSpacing(0)  # the gaps are inside the cells, so that the cells can share the whole width
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.verticalScrollBar().setSingleStep(24)
        self.setItemDelegate(PhotoDelegate(self))
        self.apply_thumb_size(model.thumb_size)

    def apply_thumb_size(self, size: int) -> None:
        self.setIconSize(QSize(size, size))
        self._fit_columns()

    def columns(self) -> int:
        return max(1, self.viewport().width() // max(1, self.gridSize().width()))

    def _fit_columns(self) -> None:
        """Cells as wide as the viewport's width shared by the columns that fit (Qt wraps an item that would end
        on the viewport's last pixel, hence the one pixel less)."""
        thumb = self.iconSize().width()
        _, width = grid_columns(self.viewport().width() - 1, thumb)
        size = QSize(width, cell_height(thumb, self.fontMetrics().height()))
        if size != self.gridSize():
            self.setGridSize(size)

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._fit_columns()
        super().resizeEvent(event)

    @contextmanager
    def anchored(self) -> Iterator[None]:
        """Keep the photo at the top left of the view where it is while the rows change under it (new photos
        inserted above it while indexing): what the person is looking at does not jump."""
        top = self.indexAt(QPoint(GAP, GAP))
        anchor = QPersistentModelIndex(top) if top.isValid() else None
        y = self.visualRect(top).top() if top.isValid() else 0
        yield
        if anchor is None or not anchor.isValid():
            return
        self.executeDelayedItemsLayout()
        index = self.model().index(anchor.row(), 0)
        bar = self.verticalScrollBar()
        bar.setValue(bar.value() + self.visualRect(index).top() - y)

    def selected_ids(self) -> list[int]:
        return [i.data(PHOTO_ID_ROLE) for i in self.selectionModel().selectedIndexes()]

    def current_photo(self) -> int | None:
        """The photo under the keyboard focus (the one Open, Show in folder and Find similar act on)."""
        idx = self.currentIndex()
        return idx.data(PHOTO_ID_ROLE) if idx.isValid() else None

    def select_photo(self, photo_id: int) -> bool:
        """Make ``photo_id`` the only selected photo and scroll to it; False when the grid does not show it."""
        model = self.model()
        for i, r in enumerate(model.rows()):
            if r.photo_id == photo_id:
                idx = model.index(i)
                self.selectionModel().setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
                self.scrollTo(idx)
                return True
        return False
