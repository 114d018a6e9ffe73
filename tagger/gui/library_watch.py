"""Notices changes other processes make to the open catalog (a ``tagger index`` in a terminal), so that the grid and
the status bar's photo count follow them without a restart.

Asked of SQLite in O(1) once a second, as the tag list does (:mod:`tagger.gui.tag_list_controller`): ``PRAGMA
data_version`` moves when another connection commits. The window's own indexing reloads the library itself, so the
watch is paused while it runs.
"""

from __future__ import annotations

import sqlite3

from PySide6.QtCore import QObject, QTimer, Signal

from tagger.gui.session import Session

POLL_MS = 1000


class LibraryWatch(QObject):
    changed = Signal()  # another connection committed to the open catalog

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.paused = False
        self._seen = self._state()
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self.check)
        self.timer.start()
        QTimer.singleShot(0, self.check)  # the state of the catalog the window opens after building this

    def _state(self) -> tuple | None:
        catalog = self.session.catalog
        if catalog is None:
            return None
        try:
            return str(catalog.path), catalog.db.conn.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error:
            return None

    def set_paused(self, paused: bool) -> None:
        """Paused while the window indexes (it reloads as it goes); on resuming, what changed meanwhile is seen."""
        self.paused = paused
        if not paused:
            self.check()

    def check(self) -> None:
        state = self._state()
        if state == self._seen or self.paused:
            return
        known, self._seen = self._seen, state
        if known is not None and state is not None and known[0] == state[0]:  # not a catalog just (re)opened
            self.changed.emit()
