"""The main window: library grid, search box, tag cloud, details, background indexing, status bar.

It reads light things from the catalog on the GUI thread (photo lists, details, counts: milliseconds) and sends all
heavy work (engine loading, search, clouds, indexing, image decoding) to :mod:`tagger.gui.services`.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QSettings, Qt, QThread, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from tagger.gui.grid import PHOTO_ID_ROLE, GridRow, PhotoGrid, PhotoGridModel
from tagger.gui.labels_panel import LabelsPanel, model_status
from tagger.gui.services import EngineService, ImageSignals, IndexJob, PreviewTask
from tagger.gui.widgets import DetailsPanel, FailuresDialog, SettingsDialog, TagCloud, WelcomePage
from tagger.library.catalog import Catalog, CatalogError

SEARCH_DEBOUNCE_MS = 250
CLOUD_DEBOUNCE_MS = 150
REFRESH_WHILE_INDEXING_MS = 2000
SEARCH_CLOUD_TOP = 24  # the cloud of a search describes its best hits, not the whole ranked library


class MainWindow(QMainWindow):
    search_requested = Signal(int, str, object)
    similar_requested = Signal(int, int)
    cloud_requested = Signal(int, object)
    version_refresh_requested = Signal()  # the catalog's active version changed: the engine service follows it

    def __init__(self, db_path: Path, settings: QSettings, *, start_engine: bool = True):
        super().__init__()
        self.db_path = Path(db_path)
        self.settings = settings
        self.catalog: Catalog | None = None
        self.engine = None
        self.local_library = None
        self.index_job: IndexJob | None = None
        self._seq = 0
        self._search_seq = -1
        self._cloud_seq = -1
        self._pending_index: list[Path] = []
        self._by_id: dict[int, GridRow] = {}
        self._index_started = 0.0
        self._last_refresh = 0.0
        self.search_active = False
        self.searching = False
        self.cloud_pending = False
        self.engine_error: str | None = None
        self.setWindowTitle("Tagger")
        self._build()
        self._restore_geometry()
        self.open_catalog()
        if start_engine:
            self.start_engine()

    # ------------------------------------------------------------------ construction

    def _build(self) -> None:
        self.stack = QStackedWidget()
        self.setCentralWidget(self.stack)
        self.welcome = WelcomePage()
        self.welcome.folder_chosen.connect(self.add_folder)
        self.welcome.reopen.connect(self.reopen_catalog)
        self.stack.addWidget(self.welcome)

        main = QWidget()
        outer = QVBoxLayout(main)
        bar = QHBoxLayout()
        self.search_box = QLineEdit()
        self.search_box.setPlaceholderText("Search your photos with any words: kangaroo, boats at sunset, red car…")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.textChanged.connect(self._search_text_changed)
        bar.addWidget(self.search_box)
        self.result_label = QLabel()
        bar.addWidget(self.result_label)
        outer.addLayout(bar)

        split = QSplitter(Qt.Orientation.Horizontal)
        thumb = int(self.settings.value("view/thumb_size", 160))
        self.model = PhotoGridModel(self._thumbnail_path, thumb_size=thumb)
        self.grid = PhotoGrid(self.model)
        self.grid.selectionModel().selectionChanged.connect(self._selection_changed)
        self.grid.activated.connect(lambda idx: self.open_photo(idx.data(PHOTO_ID_ROLE)))
        split.addWidget(self.grid)
        side = QSplitter(Qt.Orientation.Vertical)
        cloud_box = QWidget()
        cloud_layout = QVBoxLayout(cloud_box)
        cloud_layout.setContentsMargins(0, 0, 0, 0)
        cloud_layout.addWidget(QLabel("<b>Tag cloud</b>"))
        self.cloud = TagCloud()
        self.cloud.tag_clicked.connect(self.search_for)
        cloud_layout.addWidget(self.cloud)
        side.addWidget(cloud_box)
        self.details = DetailsPanel()
        self.details.similar_requested.connect(self.find_similar)
        self.details.open_requested.connect(self.open_photo)
        self.details.reveal_requested.connect(self.reveal_photo)
        self.details.tag_clicked.connect(self.search_for)
        self.details.user_tag_added.connect(self._add_user_tag)
        self.details.user_tag_removed.connect(self._remove_user_tag)
        side.addWidget(self.details)
        side.setSizes([260, 640])
        self.side_tabs = QTabWidget()  # labels and retraining beside the cloud and details, not a third column
        self.side_tabs.addTab(side, "Tags && details")
        self.labels_panel = LabelsPanel()
        self.labels_panel.version_changed.connect(self._active_version_changed)
        self.labels_panel.busy_changed.connect(self._training_busy_changed)
        self.side_tabs.addTab(self.labels_panel, "Labels && training")
        split.addWidget(self.side_tabs)
        split.setSizes([900, 380])
        outer.addWidget(split, 1)
        self.stack.addWidget(main)
        self.main_page = main

        self.search_timer = QTimer(self, singleShot=True, interval=SEARCH_DEBOUNCE_MS)
        self.search_timer.timeout.connect(self.run_search)
        self.cloud_timer = QTimer(self, singleShot=True, interval=CLOUD_DEBOUNCE_MS)
        self.cloud_timer.timeout.connect(self.request_cloud)

        self.preview_signals = ImageSignals()
        self.preview_signals.loaded.connect(self._preview_loaded)
        self._build_status_bar()
        self._build_menus()

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.counts_label = QLabel()
        sb.addWidget(self.counts_label)
        self.failures_button = QPushButton()
        self.failures_button.setFlat(True)
        self.failures_button.setStyleSheet("color:#c0392b")
        self.failures_button.clicked.connect(self.show_failures)
        self.failures_button.hide()
        sb.addWidget(self.failures_button)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.hide()
        sb.addWidget(self.progress)
        self.eta_label = QLabel()
        sb.addWidget(self.eta_label)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_indexing)
        self.cancel_button.hide()
        sb.addWidget(self.cancel_button)
        self.message = QLabel()  # our own line: QStatusBar.showMessage would paint over the widgets above
        self.message.setStyleSheet("color:#555")
        sb.addWidget(self.message, 1)
        self._message_timer = QTimer(self, singleShot=True)
        self._message_timer.timeout.connect(self.message.clear)
        self.model_label = QLabel("loading model…")
        self.model_label.setStyleSheet("color:gray")
        sb.addPermanentWidget(self.model_label)
        self.provider_label = QLabel()
        sb.addPermanentWidget(self.provider_label)
        self.xmp_label = QLabel()  # keyword writing: shown whenever Tagger may write into the photo folders
        sb.addPermanentWidget(self.xmp_label)

    def _build_menus(self) -> None:
        lib = self.menuBar().addMenu("&Library")
        self._action(lib, "&Add folder…", self._choose_folder, QKeySequence("Ctrl+O"))
        self._action(lib, "&Remove folder…", self._remove_folder)
        self._action(lib, "Re-&index all", self.reindex, QKeySequence("Ctrl+R"))
        self._action(lib, "Show &failures…", self.show_failures)
        self.xmp_action = self._action(lib, "&Write keywords to XMP sidecars", self.set_keyword_writing)
        self.xmp_action.setCheckable(True)
        lib.addSeparator()
        self._action(lib, "&Settings…", self.show_settings, QKeySequence("Ctrl+,"))
        self._action(lib, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        photo = self.menuBar().addMenu("&Photo")
        self._action(photo, "&Open", lambda: self.open_photo(self.current_photo()), QKeySequence("Ctrl+Return"))
        self._action(photo, "Show in &folder", lambda: self.reveal_photo(self.current_photo()),
                     QKeySequence("Ctrl+Shift+R"))
        self._action(photo, "Find &similar", lambda: self.find_similar(self.current_photo()),
                     QKeySequence("Ctrl+Shift+F"))
        view = self.menuBar().addMenu("&View")
        self._action(view, "&Search", self.focus_search, QKeySequence.StandardKey.Find)
        self._action(view, "Show &all photos", lambda: self.search_box.clear(), QKeySequence("Ctrl+Shift+A"))
        self._action(view, "La&bels and training", lambda: self.side_tabs.setCurrentWidget(self.labels_panel),
                     QKeySequence("Ctrl+Shift+L"))
        self._action(view, "&Larger thumbnails", lambda: self.set_thumb_size(self.model.thumb_size + 32),
                     QKeySequence.StandardKey.ZoomIn)
        self._action(view, "S&maller thumbnails", lambda: self.set_thumb_size(self.model.thumb_size - 32),
                     QKeySequence.StandardKey.ZoomOut)
        esc = QShortcut(QKeySequence(Qt.Key.Key_Escape), self.search_box)
        esc.activated.connect(self.search_box.clear)

    def _action(self, menu, text, slot, shortcut=None) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(shortcut)
        act.triggered.connect(slot)
        menu.addAction(act)
        return act

    def notify(self, text: str, msecs: int = 8000) -> None:
        """A passing message in the status bar (errors that need a decision use a dialog instead)."""
        self.message.setText(text)
        self.message.setToolTip(text)
        self._message_timer.start(msecs)

    def _restore_geometry(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)

    # ------------------------------------------------------------------ catalog

    def open_catalog(self) -> None:
        try:
            self.catalog = Catalog.open(self.db_path)
        except CatalogError as exc:
            self.catalog = None
            self.welcome.show_error(f"{exc}\n\nChoose a folder to start a new library in another catalog, or fix "
                                    "the file and restart Tagger.")
            self.welcome.choose.setEnabled(False)
            self.stack.setCurrentWidget(self.welcome)
            self.labels_panel.set_catalog(None, None)
            self._recent()
            return
        self._remember_catalog()
        self.reload_photos()
        self.stack.setCurrentWidget(self.main_page if self.catalog.roots() else self.welcome)
        self.labels_panel.set_catalog(self.catalog, self.db_path)
        self._recent()

    def _recent(self) -> None:
        recent = [p for p in (self.settings.value("recent/catalogs") or []) if p != str(self.db_path)]
        self.welcome.set_recent([p for p in recent if os.path.exists(p)])

    def _remember_catalog(self) -> None:
        recent = [str(self.db_path)] + [p for p in (self.settings.value("recent/catalogs") or []) if p != str(self.db_path)]
        self.settings.setValue("recent/catalogs", recent[:8])
        self.settings.setValue("library/folders", [str(r.path) for r in self.catalog.roots()] if self.catalog else [])

    def reopen_catalog(self, path: Path) -> None:
        self.db_path = Path(path)
        self.open_catalog()
        self.restart_engine()

    def _thumbnail_path(self, content_hash: str) -> Path:
        base = self.catalog.thumbnail_dir if self.catalog else self.db_path.parent / "none"
        return base / content_hash[:2] / f"{content_hash}.jpg"

    def reload_photos(self) -> None:
        """All indexed photos, newest capture date first (the browsing order people expect)."""
        rows = []
        if self.catalog is not None:
            for pid, h, rel in self.catalog.db.execute(
                "SELECT id, hash, rel_path FROM photos WHERE status = 'indexed' "
                "ORDER BY COALESCE(taken_at, '') DESC, id DESC"
            ):
                rows.append(GridRow(pid, h, rel.rsplit("/", 1)[-1]))
        self._by_id = {r.photo_id: r for r in rows}
        if not self.search_active:
            self.model.set_rows(rows)
            self.result_label.setText(f"{len(rows):,} photos")
        self.update_counts()

    def update_counts(self) -> None:
        if self.catalog is None:
            self.counts_label.setText("no catalog")
            return
        self.update_keyword_writing()
        c = self.catalog.counts()
        self.counts_label.setText(f"{c['indexed']:,} photos" + (f" · {c['gone']:,} gone" if c["gone"] else ""))
        self.failures_button.setText(f"{c['failed']:,} failed — show")
        self.failures_button.setVisible(c["failed"] > 0)

    # ------------------------------------------------------------------ engine

    def start_engine(self) -> None:
        backbone = str(self.settings.value("model/backbone", "lite0"))
        ws = self.settings.value("model/word_space", "") or None
        self.engine_thread = QThread(self)
        self.service = EngineService(self.db_path, backbone, Path(ws) if ws else None)
        self.service.moveToThread(self.engine_thread)
        self.engine_thread.started.connect(self.service.load)
        self.service.engine_ready.connect(self._engine_ready)
        self.service.engine_failed.connect(self._engine_failed)
        self.service.progress.connect(self._engine_progress)
        self.service.search_done.connect(self._search_done)
        self.service.cloud_done.connect(self._cloud_done)
        self.service.request_failed.connect(self._request_failed)
        self.search_requested.connect(self.service.search)
        self.similar_requested.connect(self.service.similar)
        self.cloud_requested.connect(self.service.cloud)
        self.service.version_changed.connect(self._version_applied)
        self.service.notice.connect(self.notify)
        self.version_refresh_requested.connect(self.service.refresh_version)
        self.engine_thread.start()

    def restart_engine(self) -> None:
        self.stop_engine()
        self.engine = None
        self.labels_panel.set_engine(None)
        self.start_engine()

    def stop_engine(self) -> None:
        thread = getattr(self, "engine_thread", None)
        if thread is not None:
            for sig in (self.search_requested, self.similar_requested, self.cloud_requested,
                        self.version_refresh_requested):
                try:
                    sig.disconnect()
                except (RuntimeError, TypeError):
                    pass
            thread.quit()
            thread.wait(60_000)
            self.engine_thread = None

    def _engine_progress(self, stage: str, done: int, total: int) -> None:
        self.model_label.setText(f"preparing model: {stage} {done}/{total}" if total else f"preparing model: {stage}")

    def _engine_ready(self, engine) -> None:
        from tagger.library.search import Library

        self.engine = engine
        # tag clouds of single photos are cheap (32 stored tags): answered on the GUI thread, never the search table
        self.local_library = Library(self.catalog, engine) if self.catalog is not None else None
        self.engine_error = None
        self._show_model_version()
        self.labels_panel.set_engine(engine)
        self.provider_label.setText(f"  {engine.runtime.device}  ")
        self.provider_label.setToolTip(engine.runtime.provider)
        if self._pending_index:
            folders, self._pending_index = self._pending_index, []
            self.start_indexing(folders)
        if self.search_box.text().strip():
            self.run_search()
        else:
            self.request_cloud()

    def _engine_failed(self, message: str) -> None:
        self.engine_error = message
        self.model_label.setText("model unavailable")
        QMessageBox.warning(self, "Tagger: the model could not be loaded", message)

    # ------------------------------------------------------------------ search

    def focus_search(self) -> None:
        self.search_box.setFocus()
        self.search_box.selectAll()

    def search_for(self, text: str) -> None:
        self.search_box.setText(text)
        self.search_timer.stop()
        self.run_search()

    def _search_text_changed(self, text: str) -> None:
        if not text.strip():
            self.search_timer.stop()
            self.search_active = False
            self.searching = False
            self.model.set_rows(self._library_rows())
            self.result_label.setText(f"{self.model.rowCount():,} photos")
            self.schedule_cloud()
            return
        self.search_timer.start()

    def _library_rows(self) -> list[GridRow]:
        return [GridRow(r.photo_id, r.hash, r.name) for r in self._by_id.values()]

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def run_search(self) -> None:
        text = self.search_box.text().strip()
        if not text:
            return
        self.search_active = True
        if self.engine is None:
            self.result_label.setText("waiting for the model…")
            return
        self.searching = True
        self._search_seq = self._next_seq()
        self.result_label.setText("searching…")
        self.search_requested.emit(self._search_seq, text, None)

    def find_similar(self, photo_id: int | None) -> None:
        if photo_id is None or self.engine is None:
            return
        name = self._by_id[photo_id].name if photo_id in self._by_id else str(photo_id)
        self.search_box.blockSignals(True)
        self.search_box.setText(f"similar to {name}")
        self.search_box.blockSignals(False)
        self.search_active = True
        self.searching = True
        self._search_seq = self._next_seq()
        self.similar_requested.emit(self._search_seq, photo_id)

    def _search_done(self, seq: int, hits) -> None:
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

    def _request_failed(self, seq: int, message: str) -> None:
        if seq == self._search_seq:
            self.searching = False
            self.result_label.setText("search failed")
        if seq == self._cloud_seq:
            self.cloud_pending = False
        self.notify(message, 8000)

    # ------------------------------------------------------------------ selection, cloud, details

    def current_photo(self) -> int | None:
        idx = self.grid.currentIndex()
        return idx.data(PHOTO_ID_ROLE) if idx.isValid() else None

    def select_photo(self, photo_id: int) -> bool:
        for i, r in enumerate(self.model.rows()):
            if r.photo_id == photo_id:
                idx = self.model.index(i)
                self.grid.selectionModel().setCurrentIndex(idx, QItemSelectionModel.SelectionFlag.ClearAndSelect)
                self.grid.scrollTo(idx)
                return True
        return False

    def _selection_changed(self, *_):
        self.show_details(self.current_photo() if self.grid.selected_ids() else None)
        self.schedule_cloud()

    def schedule_cloud(self) -> None:
        self.cloud_pending = True
        self.cloud_timer.start()

    def request_cloud(self) -> None:
        if self.engine is None:
            return
        selected = self.grid.selected_ids()
        if selected:
            ids, title = selected, f"{len(selected)} selected photo(s)"
        elif self.search_active:
            ids = [r.photo_id for r in self.model.rows()[:SEARCH_CLOUD_TOP]]
            title = f"top {len(ids)} results for “{self.search_box.text()}”"
        else:
            ids, title = None, "whole library"
        self._cloud_title = title
        self._cloud_seq = self._next_seq()
        self.cloud_pending = True
        self.cloud_requested.emit(self._cloud_seq, ids)

    def _cloud_done(self, seq: int, tags) -> None:
        if seq != self._cloud_seq:
            return
        self.cloud_pending = False
        self.cloud.set_tags(tags, getattr(self, "_cloud_title", ""))

    def show_details(self, photo_id: int | None) -> None:
        if photo_id is None or self.catalog is None:
            self.details.show_photo(None)
            return
        info = self.catalog.photo(photo_id) or {}
        path = self.catalog.photo_paths([photo_id]).get(photo_id)
        auto = self.local_library.tag_cloud([photo_id], limit=20) if self.local_library is not None else []
        self.details.show_photo(photo_id, info, path, auto, self.catalog.user_tags([photo_id]).get(photo_id, []))
        if path is not None:
            from PySide6.QtCore import QThreadPool

            QThreadPool.globalInstance().start(PreviewTask(photo_id, path, 900, self.preview_signals))

    def _preview_loaded(self, key, image) -> None:
        if key == self.details.photo_id:
            self.details.set_preview(QPixmap.fromImage(image) if not image.isNull() else None)

    def _add_user_tag(self, photo_id: int, tag: str) -> None:
        self.catalog.add_user_tag(photo_id, tag)
        self._write_keywords([photo_id])
        self.show_details(photo_id)

    def _remove_user_tag(self, photo_id: int, tag: str) -> None:
        self.catalog.remove_user_tag(photo_id, tag)
        self._write_keywords([photo_id])
        self.show_details(photo_id)

    # ------------------------------------------------------------------ keyword writing (XMP sidecars)

    def keyword_models(self) -> list[str]:
        """Models whose automatic tags may be written (none before the engine is ready: earlier ones are kept)."""
        if self.engine is None:
            return []
        version = getattr(self.engine, "version", None)
        return [self.engine.model_id] + ([version.model_id] if version is not None else [])

    def update_keyword_writing(self) -> None:
        from tagger.library.keyword_sync import load_settings

        settings = load_settings(self.catalog) if self.catalog is not None else None
        on = bool(settings and settings.enabled)
        self.xmp_action.blockSignals(True)
        self.xmp_action.setChecked(on)
        self.xmp_action.blockSignals(False)
        self.xmp_action.setEnabled(self.catalog is not None and not self.catalog.read_only)
        self.xmp_label.setText("  XMP writing ON  " if on else "")
        self.xmp_label.setStyleSheet("color:white; background:#b9770e; border-radius:3px" if on else "")
        self.xmp_label.setToolTip(settings.describe() if on else "")
        self.xmp_label.setVisible(on)

    def set_keyword_writing(self, on: bool) -> None:
        """The Library menu's toggle: on writes every photo's tags now, then keeps sidecars up to date."""
        from tagger.library.keyword_sync import export_keywords, save_settings

        if self.catalog is None:
            return
        try:
            settings = save_settings(self.catalog, enabled=bool(on))
            if settings.enabled:
                report = export_keywords(self.catalog, models=self.keyword_models(), settings=settings)
                self.notify(f"Keyword writing on: {report.written} sidecars written"
                            + (f", {len(report.failed)} failed" if report.failed else ""))
            else:
                self.notify("Keyword writing off: your photo folders are only read.")
        except CatalogError as exc:
            self.notify(str(exc))
        self.update_keyword_writing()

    def _write_keywords(self, photo_ids: list[int]) -> None:
        from tagger.library.keyword_sync import sidecar_writer

        writer = sidecar_writer(self.catalog, self.keyword_models(),
                                on_failure=lambda path, why: self.notify(f"Could not write the sidecar of {path}: {why}"))
        if writer is not None:
            writer(photo_ids)

    def open_photo(self, photo_id: int | None) -> None:
        path = self._path(photo_id)
        if path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    def reveal_photo(self, photo_id: int | None) -> None:
        path = self._path(photo_id)
        if path is None:
            return
        from PySide6.QtCore import QProcess

        if sys.platform == "darwin":
            QProcess.startDetached("open", ["-R", str(path)])
        elif sys.platform.startswith("win"):
            QProcess.startDetached("explorer", [f"/select,{path}"])
        else:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent)))

    def _path(self, photo_id: int | None) -> Path | None:
        if photo_id is None or self.catalog is None:
            return None
        path = self.catalog.photo_paths([photo_id]).get(photo_id)
        if path is None or not path.exists():
            self.notify(f"the file is gone: {path}", 8000)
            return None
        return path

    # ------------------------------------------------------------------ folders and indexing

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a photo folder")
        if folder:
            self.add_folder(Path(folder))

    def add_folder(self, folder: Path) -> None:
        if self.catalog is None:
            return
        if not folder.is_dir():
            QMessageBox.warning(self, "Tagger", f"The folder {folder} does not exist (any more).")
            return
        self.catalog.add_root(folder)
        self._remember_catalog()
        self.stack.setCurrentWidget(self.main_page)
        self.start_indexing([folder])

    def _remove_folder(self) -> None:
        if self.catalog is None or not self.catalog.roots():
            return
        roots = {str(r.path): r for r in self.catalog.roots()}
        choice, ok = QInputDialog.getItem(self, "Remove a library folder",
                                          "Forget this folder (your files are not touched):", list(roots), 0, False)
        if ok and choice:
            self.catalog.remove_root(roots[choice].id)
            self._remember_catalog()
            self.reload_photos()

    def reindex(self) -> None:
        if self.catalog is not None:
            missing = [r.path for r in self.catalog.roots() if not r.path.is_dir()]
            if missing:
                self.notify("folder gone (is the drive connected?): " + ", ".join(map(str, missing)), 10000)
            self.start_indexing([r.path for r in self.catalog.roots() if r.path.is_dir()])

    def start_indexing(self, folders: list[Path]) -> None:
        if not folders:
            return
        if self.engine is None:
            self._pending_index.extend(folders)
            self.notify("indexing starts when the model is ready…", 5000)
            return
        if (self.index_job is not None and self.index_job.isRunning()) or self.labels_panel.busy:
            self._pending_index.extend(folders)  # one at a time: indexing waits for a training or a switch
            return
        self.index_job = IndexJob(self.db_path, self.engine, folders)
        self.index_job.progress.connect(self._index_progress)
        self.index_job.finished_ok.connect(self._index_finished)
        self.index_job.failed.connect(self._index_failed)
        self._index_started = time.monotonic()
        self.progress.setRange(0, 0)
        self.progress.show()
        self.cancel_button.show()
        self.cancel_button.setEnabled(True)
        self.eta_label.setText("scanning…")
        self.labels_panel.set_indexing(True)
        self.index_job.start()

    def cancel_indexing(self) -> None:
        if self.index_job is not None:
            self.index_job.cancel()
            self.cancel_button.setEnabled(False)
            self.eta_label.setText("stopping after this batch…")

    @property
    def indexing(self) -> bool:
        return self.index_job is not None and self.index_job.isRunning()

    def _index_progress(self, stage: str, done: int, total: int) -> None:
        if stage == "indexing" and total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
            elapsed = time.monotonic() - self._index_started
            rate = done / elapsed if elapsed > 0 else 0
            eta = (total - done) / rate if rate > 0 else 0
            self.eta_label.setText(f"{done:,}/{total:,} · {rate:.0f}/s · {_duration(eta)} left")
        else:
            self.eta_label.setText(f"{stage} {done:,}")
        now = time.monotonic()
        if now - self._last_refresh > REFRESH_WHILE_INDEXING_MS / 1000:
            self._last_refresh = now
            self.reload_photos()

    def _index_finished(self, stats) -> None:
        self._index_done()
        msg = (f"indexed {stats.indexed:,}, failed {stats.failed:,}, moved {stats.moved:,}, gone {stats.gone:,}, "
               f"unchanged {stats.unchanged:,} in {stats.seconds:.0f} s")
        if stats.cancelled:
            msg = "indexing cancelled: " + msg + " (it resumes next time)"
        for folder, why in stats.skipped_dirs:
            msg += f"; could not read {folder}: {why}"
        self.notify(msg, 15000)

    def _index_failed(self, message: str) -> None:
        self._index_done()
        self.notify(message, 15000)
        if "cancelled" not in message:
            QMessageBox.warning(self, "Tagger: indexing stopped", message)

    def _index_done(self) -> None:
        self.labels_panel.set_indexing(False)
        self.labels_panel.refresh()  # labelled folders' photo counts
        self.progress.hide()
        self.cancel_button.hide()
        self.eta_label.setText("")
        self.reload_photos()
        self.schedule_cloud()
        if self._pending_index:
            folders, self._pending_index = self._pending_index, []
            QTimer.singleShot(0, lambda: self.start_indexing(folders))

    # ------------------------------------------------------------------ labels and retraining

    def _show_model_version(self) -> None:
        text, tip = model_status(self.engine)
        self.model_label.setText(text)
        self.model_label.setToolTip(tip)

    def _active_version_changed(self) -> None:
        """A training or a rollback finished: the engine service switches the shared engine between two requests."""
        if getattr(self, "engine_thread", None) is not None and self.engine is not None:
            self.version_refresh_requested.emit()
        else:
            self._version_applied(None)

    def _version_applied(self, _version=None) -> None:
        """Searches, clouds, details and indexing now use the active version: show their new answers."""
        self._show_model_version()
        self.labels_panel.version_applied()
        text = self.search_box.text().strip()
        if self.search_active and text and not text.startswith("similar to"):
            self.run_search()
        else:
            self.schedule_cloud()
        self.show_details(self.current_photo() if self.grid.selected_ids() else None)

    def _training_busy_changed(self, busy: bool) -> None:
        if not busy and self._pending_index and not self.indexing:
            folders, self._pending_index = self._pending_index, []
            QTimer.singleShot(0, lambda: self.start_indexing(folders))

    # ------------------------------------------------------------------ dialogs and settings

    def show_failures(self) -> None:
        if self.catalog is None:
            return
        self._failures_dialog = FailuresDialog(self.catalog.failures(), self)
        self._failures_dialog.show()

    def show_settings(self) -> None:
        dlg = SettingsDialog(str(self.settings.value("model/backbone", "lite0")),
                             str(self.settings.value("model/word_space", "") or ""), self.model.thumb_size, self)
        if dlg.exec():
            self.set_thumb_size(dlg.thumb.value())
            changed = (dlg.backbone.currentText() != self.settings.value("model/backbone", "lite0")
                       or dlg.word_space.text() != (self.settings.value("model/word_space", "") or ""))
            self.settings.setValue("model/backbone", dlg.backbone.currentText())
            self.settings.setValue("model/word_space", dlg.word_space.text())
            if changed:
                self.restart_engine()
                self.reindex()

    def set_thumb_size(self, size: int) -> None:
        size = max(96, min(320, size))
        self.settings.setValue("view/thumb_size", size)
        self.model.set_thumb_size(size)
        self.grid.apply_thumb_size(size)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.settings.setValue("window/geometry", self.saveGeometry())
        if self.indexing:
            self.index_job.cancel()
            self.index_job.wait(30_000)
        self.labels_panel.shutdown()
        self.stop_engine()
        self.model.loader.wait(2000)
        super().closeEvent(event)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"
