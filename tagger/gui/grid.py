"""The thumbnail grid: a list model over photo ids that loads thumbnails lazily, newest request first.

A QListView with uniform item sizes only asks for the rows it shows, so 100k photos cost a list of ids; thumbnails come
from the catalog's thumbnail cache on a small thread pool, most recently requested first (what is on screen now), and a
placeholder is drawn meanwhile. The GUI thread never decodes an image.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import (
    QAbstractListModel,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QRunnable,
    QSize,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView

PHOTO_ID_ROLE = Qt.ItemDataRole.UserRole + 1
SCORE_ROLE = Qt.ItemDataRole.UserRole + 2


# Why a search found a photo (``Hit.why``), as the grid says it: the tooltip's phrase and the word under the score
WHY_PHRASES = {"meaning": "its meaning", "label": "your label", "tag": "your tag or keyword",
               "faces": "the people in it", "text": "the text in the photo"}
WHY_SHORT = {"label": "label", "tag": "tag", "faces": "people", "text": "text"}  # meaning, the usual why: no word


def why_text(why: str) -> str:
    """"found by the text in the photo": what found a hit, in words ("" when the search does not say)."""
    phrase = WHY_PHRASES.get(why)
    return f"found by {phrase}" if phrase else ""


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


class PhotoGrid(QListView):
    """Icon-mode list view tuned for very long lists (uniform sizes, batched layout)."""

    def __init__(self, model: PhotoGridModel):
        super().__init__()
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
        self.setSpacing(4)
        self.apply_thumb_size(model.thumb_size)

    def apply_thumb_size(self, size: int) -> None:
        self.setIconSize(QSize(size, size))
        self.setGridSize(QSize(size + 12, size + 28))

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
