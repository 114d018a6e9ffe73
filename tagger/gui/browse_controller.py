"""Browsing by folder and by date, and the sort order: fills the sidebar's folder tree and timeline from the catalog
(``tagger.library.browse``), turns a click into the search controller's folder / date filter (which combines with
the words typed, the tag filter and People), shows that filter as a chip, and keeps the sort order chosen in
View > Sort by (remembered between sessions).

The counts are read again after the library is (after indexing, a removed folder, another catalog), once a burst of
reloads has settled and only if the photos changed (the two queries take ~0.3 s at 100k photos); the trees are rebuilt
only when a count changed, so that indexing's frequent reloads leave the tree as the person expanded it.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QStandardItem
from PySide6.QtWidgets import QMenu, QTreeView

from tagger.gui.browse_order import SORT_NAMES, SORTS, valid_sort
from tagger.gui.browse_panel import BrowseSidebar, FilterChip
from tagger.gui.search_controller import SearchController
from tagger.gui.session import Session
from tagger.library.browse import (
    MONTHS,
    FolderNode,
    YearCount,
    date_range,
    date_words,
    describe,
    folder_tree,
    timeline,
)

FILTER_ROLE = Qt.ItemDataRole.UserRole + 1  # a folder item's Path, a date item's (start, end) range
SORT_KEY = "view/sort"
REFRESH_MS = 500  # indexing reloads the library every few seconds: the counts follow once a burst has settled


class BrowseController(QObject):
    def __init__(self, session: Session, sidebar: BrowseSidebar, chip: FilterChip, search: SearchController,
                 settings: QSettings, parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.sidebar, self.chip, self.search, self.settings = session, sidebar, chip, search, settings
        self._shown: tuple | None = None  # (folder tree, timeline) the trees show
        self._read: tuple | None = None  # what the photos table looked like when they were read
        self.refresh_timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self.refresh_timer.timeout.connect(self.refresh)
        self.sort_actions: dict[str, QAction] = {}
        self._stale = False  # the library changed while the trees were not on screen
        sidebar.currentChanged.connect(self._tab_changed)
        sidebar.folders.clicked.connect(self.folder_clicked)
        sidebar.dates.clicked.connect(self.date_clicked)
        chip.removed.connect(self.drop)
        search.browse_changed.connect(self._show_filter)
        search.library_reloaded.connect(self._reloaded)
        search.set_sort(valid_sort(settings.value(SORT_KEY, None)))

    # ------------------------------------------------------------------ the trees

    def _reloaded(self) -> None:
        """The library was read again: the counts at once the first time the trees are on screen (no empty tree),
        else once the reloads settle. While the Tags tab is shown nothing is read (the two queries cost ~0.3 s at
        100k photos, a third of a cold start: bench/gui_startup.py); showing Folders or Dates reads them then.
        A folder filter whose folder left the library (removed, another catalog opened) is dropped, not kept
        showing an empty grid."""
        self._drop_gone_folder()
        if not self._trees_visible():
            self._stale = True
        elif self._shown is None:
            self.refresh()
        else:
            self.refresh_timer.start()

    def _drop_gone_folder(self) -> None:
        folder, catalog = self.search.folder, self.session.catalog
        if folder is None:
            return
        roots = [r.path for r in catalog.roots()] if catalog is not None else []
        if not any(folder == root or root in folder.parents for root in roots):
            self.search.set_browse(None, self.search.taken)

    def _trees_visible(self) -> bool:
        return self.sidebar.currentWidget() in (self.sidebar.folders, self.sidebar.dates)

    def _tab_changed(self, _index: int) -> None:
        if self._stale and self._trees_visible():
            self._stale = False
            self.refresh()

    def refresh(self) -> None:
        """Read the folder tree and the timeline again; rebuild the trees only if something changed."""
        catalog = self.session.catalog
        state = (catalog.path, tuple(catalog.db.execute(
            "SELECT COUNT(*), COALESCE(MAX(rowid), 0), COALESCE(MAX(indexed_at), 0), "
            "COALESCE(SUM(status = 'indexed'), 0) FROM photos").fetchone())) if catalog is not None else None
        if state == self._read and self._shown is not None:
            return
        self._read = state
        data = (folder_tree(catalog), timeline(catalog)) if catalog is not None else ([], [])
        if data == self._shown:
            return
        self._shown = data
        self._fill_folders(data[0])
        self._fill_dates(data[1])

    def _fill_folders(self, roots: list[FolderNode]) -> None:
        model = self.sidebar.folder_model
        expanded = _expanded(self.sidebar.folders)
        model.clear()

        def add(parent, node: FolderNode) -> None:
            item = _item(f"{node.name} ({node.count:,})", node.path)
            item.setToolTip(str(node.path))
            parent.appendRow(item)
            for child in node.children:
                add(item, child)

        for root in roots:
            add(model.invisibleRootItem(), root)
        if not expanded and model.rowCount():  # at first: each library folder open on its sub-folders
            expanded = {model.item(i).data(FILTER_ROLE) for i in range(model.rowCount())}
        _expand(self.sidebar.folders, expanded, self.search.folder)

    def _fill_dates(self, years: list[YearCount]) -> None:
        model = self.sidebar.date_model
        expanded = _expanded(self.sidebar.dates)
        model.clear()
        for year in years:
            item = _item(f"{year.year} ({year.count:,})", date_range(year.year))
            for m in year.months:
                item.appendRow(_item(f"{MONTHS[m.month - 1]} ({m.count:,})", date_range(year.year, m.month)))
            model.appendRow(item)
        if not expanded and model.rowCount():  # at first: the newest year open on its months
            expanded = {model.item(0).data(FILTER_ROLE)}
        _expand(self.sidebar.dates, expanded, self.search.taken)

    # ------------------------------------------------------------------ clicks and the chip

    def folder_clicked(self, index: QModelIndex) -> None:
        """Show this folder's photos; the folder already shown, clicked again: every folder."""
        folder = index.data(FILTER_ROLE)
        self.search.set_browse(None if folder == self.search.folder else folder, self.search.taken)

    def date_clicked(self, index: QModelIndex) -> None:
        """Show the photos of this year or month; the one already shown, clicked again: every date."""
        taken = index.data(FILTER_ROLE)
        taken = tuple(taken) if taken is not None else None
        self.search.set_browse(self.search.folder, None if taken == self.search.taken else taken)

    def drop(self, which: str) -> None:
        """The chip's ×: stop filtering by the folder or by the date."""
        if which == "folder":
            self.search.set_browse(None, self.search.taken)
        else:
            self.search.set_browse(self.search.folder, None)

    def _show_filter(self) -> None:
        folder, taken = self.search.folder, self.search.taken
        catalog = self.session.catalog
        roots = [r.path for r in catalog.roots()] if catalog is not None else []
        self.chip.show_filter(describe(folder, None, roots) if folder is not None else "",
                              date_words(taken) if taken is not None else "")
        for view, value in ((self.sidebar.folders, folder), (self.sidebar.dates, taken)):
            if value is None:
                view.clearSelection()
            else:  # also when set from elsewhere (a screenshot's --folder): the row shown and in sight
                _expand(view, set(), value)

    # ------------------------------------------------------------------ sorting

    def add_sort_menu(self, menu: QMenu) -> QMenu:
        """View > Sort by: Relevance (a search's order; newest first otherwise), Date, Name; one checked."""
        sub = menu.addMenu("Sort &by")
        group = QActionGroup(self)
        for key in SORTS:
            act = QAction(SORT_NAMES[key], self, checkable=True)
            act.setChecked(key == self.search.sort)
            act.triggered.connect(lambda _=False, k=key: self.set_sort(k))
            group.addAction(act)
            sub.addAction(act)
            self.sort_actions[key] = act
        return sub

    def set_sort(self, by: str) -> None:
        by = valid_sort(by)
        self.settings.setValue(SORT_KEY, by)
        if by in self.sort_actions:
            self.sort_actions[by].setChecked(True)
        self.search.set_sort(by)


def _item(text: str, value) -> QStandardItem:
    item = QStandardItem(text)
    item.setData(value, FILTER_ROLE)
    item.setEditable(False)
    return item


def _walk(view: QTreeView, parent: QModelIndex | None = None):
    model = view.model()
    parent = parent or QModelIndex()
    for i in range(model.rowCount(parent)):
        index = model.index(i, 0, parent)
        yield index
        yield from _walk(view, index)


def _expanded(view: QTreeView) -> set:
    return {_key(ix.data(FILTER_ROLE)) for ix in _walk(view) if view.isExpanded(ix)}


def _key(value):
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _expand(view: QTreeView, keys: set, current) -> None:
    """Open the rows that were open, and select the one the filter shows (if it still exists)."""
    keys = {_key(k) for k in keys}
    current = _key(current)
    for ix in _walk(view):
        value = _key(ix.data(FILTER_ROLE))
        if value in keys:
            view.setExpanded(ix, True)
        if current is not None and value == current:
            view.setCurrentIndex(ix)
            parent = ix.parent()
            while parent.isValid():  # the row the filter shows is in sight, not inside a closed year or folder
                view.setExpanded(parent, True)
                parent = parent.parent()
            view.scrollTo(ix)

