"""Undo of tag changes in the window: Ctrl+Z, Edit > Undo tag change and the status bar's "Undo" link.

A tag typed with 300 photos selected lands on all of them at once, so a slip must be cheap to take back. Each edit is
kept as the catalog's :class:`~tagger.library.catalog_tags.TagEdit` (the rows it really added and removed), and undo
asks the catalog to put exactly those back: a tag some photos already had stays on them, a removed one returns with
its source and date. The stack belongs to one catalog: opening another forgets it.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QLineEdit

from tagger.gui.keywords_controller import KeywordsController
from tagger.gui.services import readable_error
from tagger.gui.session import Session
from tagger.library.catalog_tags import TagEdit

UNDO_DEPTH = 50  # edits kept: plenty for slips, small enough to never matter in memory
UNDO_LINK = "undo"  # the href of the status bar's link


class TagUndo(QObject):
    notice = Signal(str, int)
    undone = Signal(list)  # photo ids whose tags the undo changed (the details panel shows them again)

    def __init__(self, session: Session, keywords: KeywordsController, parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.keywords = session, keywords
        self._done: list[tuple[TagEdit, str]] = []
        self.action = QAction("&Undo tag change", self)
        self.action.setShortcut(QKeySequence.StandardKey.Undo)
        self.action.triggered.connect(self.undo)
        self._update()

    def push(self, edit: TagEdit, what: str) -> None:
        """Remember an edit that changed something; ``what`` says it in the past tense ("added “beach” to 3
        photos")."""
        if edit.added or edit.removed:
            self._done = [*self._done, (edit, what)][-UNDO_DEPTH:]
            self._update()

    def undo(self) -> bool:
        """Take back the latest edit still kept; a failure (locked, full or read-only disk) is said and the edit
        stays undoable."""
        catalog = self.session.catalog
        if not self._done or catalog is None:
            return False
        edit, what = self._done[-1]
        try:
            back = catalog.undo_tag_edit(edit)
        except Exception as exc:  # shown to the user: nothing was undone
            self.notice.emit(f"Could not undo ({what}): {readable_error(exc)}", 15000)
            return False
        self._done.pop()
        self._update()
        self.keywords.write(back.changed_ids)
        self.notice.emit(f"Undid: {what}", 8000)
        self.undone.emit(back.changed_ids)
        return True

    def clear(self) -> None:
        """Forget every edit (another catalog is open: its photo ids mean other photos)."""
        self._done = []
        self._update()

    def offer(self, what: str) -> str:
        """The status bar's line for a new edit, with an Undo link (rich text: the words are escaped)."""
        return f"{html.escape(what[:1].upper() + what[1:])} — <a href='{UNDO_LINK}'>Undo</a> (Ctrl+Z)"

    def link_activated(self, href: str) -> None:
        if href == UNDO_LINK:
            self.undo()

    def watch(self, box: QLineEdit) -> None:
        """Let Ctrl+Z in the (empty) tag box undo the tag change: a line edit otherwise keeps the key for its own
        text, and after Enter the box is empty with the focus still in it, exactly when a slip is noticed."""
        box.installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:
        if (event.type() == QEvent.Type.ShortcutOverride and isinstance(obj, QLineEdit) and not obj.text()
                and event.matches(QKeySequence.StandardKey.Undo) and self._done):
            event.ignore()  # not the box's: the window's Undo action takes it
            return True
        return super().eventFilter(obj, event)

    def _update(self) -> None:
        self.action.setEnabled(bool(self._done))
        self.action.setToolTip(f"Undo: {self._done[-1][1]}" if self._done else "Nothing to undo")
