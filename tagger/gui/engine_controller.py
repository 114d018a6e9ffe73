"""The engine's life in the window: start, restart and stop the engine service thread, tell the rest of the window
when the engine is ready, has failed or runs another model version, and show which model and device answer.

The service (:class:`tagger.gui.services.EngineService`) is replaced on every restart; the requests and answers pass
through this controller's own signals, so the rest of the window connects once and never to a service that is gone.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QSettings, QThread, Signal
from PySide6.QtWidgets import QLabel, QMessageBox, QWidget

from tagger.gui.services import EngineService
from tagger.gui.session import Session


def model_status(engine) -> tuple[str, str]:
    """The status bar's model text and tooltip: which trained version searches use right now."""
    if engine is None:
        return "loading model…", ""
    version = getattr(engine, "version", None)
    if version is None:
        return "model: untrained", f"{engine.model_id} (zero-shot: no trained version active)"
    n = len(version.labels)
    return (f"model v{version.number} (trained: {n} label{'s' if n != 1 else ''})",
            f"{version.model_id}: {', '.join(version.labels)}")


class EngineController(QObject):
    ready = Signal(object)  # Engine: loaded, searches and indexing may start
    failed = Signal(str)
    version_applied = Signal(object)  # ModelVersion | None: the engine now runs the catalog's active version
    notice = Signal(str)

    # requests, queued to the service's thread (connected to each new service)
    search_requested = Signal(int, str, object)  # seq, text, folder
    similar_requested = Signal(int, int)  # seq, photo id
    cloud_requested = Signal(int, object)  # seq, photo ids or None (the whole library)
    _refresh_version = Signal()

    # answers
    search_done = Signal(int, object)  # seq, list[Hit]
    cloud_done = Signal(int, object)  # seq, list[TagWeight]
    request_failed = Signal(int, str)

    def __init__(self, session: Session, settings: QSettings, model_label: QLabel, provider_label: QLabel,
                 dialog_parent: QWidget):
        super().__init__(dialog_parent)
        self.session = session
        self.settings = settings
        self.model_label, self.provider_label = model_label, provider_label
        self.dialog_parent = dialog_parent
        self.engine_thread: QThread | None = None
        self.service: EngineService | None = None
        self.error: str | None = None
        self.version_applied.connect(self.show_model_version)

    @property
    def running(self) -> bool:
        return self.engine_thread is not None

    def start(self) -> None:
        """Load the engine chosen in the settings in its own thread (minutes on a first run: it builds the model)."""
        backbone = str(self.settings.value("model/backbone", "lite0"))
        ws = self.settings.value("model/word_space", "") or None
        self.engine_thread = QThread(self)
        self.service = service = EngineService(self.session.db_path, backbone, Path(ws) if ws else None)
        service.moveToThread(self.engine_thread)
        self.engine_thread.started.connect(service.load)
        service.engine_ready.connect(self._ready)
        service.engine_failed.connect(self._failed)
        service.progress.connect(self._progress)
        service.search_done.connect(self.search_done)
        service.cloud_done.connect(self.cloud_done)
        service.request_failed.connect(self.request_failed)
        service.version_changed.connect(self.version_applied)
        service.notice.connect(self.notice)
        self.search_requested.connect(service.search)
        self.similar_requested.connect(service.similar)
        self.cloud_requested.connect(service.cloud)
        self._refresh_version.connect(service.refresh_version)
        self.engine_thread.start()

    def restart(self) -> None:
        """Another catalog or other model settings: a new engine (searches wait until it is ready)."""
        self.stop()
        self.session.engine = None
        self.start()

    def stop(self) -> None:
        """Let the service finish the request in hand, then end its thread; later requests reach no old service."""
        if self.engine_thread is None:
            return
        for sig in (self.search_requested, self.similar_requested, self.cloud_requested, self._refresh_version):
            try:
                sig.disconnect()
            except (RuntimeError, TypeError):
                pass
        self.engine_thread.quit()
        self.engine_thread.wait(60_000)
        self.engine_thread = None

    def follow_active_version(self) -> None:
        """A training or a rollback changed the catalog's active version: the service switches the shared engine
        between two requests, then ``version_applied`` follows (at once when there is no engine to switch)."""
        if self.running and self.session.engine is not None:
            self._refresh_version.emit()
        else:
            self.version_applied.emit(None)

    def show_model_version(self, _version=None) -> None:
        text, tip = model_status(self.session.engine)
        self.model_label.setText(text)
        self.model_label.setToolTip(tip)

    def _progress(self, stage: str, done: int, total: int) -> None:
        self.model_label.setText(f"preparing model: {stage} {done}/{total}" if total else f"preparing model: {stage}")

    def _ready(self, engine) -> None:
        from tagger.library.search import Library

        session = self.session
        session.engine = engine
        # tag clouds of single photos are cheap (32 stored tags): answered on the GUI thread, never the search table
        session.local_library = Library(session.catalog, engine) if session.catalog is not None else None
        self.error = None
        self.show_model_version()
        self.provider_label.setText(f"  {engine.runtime.device}  ")
        self.provider_label.setToolTip(engine.runtime.provider)
        self.ready.emit(engine)

    def _failed(self, message: str) -> None:
        self.error = message
        self.model_label.setText("model unavailable")
        QMessageBox.warning(self.dialog_parent, "Tagger: the model could not be loaded", message)
        self.failed.emit(message)
