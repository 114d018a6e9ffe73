"""The main window: builds the pages, panels, menus and status bar, opens the catalog, and wires the controllers that
do the work together.

Each job has its own controller: :mod:`~tagger.gui.engine_controller` (the engine service thread),
:mod:`~tagger.gui.search_controller` (grid contents, the result line and tag cloud),
:mod:`~tagger.gui.tag_list_controller` (the person's words: tag list and completion),
:mod:`~tagger.gui.details_controller` (the selected photo), :mod:`~tagger.gui.indexing_controller` (folders and
indexing), :mod:`~tagger.gui.keywords_controller` (XMP sidecars) and :mod:`~tagger.gui.labels_controller` (labels,
training, model versions). They share one :class:`~tagger.gui.session.Session` (catalog and engine) and talk through
signals connected here, so each can be read, and changed, on its own.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QItemSelectionModel, QSettings, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from tagger.gui.browse_controller import BrowseController
from tagger.gui.browse_panel import BrowseSidebar, FilterChip
from tagger.gui.busy import busy_indicator
from tagger.gui.details_controller import DetailsController
from tagger.gui.elided_label import ElidedLabel
from tagger.gui.engine_controller import EngineController
from tagger.gui.grid import GAP, PHOTO_ID_ROLE, PhotoGrid, PhotoGridModel
from tagger.gui.help_dialogs import AboutDialog, DataLocationsDialog, ShortcutsDialog
from tagger.gui.indexing_controller import IndexingController
from tagger.gui.keywords_controller import KeywordsController
from tagger.gui.labels_controller import LabelsController
from tagger.gui.labels_panel import LabelsPanel
from tagger.gui.library_files import new_library, open_library
from tagger.gui.library_watch import LibraryWatch
from tagger.gui.panel_fit import cramped_sizes
from tagger.gui.recent import recent_catalogs, remember_catalog
from tagger.gui.screen_fit import fit_window
from tagger.gui.search_controller import SearchController
from tagger.gui.session import Session
from tagger.gui.status_bar import StatusBar
from tagger.gui.tag_list import TagListPanel
from tagger.gui.tag_list_controller import TagListController
from tagger.gui.tag_list_model import UserWordsModel
from tagger.gui.tag_undo import TagUndo
from tagger.gui.viewer import PhotoViewer
from tagger.gui.viewer_controller import ViewerController
from tagger.gui.widgets import DetailsPanel, ResultBar, SettingsDialog, TagCloud, WelcomePage, people_chip
from tagger.library.catalog import Catalog, CatalogError

DEFAULT_SIZE = QSize(1400, 900)  # first start, made smaller on a smaller screen


class MainWindow(QMainWindow):
    def __init__(self, db_path: Path, settings: QSettings, *, start_engine: bool = True):
        super().__init__()
        self.settings = settings
        self._fitted_shown = False
        self.session = Session(Path(db_path))
        self.setWindowTitle("Tagger")
        self._build()
        self._build_menus()
        self._connect()
        self._restore_geometry()
        self.open_catalog()
        if start_engine:
            self.engine_ctl.start()

    @property
    def catalog(self) -> Catalog | None:
        return self.session.catalog

    @property
    def engine(self):
        """The loaded engine, None while it loads (or could not)."""
        return self.session.engine

    # ------------------------------------------------------------------ construction

    def _build(self) -> None:
        self.stack = QStackedWidget()
        self.setCentralWidget(self.stack)
        self.welcome = WelcomePage()
        self.stack.addWidget(self.welcome)

        self.main_page = QWidget()
        outer = QVBoxLayout(self.main_page)
        bar = QHBoxLayout()
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText("Search your photos with any words: kangaroo, boats at sunset, red car…")
        self.search_box.setClearButtonEnabled(True)
        bar.addWidget(self.search_box)
        self.people_button = people_chip()  # the People filter, beside the words it narrows
        bar.addWidget(self.people_button)
        self.result_label = ElidedLabel()  # elided: a long "No photo … matches …" must not widen the window
        bar.addWidget(self.result_label)
        outer.addLayout(bar)

        split = QSplitter(Qt.Orientation.Horizontal)
        self.words_model = UserWordsModel(self)
        self.tag_list = TagListPanel(self.words_model)  # the person's words, left of the grid
        split.addWidget(self.tag_list)
        thumb = int(self.settings.value("view/thumb_size", 160))
        self.model = PhotoGridModel(self.session.thumbnail_path, thumb_size=thumb)
        self.grid = PhotoGrid(self.model)
        grid_box = QWidget()
        grid_layout = QVBoxLayout(grid_box)
        grid_layout.setContentsMargins(0, 0, 0, 0)
        grid_layout.setSpacing(2)
        self.result_bar = ResultBar()  # the tag filter, words to try, the weaker results' fold: over the grid
        grid_layout.addWidget(self.result_bar)
        grid_layout.addWidget(self.grid, 1)
        split.addWidget(grid_box)
        side = QSplitter(Qt.Orientation.Vertical)
        cloud_box = QWidget()
        cloud_layout = QVBoxLayout(cloud_box)
        cloud_layout.setContentsMargins(0, 0, 0, 0)
        cloud_layout.addWidget(QLabel("<b>Tag cloud</b>"))
        self.cloud = TagCloud()
        cloud_layout.addWidget(self.cloud)
        side.addWidget(cloud_box)
        self.details = DetailsPanel()
        side.addWidget(self.details)
        side.setSizes([260, 640])
        self.side_tabs = QTabWidget()  # labels and retraining beside the cloud and details, not a third column
        self.side_tabs.addTab(side, "Tags && details")
        self.labels_panel = LabelsPanel()
        self.side_tabs.addTab(self.labels_panel, "Labels && training")
        split.addWidget(self.side_tabs)
        split.setSizes([170, 730, 380])
        split.setStretchFactor(1, 1)  # a wider window widens the grid
        outer.addWidget(split, 1)
        self.stack.addWidget(self.main_page)

        self.status_bar = StatusBar()
        self.setStatusBar(self.status_bar)
        self.xmp_action = QAction("&Write keywords to XMP sidecars", self)

        session, status = self.session, self.status_bar
        self.engine_ctl = EngineController(session, self.settings, status.model_label, status.provider_label, self)
        self.search_ctl = SearchController(session, self.search_box, self.result_label, self.model, self.grid,
                                           self.cloud, self, bar=self.result_bar, people_button=self.people_button)
        self.tags_ctl = TagListController(session, self.tag_list, self.words_model, self.search_box, self)
        self.keywords_ctl = KeywordsController(session, self.xmp_action, status.xmp_label, self)
        self.undo_ctl = TagUndo(session, self.keywords_ctl, self)
        self.details_ctl = DetailsController(session, self.details, self.grid, self.keywords_ctl, self,
                                             undo=self.undo_ctl)
        self.index_ctl = IndexingController(session, status, self)
        self.labels_ctl = LabelsController(session, self.labels_panel, self)
        self.browse = BrowseSidebar(self.tag_list)  # Tags | Folders | Dates left of the grid (the tag list moves in)
        split.insertWidget(0, self.browse)
        split.setSizes([210, 690, 380])
        self.browse_chip = FilterChip()  # the folder / date filter with its ×, over the grid
        grid_layout.insertWidget(0, self.browse_chip)
        self.browse_ctl = BrowseController(session, self.browse, self.browse_chip, self.search_ctl, self.settings, self)
        self.busy = busy_indicator()  # a search under way a while (the first one waits for the model): beside its line
        bar.insertWidget(bar.indexOf(self.result_label), self.busy)
        self.search_ctl.set_busy_indicator(self.busy)
        self.library_watch = LibraryWatch(session, self)  # photos another process adds or removes
        self.viewer = PhotoViewer()  # the full-window viewer: a page of its own, Esc back to the grid
        self.stack.addWidget(self.viewer)
        self.viewer_ctl = ViewerController(session, self.viewer, self.stack, self.grid, self.details_ctl, self,
                                           undo=self.undo_ctl)

    def _build_menus(self) -> None:
        index, search, details = self.index_ctl, self.search_ctl, self.details_ctl
        lib = self.menuBar().addMenu("&Library")
        self._action(lib, "&Add folder…", index.choose_folder, QKeySequence("Ctrl+O"))
        self._action(lib, "&Remove folder…", index.choose_folder_to_remove)
        self._action(lib, "Re-&index all", index.reindex, QKeySequence("Ctrl+R"))
        self._action(lib, "Show &failures…", index.show_failures)
        lib.addAction(self.xmp_action)
        lib.addSeparator()
        self._action(lib, "&New library…", lambda: new_library(self))
        self._action(lib, "Open &library…", lambda: open_library(self), QKeySequence("Ctrl+Shift+O"))
        lib.addSeparator()
        self._action(lib, "&Settings…", self.show_settings, QKeySequence("Ctrl+,"))
        self._action(lib, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        self.menuBar().addMenu("&Edit").addAction(self.undo_ctl.action)  # Undo tag change (Ctrl+Z)
        photo = self.menuBar().addMenu("&Photo")
        self._action(photo, "&Open", lambda: self.viewer_ctl.open(self.grid.current_photo()),
                     QKeySequence("Ctrl+Return"))
        shown = self.viewer_ctl.current_photo  # the photo in the viewer while it is open, else the grid's
        self._action(photo, "Open in &default app", lambda: details.open_photo(shown()))
        self._action(photo, "Show in &folder", lambda: details.reveal_photo(shown()), QKeySequence("Ctrl+Shift+R"))
        self._action(photo, "Find &similar", lambda: search.find_similar(self.viewer_ctl.leave()),
                     QKeySequence("Ctrl+Shift+F"))
        view = self.menuBar().addMenu("&View")
        self._action(view, "&Search", search.focus, QKeySequence.StandardKey.Find)
        self._action(view, "Show &all photos", search.show_all, QKeySequence("Ctrl+Shift+A"))
        self._action(view, "La&bels and training", lambda: self.side_tabs.setCurrentWidget(self.labels_panel),
                     QKeySequence("Ctrl+Shift+L"))
        self._action(view, "&Larger thumbnails", lambda: self.set_thumb_size(self.model.thumb_size + 32),
                     QKeySequence.StandardKey.ZoomIn)
        self._action(view, "S&maller thumbnails", lambda: self.set_thumb_size(self.model.thumb_size - 32),
                     QKeySequence.StandardKey.ZoomOut)
        self.browse_ctl.add_sort_menu(view)  # View > Sort by: relevance, date, name
        helpm = self.menuBar().addMenu("&Help")
        self._action(helpm, "&Keyboard shortcuts", lambda: ShortcutsDialog(self).exec(), QKeySequence("Ctrl+/"))
        self._action(helpm, "&Where my data lives", lambda: DataLocationsDialog(self).exec())
        self._action(helpm, "&About Tagger", lambda: AboutDialog(self).exec())
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self).activated.connect(self._escape)
        self.search_box.installEventFilter(self)  # Down from the search box into its results: see eventFilter

    def _escape(self) -> None:
        """Esc backs out one step: a selection in the grid is dropped (and the details panel empties), then the
        search is cleared; typing in the search box, Esc clears the search at once."""
        if self.grid.selected_ids() and not self.search_box.hasFocus():
            self.grid.clearSelection()
        else:
            self.search_box.clear()

    def eventFilter(self, watched, event) -> bool:
        """Down or Page Down in the search box enters the results, unless the word completion's list is open (its
        own Down); a filter, not a shortcut: a shortcut would take Down from that list too."""
        if (watched is self.search_box and event.type() == QEvent.Type.KeyPress
                and event.key() in (Qt.Key.Key_Down, Qt.Key.Key_PageDown)
                and event.modifiers() == Qt.KeyboardModifier.NoModifier):
            completer = self.search_box.completer()
            if completer is None or not completer.popup().isVisible():
                self.enter_results()
                return True
        return super().eventFilter(watched, event)

    def enter_results(self) -> None:
        """Down from the search box: the focus moves to the results, on the first photo (selected, so that the details
        show it) unless photos are selected there already."""
        if not self.model.rowCount():
            return
        self.grid.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if not self.grid.selected_ids():
            first = self.model.index(0)
            self.grid.selectionModel().setCurrentIndex(first, QItemSelectionModel.SelectionFlag.ClearAndSelect)
            self.grid.scrollTo(first)

    def _action(self, menu, text, slot, shortcut=None) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(shortcut)
        act.triggered.connect(slot)
        menu.addAction(act)
        return act

    def _connect(self) -> None:
        """Who tells whom what happened (connection order is the order the reactions run in)."""
        engine, search, details, index, labels = (self.engine_ctl, self.search_ctl, self.details_ctl, self.index_ctl,
                                                  self.labels_ctl)
        for ctl in (engine, search, details, index, self.keywords_ctl, self.undo_ctl, self.tags_ctl):
            ctl.notice.connect(self.status_bar.notify)
        self.status_bar.message.linkActivated.connect(self.undo_ctl.link_activated)

        search.search_requested.connect(engine.search_requested)
        search.similar_requested.connect(engine.similar_requested)
        search.cloud_requested.connect(engine.cloud_requested)
        engine.search_done.connect(search.search_done)
        engine.cloud_done.connect(search.cloud_done)
        engine.request_failed.connect(search.request_failed)
        engine.ready.connect(labels.update_state)
        engine.ready.connect(index.engine_ready)
        engine.ready.connect(search.engine_ready)
        engine.version_applied.connect(labels.version_applied)
        engine.version_applied.connect(search.version_applied)
        engine.version_applied.connect(details.show_selected)

        self.grid.selectionModel().selectionChanged.connect(self._selection_changed)
        self.model.modelReset.connect(details.show_selected)  # new rows drop the selection without a word
        self.grid.activated.connect(lambda idx: self.viewer_ctl.open(idx.data(PHOTO_ID_ROLE)))  # Enter, double-click
        self.viewer_ctl.notice.connect(self.status_bar.notify)
        self.viewer.auto.tag_clicked.connect(lambda word: (self.viewer_ctl.close(), search.search_for(word)))
        self.details.similar_requested.connect(search.find_similar)
        self.details.tag_clicked.connect(search.search_for)

        tags = self.tags_ctl  # the tag list filters the grid and follows tag edits at once (other changes: polled)
        self.tag_list.word_clicked.connect(search.toggle_tag)
        search.tags_changed.connect(self.words_model.set_active)
        tags.completer.activated[str].connect(search.search_for)
        self.details.user_tag_added.connect(tags.check)  # after the details controller made the edit
        self.details.user_tag_removed.connect(tags.check)
        self.undo_ctl.undone.connect(tags.check)
        index.finished.connect(tags.check)

        self.welcome.folder_chosen.connect(index.add_folder)
        self.welcome.reopen.connect(self.reopen_catalog)
        index.folder_added.connect(self._folder_added)
        index.folder_removed.connect(self._folder_removed)
        index.photos_changed.connect(self.reload_photos)
        index.running_changed.connect(labels.set_indexing)
        index.running_changed.connect(search.set_indexing)
        index.finished.connect(labels.refresh)  # labelled folders' photo counts
        index.finished.connect(self.reload_photos)
        index.finished.connect(search.schedule_cloud)
        labels.version_changed.connect(engine.follow_active_version)
        labels.busy_changed.connect(index.set_training_busy)
        index.running_changed.connect(self.library_watch.set_paused)  # indexing here reloads as it goes
        self.library_watch.changed.connect(self.reload_photos)  # e.g. a `tagger index` in a terminal
        self.library_watch.changed.connect(details.show_selected)  # a `tagger tag` on the photo shown

    def _selection_changed(self, *_) -> None:
        self.details_ctl.show_selected()
        self.search_ctl.schedule_cloud()

    def _restore_geometry(self) -> None:
        """The geometry of the last session, or 1400x900 centred at first start: either way inside the screen's
        available area with its frame and status bar (a geometry saved on a big monitor, opened on a laptop)."""
        geometry = self.settings.value("window/geometry")
        if geometry is not None and self.restoreGeometry(geometry):
            fit_window(self)
        else:
            fit_window(self, DEFAULT_SIZE)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        QTimer.singleShot(0, self.fit_panels)  # after the splitter has shared out the new width

    def fit_panels(self) -> None:
        """A small window: the side panels give way until the grid has two columns (tagger.gui.panel_fit)."""
        split = self.browse.parentWidget()
        min_grid = 2 * (self.model.thumb_size + GAP) + self.grid.verticalScrollBar().sizeHint().width() + 6
        mins = [split.widget(i).minimumSizeHint().width() for i in range(split.count())]
        sizes = cramped_sizes(split.sizes(), mins, split.indexOf(self.grid.parentWidget()), min_grid)
        if sizes is not None:
            split.setSizes(sizes)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if not self._fitted_shown:  # again with the frame the window manager drew, now that it is known
            self._fitted_shown = True
            fit_window(self)

    # ------------------------------------------------------------------ catalog

    def open_catalog(self) -> None:
        """Open the session's catalog: the library if it has folders, the welcome page if not, a readable error
        (and nothing touched) if it cannot be opened."""
        session = self.session
        self.undo_ctl.clear()  # its edits name photos of the catalog open until now
        try:
            session.catalog = Catalog.open(session.db_path)
        except CatalogError as exc:
            session.catalog = None
            self.welcome.show_error(f"{exc}\n\nChoose a folder to start a new library in another catalog, or fix "
                                    "the file and restart Tagger.")
            self.welcome.choose.setEnabled(False)
            self.stack.setCurrentWidget(self.welcome)
            self.labels_ctl.refresh()
            self._show_recent()
            return
        self._remember_catalog()
        self.reload_photos()
        self.stack.setCurrentWidget(self.main_page if session.catalog.roots() else self.welcome)
        self.labels_ctl.refresh()
        self._show_recent()

    def reopen_catalog(self, path: Path) -> None:
        self.session.db_path = Path(path)
        self.open_catalog()
        self.restart_engine()

    def restart_engine(self) -> None:
        self.engine_ctl.restart()
        self.labels_ctl.update_state()  # no training until the new engine is ready

    def reload_photos(self) -> None:
        """The library changed: grid (unless a search is shown), counts, keyword-writing indicator."""
        self.search_ctl.reload_library()
        self.keywords_ctl.refresh()
        self.index_ctl.update_counts()

    def _show_recent(self) -> None:
        db = str(self.session.db_path.absolute())
        self.welcome.set_recent([p for p in recent_catalogs(self.settings) if p != db])

    def _remember_catalog(self) -> None:
        catalog = self.session.catalog
        remember_catalog(self.settings, self.session.db_path)
        self.settings.setValue("library/folders", [str(r.path) for r in catalog.roots()] if catalog else [])

    def _folder_added(self, _folder: Path) -> None:
        self._remember_catalog()
        self.stack.setCurrentWidget(self.main_page)

    def _folder_removed(self, _folder: Path) -> None:
        self._remember_catalog()
        self.reload_photos()

    # ------------------------------------------------------------------ settings

    def show_settings(self) -> None:
        backbone, word_space = (str(self.settings.value("model/backbone", "lite0")),
                                str(self.settings.value("model/word_space", "") or ""))
        dlg = SettingsDialog(backbone, word_space, self.model.thumb_size, self)
        if dlg.exec():
            self.set_thumb_size(dlg.thumb.value())
            changed = dlg.backbone.currentText() != backbone or dlg.word_space.text() != word_space
            self.settings.setValue("model/backbone", dlg.backbone.currentText())
            self.settings.setValue("model/word_space", dlg.word_space.text())
            if changed:  # another model: every photo needs its vectors again
                self.restart_engine()
                self.index_ctl.reindex()

    def set_thumb_size(self, size: int) -> None:
        """Zoom the grid; the selection (and so the details panel) stays."""
        size = max(96, min(320, size))
        self.settings.setValue("view/thumb_size", size)
        selected, current = set(self.grid.selected_ids()), self.grid.current_photo()
        self.model.set_thumb_size(size)
        self.grid.apply_thumb_size(size)
        if selected:
            self.search_ctl.reselect(selected, current)

    def closeEvent(self, event) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.index_ctl.shutdown()
        self.labels_ctl.shutdown()
        self.tags_ctl.shutdown()
        self.engine_ctl.stop()
        self.model.loader.wait(2000)
        super().closeEvent(event)
