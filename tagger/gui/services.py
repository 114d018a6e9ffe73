"""Background work for the GUI: the engine/search service thread, indexing jobs, the details preview loader.

Nothing here decides anything about photos: it runs the core (:mod:`tagger.engine.core`, :mod:`tagger.library.indexer`,
:mod:`tagger.library.search`) off the GUI thread and turns results into Qt signals. Each thread opens its own catalog
connection (SQLite connections must not be shared between threads).
"""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThread, Signal, Slot
from PySide6.QtGui import QImage

from tagger.progress import Cancelled


def readable_error(exc: BaseException) -> str:
    """One line a person can act on, never a traceback: the same rule as the CLI's (``tagger.errors``)."""
    from tagger.errors import describe

    return describe(exc)


@dataclass(frozen=True)
class SearchScope:
    """Where a search looks: a folder (None: the whole library), the tag filter (only photos carrying every one of
    these words: tags, keywords, labels) and the People filter (only photos with a face)."""

    folder: Path | None = None
    tags: tuple[str, ...] = ()
    people: bool = False
    taken: tuple[str, str] | None = None  # only photos dated in this range (``tagger.library.browse.date_range``)


class EngineService(QObject):
    """Lives in its own thread: loads the engine once, then answers search, similar and tag-cloud requests.

    Requests carry a sequence number; the window ignores answers to requests it has since replaced.
    """

    engine_ready = Signal(object)  # Engine
    engine_failed = Signal(str)
    progress = Signal(str, int, int)
    search_done = Signal(int, object)  # seq, SearchResult (a search) or list[Hit] (find similar)
    cloud_done = Signal(int, object)  # seq, list[TagWeight]
    request_failed = Signal(int, str)
    version_changed = Signal(object)  # ModelVersion | None: the engine now runs the catalog's active version
    notice = Signal(str)  # something the user should know that is not an error of a request

    def __init__(self, db_path: Path, backbone: str = "lite0", word_space: Path | None = None):
        super().__init__()
        self.db_path = db_path
        self.backbone = backbone
        self.word_space = word_space
        self.engine = None
        self.library = None

    @Slot()
    def load(self) -> None:
        try:
            from tagger.engine.core import Engine
            from tagger.library.catalog import Catalog
            from tagger.library.search import Library

            self.engine = Engine.load(self.backbone, self.word_space,
                                      progress=lambda s, d, t: self.progress.emit(s, d, t))
            _ = self.engine.tag_set  # build or load the tag index now, not on the first cloud
            catalog = Catalog.open(self.db_path)
            self._activate_version(catalog)  # search, clouds and indexing all use the catalog's active version
            self.library = Library(catalog, self.engine)
            self.engine_ready.emit(self.engine)
        except Exception as exc:
            traceback.print_exc()
            self.engine_failed.emit(readable_error(exc))

    def _activate_version(self, catalog) -> None:
        from tagger.training.retrain import activate_catalog_version

        activate_catalog_version(catalog, self.engine, notice=self.notice.emit)

    @Slot()
    def refresh_version(self) -> None:
        """After a training or a rollback: switch the shared engine here, between two requests, never mid-search."""
        if self.library is None:
            return
        try:
            self._activate_version(self.library.catalog)
        except Exception as exc:
            self.notice.emit(readable_error(exc))
        self.version_changed.emit(self.engine.version)

    @Slot(int, str, object)
    def search(self, seq: int, text: str, scope) -> None:
        """Answer with the whole :class:`~tagger.library.search.SearchResult` (how many match, suggestions), not just
        its hits: the window shows the matches and folds the weaker results away. ``scope``: a SearchScope, or a
        folder (None: everywhere)."""
        if self.library is None:
            return
        if not isinstance(scope, SearchScope):
            scope = SearchScope(folder=scope)
        try:
            self.search_done.emit(seq, self.library.find(text, limit=100_000, folder=scope.folder, tags=scope.tags,
                                                         people=scope.people, taken=scope.taken))
        except Exception as exc:
            self.request_failed.emit(seq, readable_error(exc))

    @Slot(int, int)
    def similar(self, seq: int, photo_id: int) -> None:
        if self.library is None:
            return
        try:
            self.search_done.emit(seq, self.library.similar(photo_id, limit=500))
        except Exception as exc:
            self.request_failed.emit(seq, readable_error(exc))

    @Slot(int, object)
    def cloud(self, seq: int, photo_ids) -> None:
        if self.library is None:
            return
        try:
            ids = list(photo_ids) if photo_ids is not None else self.library.table().ids.tolist()
            sample = ids if len(ids) <= 5000 else ids[:: max(1, len(ids) // 5000)]  # a big library: sample it
            self.cloud_done.emit(seq, self.library.tag_cloud(sample, limit=40))
        except Exception as exc:
            self.request_failed.emit(seq, readable_error(exc))


class CatalogJob(QThread):
    """A cancellable background job on its own catalog connection (SQLite connections stay in their thread): the
    core's progress callbacks become signals, Cancelled becomes ``cancelled``, any error a readable ``failed``."""

    progress = Signal(str, int, int)
    finished_ok = Signal(object)
    cancelled = Signal()
    failed = Signal(str)

    def __init__(self, db_path: Path, engine):
        super().__init__()
        self.db_path, self.engine = Path(db_path), engine
        self._stop = False

    def cancel(self) -> None:
        self._stop = True

    def should_stop(self) -> bool:
        return self._stop

    def report(self, stage: str, done: int, total: int) -> None:
        self.progress.emit(stage, done, total)

    def work(self, catalog):
        """The job itself; its return value is emitted with ``finished_ok``."""
        raise NotImplementedError

    def run(self) -> None:
        from tagger.library.catalog import Catalog

        try:
            with Catalog.open(self.db_path) as catalog:
                result = self.work(catalog)
            self.finished_ok.emit(result)
        except Cancelled:
            self.cancelled.emit()
        except Exception as exc:
            _log_unexpected(exc)
            self.failed.emit(readable_error(exc))


def _log_unexpected(exc: BaseException) -> None:
    """A bug's traceback goes to stderr for the report; expected failures ("label a folder first") do not."""
    from tagger.errors import user_message

    if user_message(exc) is None:
        traceback.print_exception(exc)


class IndexJob(CatalogJob):
    """Indexes folders in the background; ``cancel()`` stops after the batch in hand (nothing half-written)."""

    def __init__(self, db_path: Path, engine, folders: list[Path]):
        super().__init__(db_path, engine)
        self.folders = folders
        self.cancelled.connect(lambda: self.failed.emit("Indexing cancelled."))

    def work(self, catalog):
        from tagger.library.indexer import Indexer

        indexer = Indexer(catalog, self.engine)
        indexer.on_indexed = _sidecar_writer(catalog, self.engine)
        return indexer.index(self.folders, progress=self.report, should_stop=self.should_stop)


def _sidecar_writer(catalog, engine):
    """With keyword writing on, the indexer writes each new photo's keywords to its XMP sidecar."""
    from tagger.gui.session import keyword_models
    from tagger.library.keyword_sync import sidecar_writer

    return sidecar_writer(catalog, keyword_models(engine))


class ImageSignals(QObject):
    loaded = Signal(object, QImage)  # key, image (null image if it could not be read)


class PreviewTask(QRunnable):
    """Decodes the original photo upright at about ``side`` pixels for the details panel."""

    def __init__(self, key: object, path: Path, side: int, signals: ImageSignals):
        super().__init__()
        self.key, self.path, self.side, self.signals = key, path, side, signals

    def run(self) -> None:
        from PIL import Image

        from tagger.engine.imageio import ImageDecodeError, open_upright

        try:
            img = open_upright(self.path, min_side=self.side)
            img.thumbnail((self.side, self.side), Image.Resampling.LANCZOS)
            data = img.tobytes("raw", "RGB")
            qimg = QImage(data, img.width, img.height, img.width * 3, QImage.Format.Format_RGB888).copy()
        except (ImageDecodeError, OSError):
            qimg = QImage()
        self.signals.loaded.emit(self.key, qimg)


def wait_for(predicate, timeout: float = 30.0) -> bool:
    """Process events until ``predicate()`` holds (screenshots and tests; never used inside the running app)."""
    from PySide6.QtCore import QCoreApplication

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        QCoreApplication.processEvents()
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()
