"""Keyword writing (XMP sidecars) in the window: the Library menu's toggle, the status bar's indicator, and writing a
photo's sidecar after its tags changed.

Writing is off until the person turns it on, and while it is on the status bar says so plainly: Tagger then writes
into the photo folders, which it otherwise only reads. The rules live in :mod:`tagger.library.keyword_sync`.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel

from tagger.gui.session import Session
from tagger.library.catalog import CatalogError


class KeywordsController(QObject):
    notice = Signal(str, int)

    def __init__(self, session: Session, action: QAction, indicator: QLabel, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.action, self.indicator = action, indicator
        action.setCheckable(True)
        action.triggered.connect(self.set_writing)

    def refresh(self) -> None:
        """Menu check mark and indicator follow the catalog's setting (it lives in the catalog, not the app)."""
        from tagger.library.keyword_sync import load_settings

        catalog = self.session.catalog
        settings = load_settings(catalog) if catalog is not None else None
        on = bool(settings and settings.enabled)
        self.action.blockSignals(True)
        self.action.setChecked(on)
        self.action.blockSignals(False)
        self.action.setEnabled(catalog is not None and not catalog.read_only)
        self.indicator.setText("  XMP writing ON  " if on else "")
        self.indicator.setStyleSheet("color:white; background:#b9770e; border-radius:3px" if on else "")
        self.indicator.setToolTip(settings.describe() if on else "")
        self.indicator.setVisible(on)

    def set_writing(self, on: bool) -> None:
        """The menu's toggle: on writes every photo's tags now, then keeps the sidecars up to date."""
        from tagger.library.keyword_sync import export_keywords, save_settings

        catalog = self.session.catalog
        if catalog is None:
            return
        try:
            settings = save_settings(catalog, enabled=bool(on))
            if settings.enabled:
                report = export_keywords(catalog, models=self.session.keyword_models(), settings=settings)
                self.notice.emit(f"Keyword writing on: {report.written} sidecars written"
                                 + (f", {len(report.failed)} failed" if report.failed else ""), 8000)
            else:
                self.notice.emit("Keyword writing off: your photo folders are only read.", 8000)
        except CatalogError as exc:
            self.notice.emit(str(exc), 8000)
        self.refresh()

    def write(self, photo_ids: list[int]) -> None:
        """With writing on, put these photos' tags into their sidecars now (a no-op while it is off)."""
        from tagger.library.keyword_sync import sidecar_writer

        writer = sidecar_writer(self.session.catalog, self.session.keyword_models(),
                                on_failure=lambda path, why: self.notice.emit(
                                    f"Could not write the sidecar of {path}: {why}", 8000))
        if writer is not None:
            writer(photo_ids)
