"""What the grid shows and the tag cloud describes: the whole library (newest first) or the answer to a search or a
find-similar, and the cloud of the selection, of a search's best hits or of the whole library.

Searches and clouds run in the engine service's thread (:mod:`tagger.gui.engine_controller`). Every request carries a
sequence number and an answer to a request that has since been replaced is dropped: typing fast never shows the
results of an older query after a newer one.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QLineEdit

from tagger.gui.grid import GridRow, PhotoGrid, PhotoGridModel
from tagger.gui.session import Session
from tagger.gui.widgets import TagCloud

SEARCH_DEBOUNCE_MS = 250
CLOUD_DEBOUNCE_MS = 150
SEARCH_CLOUD_TOP = 24  # the cloud of a search describes its best hits, not the whole ranked library
SIMILAR_PREFIX = "similar to "  # the search box's text while it shows a find-similar (never searched as words)


def library_rows(catalog) -> list[GridRow]:
    """All indexed photos, newest capture date first (the browsing order people expect)."""
    if catalog is None:
        return []
    return [GridRow(pid, h, name) for pid, h, name in catalog.newest_first()]


class SearchController(QObject):
    search_requested = Signal(int, str, object)  # seq, text, folder
    similar_requested = Signal(int, int)  # seq, photo id
    cloud_requested = Signal(int, object)  # seq, photo ids or None (the whole library)
    notice = Signal(str, int)

    def __init__(self, session: Session, box: QLineEdit, result_label: QLabel, model: PhotoGridModel, grid: PhotoGrid,
                 cloud: TagCloud, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.box, self.result_label, self.model, self.grid, self.cloud = box, result_label, model, grid, cloud
        self.active = False  # the grid shows a search's (or a find-similar's) answer, not the library
        self.searching = False  # a search is under way
        self.cloud_pending = False  # the cloud does not describe what is shown yet
        self._seq = 0
        self._search_seq = -1
        self._cloud_seq = -1
        self._cloud_title = ""
        self._by_id: dict[int, GridRow] = {}
        self.search_timer = QTimer(self, singleShot=True, interval=SEARCH_DEBOUNCE_MS)
        self.search_timer.timeout.connect(self.run_search)
        self.cloud_timer = QTimer(self, singleShot=True, interval=CLOUD_DEBOUNCE_MS)
        self.cloud_timer.timeout.connect(self.request_cloud)
        box.textChanged.connect(self._text_changed)
        cloud.tag_clicked.connect(self.search_for)

    # ------------------------------------------------------------------ the library

    def reload_library(self) -> None:
        """Read the library's photos again (after indexing or a removed folder); a search on screen stays."""
        rows = library_rows(self.session.catalog)
        self._by_id = {r.photo_id: r for r in rows}
        if not self.active:
            self.model.set_rows(rows)
            self.result_label.setText(f"{len(rows):,} photos")

    def _library_rows(self) -> list[GridRow]:
        return [GridRow(r.photo_id, r.hash, r.name) for r in self._by_id.values()]

    # ------------------------------------------------------------------ searching

    def focus(self) -> None:
        self.box.setFocus()
        self.box.selectAll()

    def search_for(self, text: str) -> None:
        """Search these words now (a clicked tag), without waiting for the typing pause."""
        self.box.setText(text)
        self.search_timer.stop()
        self.run_search()

    def _text_changed(self, text: str) -> None:
        if not text.strip():
            self.search_timer.stop()
            self.active = False
            self.searching = False
            self.model.set_rows(self._library_rows())
            self.result_label.setText(f"{self.model.rowCount():,} photos")
            self.schedule_cloud()
            return
        self.search_timer.start()

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def run_search(self) -> None:
        text = self.box.text().strip()
        if not text:
            return
        self.active = True
        if self.session.engine is None:
            self.result_label.setText("waiting for the model…")
            return
        self.searching = True
        self._search_seq = self._next_seq()
        self.result_label.setText("searching…")
        self.search_requested.emit(self._search_seq, text, None)

    def find_similar(self, photo_id: int | None) -> None:
        if photo_id is None or self.session.engine is None:
            return
        name = self._by_id[photo_id].name if photo_id in self._by_id else str(photo_id)
        self.box.blockSignals(True)
        self.box.setText(f"{SIMILAR_PREFIX}{name}")
        self.box.blockSignals(False)
        self.active = True
        self.searching = True
        self._search_seq = self._next_seq()
        self.similar_requested.emit(self._search_seq, photo_id)

    def search_done(self, seq: int, hits) -> None:
        if seq != self._search_seq:
            return  # an answer to a query the user has since changed
        self.searching = False
        rows = []
        for h in hits:
            known = self._by_id.get(h.photo_id)
            rows.append(GridRow(h.photo_id, known.hash if known else None, h.path.name, h.score))
        self.model.set_rows(rows)
        self.result_label.setText(f"{len(rows):,} photos, best first")
        if rows:
            self.grid.scrollToTop()
        self.schedule_cloud()

    def request_failed(self, seq: int, message: str) -> None:
        if seq == self._search_seq:
            self.searching = False
            self.result_label.setText("search failed")
        if seq == self._cloud_seq:
            self.cloud_pending = False
        self.notice.emit(message, 8000)

    # ------------------------------------------------------------------ the tag cloud

    def schedule_cloud(self) -> None:
        """Describe what is shown once the selection or the results have settled (one request, not one per click)."""
        self.cloud_pending = True
        self.cloud_timer.start()

    def request_cloud(self) -> None:
        if self.session.engine is None:
            return
        selected = self.grid.selected_ids()
        if selected:
            ids, title = selected, f"{len(selected)} selected photo(s)"
        elif self.active:
            ids = [r.photo_id for r in self.model.rows()[:SEARCH_CLOUD_TOP]]
            title = f"top {len(ids)} results for “{self.box.text()}”"
        else:
            ids, title = None, "whole library"
        self._cloud_title = title
        self._cloud_seq = self._next_seq()
        self.cloud_pending = True
        self.cloud_requested.emit(self._cloud_seq, ids)

    def cloud_done(self, seq: int, tags) -> None:
        if seq != self._cloud_seq:
            return
        self.cloud_pending = False
        self.cloud.set_tags(tags, self._cloud_title)

    # ------------------------------------------------------------------ the engine

    def engine_ready(self) -> None:
        """A search typed while the model loaded runs now; otherwise the library's cloud appears."""
        if self.box.text().strip():
            self.run_search()
        else:
            self.request_cloud()

    def version_applied(self) -> None:
        """Another model version answers now: the same words may find other photos (a find-similar would not
        change: it compares backbone features, which no training touches)."""
        text = self.box.text().strip()
        if self.active and text and not text.startswith(SIMILAR_PREFIX.strip()):
            self.run_search()
        else:
            self.schedule_cloud()
