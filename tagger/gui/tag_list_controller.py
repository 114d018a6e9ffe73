"""Keeps the tag list and the search box's completion in step with the catalog.

The words are read off the GUI thread (:meth:`UserWords.from_catalog` takes ~0.75 s on 100k photos of which a third
carry keywords), on a connection of their own, one read at a time. Whether to read again is asked of SQLite in O(1)
once a second and right after a tag edit or an undo: ``PRAGMA data_version`` moves when another connection commits
(indexing, a training, a ``tagger tag`` in a terminal) and ``total_changes`` counts the window's own writes (tag edits,
labels). A library that keeps changing (indexing) is read at most every few times the last read took.
"""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal
from PySide6.QtWidgets import QLineEdit

from tagger.gui.services import readable_error
from tagger.gui.session import Session
from tagger.gui.tag_list import TagListPanel
from tagger.gui.tag_list_model import UserWordsModel, WordCompleter

POLL_MS = 1000  # how often the catalog is asked whether it changed (an O(1) question)
MAX_POLL_MS = 30_000
READ_COST_FACTOR = 5  # a changing catalog is read again after at least this many times the last read's duration


class WordsSignals(QObject):
    done = Signal(int, object, float)  # seq, UserWords, seconds the read took
    failed = Signal(int, str)


class WordsTask(QRunnable):
    """One read of the catalog's words on its own connection (SQLite connections stay in their thread)."""

    def __init__(self, seq: int, db_path: Path, signals: WordsSignals):
        super().__init__()
        self.seq, self.db_path, self.signals = seq, db_path, signals

    def run(self) -> None:
        from tagger.library.catalog import Catalog
        from tagger.library.user_words import UserWords

        start = time.perf_counter()
        try:
            with Catalog.open(self.db_path, migrate=False) as catalog:
                words = UserWords.from_catalog(catalog)
        except Exception as exc:  # said in the status bar; the list keeps what it showed
            self.signals.failed.emit(self.seq, readable_error(exc))
            return
        self.signals.done.emit(self.seq, words, time.perf_counter() - start)


class TagListController(QObject):
    notice = Signal(str, int)
    words_changed = Signal(object)  # UserWords | None: the list shows these words now

    def __init__(self, session: Session, panel: TagListPanel, model: UserWordsModel, box: QLineEdit,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.panel, self.model = session, panel, model
        self.words = None  # the UserWords shown
        self.reads = 0  # reads finished (tests: nothing is read while nothing changes)
        self.completer = WordCompleter(model, box)
        box.setCompleter(self.completer)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = WordsSignals()
        self._signals.done.connect(self._done)
        self._signals.failed.connect(self._failed)
        self._seen: tuple | None = None  # the catalog state last read (or being read)
        self._seq = 0
        self._reading: Path | None = None  # the catalog a read under way reads
        self._again = False
        self._last_error = ""
        self.timer = QTimer(self, interval=POLL_MS)
        self.timer.timeout.connect(self.check)
        self.timer.start()
        QTimer.singleShot(0, self.check)

    def _state(self) -> tuple | None:
        """Which catalog is open and how far its writes have got: O(1), no table is read."""
        catalog = self.session.catalog
        if catalog is None:
            return None
        conn = catalog.db.conn
        try:
            return str(catalog.path), conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes
        except sqlite3.Error:
            return None

    def check(self) -> None:
        """Read the words again if the catalog changed since the last read (nothing is read otherwise)."""
        state = self._state()
        if state == self._seen:
            return
        self._seen = state
        if state is None:
            self._seq += 1  # a read under way belongs to a catalog no longer open
            self._show(None)
            return
        self._read()

    def _read(self) -> None:
        if self._reading is not None:
            self._again = True  # once this read is in, another: it may have missed the newest change
            return
        self._seq += 1
        self._reading = self.session.catalog.path
        self._pool.start(WordsTask(self._seq, self._reading, self._signals))

    def _done(self, seq: int, words, seconds: float) -> None:
        self._reading = None
        self.reads += 1
        self._last_error = ""
        self.timer.setInterval(int(min(MAX_POLL_MS, max(POLL_MS, READ_COST_FACTOR * seconds * 1000))))
        catalog = self.session.catalog
        if seq == self._seq and catalog is not None:
            self._show(words)
        self._read_again()

    def _failed(self, seq: int, message: str) -> None:
        self._reading = None
        if seq == self._seq and message != self._last_error:  # said once, not once a second
            self._last_error = message
            self.notice.emit(f"Could not read your tags: {message}", 10000)
        self._read_again()

    def _read_again(self) -> None:
        if self._again and self.session.catalog is not None:
            self._again = False
            self._read()

    def _show(self, words) -> None:
        self.words = words
        self.model.set_words(words.words() if words is not None else [])
        self.words_changed.emit(words)

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Closing the window: no more reads, and the one under way finishes first."""
        self.timer.stop()
        self._pool.waitForDone(timeout_ms)
