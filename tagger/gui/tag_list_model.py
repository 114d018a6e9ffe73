"""The person's words (tags typed in Tagger, keywords read from the photos' files, folder labels) as one Qt model: the
tag list shows it, the search box completes from it.

Completion compares the words the way search finds them (:func:`tagger.library.user_words.fold`: case and accents
aside, "caf" finds "Café"), by prefix, most used first: what :meth:`UserWords.complete` does, done by Qt's completer
over the same list so that the popup follows every keystroke without a call back into the core.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QFont, QIcon, QPixmap
from PySide6.QtWidgets import QApplication, QCompleter, QStyle

from tagger.library.user_words import fold

TEXT_ROLE = Qt.ItemDataRole.UserRole + 1  # the word as the person spells it
FOLDED_ROLE = Qt.ItemDataRole.UserRole + 2  # its case- and accent-free spelling: what completion compares
COUNT_ROLE = Qt.ItemDataRole.UserRole + 3
WORD_COLUMN, COUNT_COLUMN = 0, 1
SOURCE_NAMES = {"tag": "your tag", "keyword": "keyword in the photos' files", "label": "label of a folder"}


@dataclass(frozen=True)
class ListedWord:
    text: str
    folded: str
    count: int
    sources: frozenset[str]

    @property
    def source(self) -> str:
        """The source the list marks: a folder label, else a keyword from the files, else a tag typed in Tagger."""
        return next((s for s in ("label", "keyword") if s in self.sources), "tag")


class UserWordsModel(QAbstractTableModel):
    """Word and photo count per row, most used first; the words of the tag filter in bold."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._words: list[ListedWord] = []
        self._active: set[str] = set()
        self._icons: dict[str, QIcon] | None = None

    def set_words(self, words: Sequence) -> None:
        """``words``: :class:`~tagger.library.user_words.UserWord` objects (``text``, ``count``, ``sources``), in the
        order to show."""
        self.beginResetModel()
        self._words = [ListedWord(w.text, fold(w.text), w.count, frozenset(w.sources)) for w in words]
        self.endResetModel()

    def set_active(self, words: Sequence[str]) -> None:
        """The words of the tag filter (shown in bold)."""
        self._active = {fold(w) for w in words}
        if self._words:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._words) - 1, self.columnCount() - 1))

    def words(self) -> list[ListedWord]:
        return list(self._words)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._words)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else 2

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._words):
            return None
        w = self._words[index.row()]
        if role == TEXT_ROLE:
            return w.text
        if role == FOLDED_ROLE:
            return w.folded
        if role == COUNT_ROLE:
            return w.count
        if role == Qt.ItemDataRole.ToolTipRole:
            sources = ", ".join(SOURCE_NAMES[s] for s in ("tag", "keyword", "label") if s in w.sources)
            return f"“{w.text}”: {w.count:,} photo{'' if w.count == 1 else 's'} ({sources}). Click to show them."
        if role == Qt.ItemDataRole.FontRole and w.folded in self._active:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.BackgroundRole and w.folded in self._active:
            return QColor("#e4eef9")
        if index.column() == WORD_COLUMN:
            if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
                return w.text
            if role == Qt.ItemDataRole.DecorationRole:
                return self._icon(w.source)
        else:
            if role == Qt.ItemDataRole.DisplayRole:
                return f"{w.count:,}"
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if role == Qt.ItemDataRole.ForegroundRole:
                return QColor("gray")
        return None

    def _icon(self, source: str) -> QIcon:
        """A discreet mark of where a word comes from: a file for a keyword, a folder for a label, nothing (a blank
        of the same size, so that the words line up) for a tag typed in Tagger."""
        if self._icons is None:
            style = QApplication.style()
            blank = QPixmap(16, 16)
            blank.fill(Qt.GlobalColor.transparent)
            self._icons = {"keyword": style.standardIcon(QStyle.StandardPixmap.SP_FileIcon),
                           "label": style.standardIcon(QStyle.StandardPixmap.SP_DirIcon), "tag": QIcon(blank)}
        return self._icons[source]


class WordCompleter(QCompleter):
    """Completes the search box with the person's words: the folded prefix against the folded words (case and
    accents aside), most used first (the model's order), inserting the word as the person spells it."""

    def __init__(self, model: UserWordsModel, parent=None):
        super().__init__(model, parent)
        self.setCompletionColumn(WORD_COLUMN)
        self.setCompletionRole(FOLDED_ROLE)
        self.setCaseSensitivity(Qt.CaseSensitivity.CaseSensitive)  # both sides are folded already
        self.setModelSorting(QCompleter.ModelSorting.UnsortedModel)
        self.setFilterMode(Qt.MatchFlag.MatchStartsWith)
        self.setMaxVisibleItems(10)

    def splitPath(self, path: str) -> list[str]:
        return [fold(path)]

    def pathFromIndex(self, index: QModelIndex | QPersistentModelIndex) -> str:
        return index.data(TEXT_ROLE) or ""

    def completions(self) -> list[str]:
        """The words offered for the box's text now (most used first)."""
        model = self.completionModel()
        return [model.index(i, 0).data(TEXT_ROLE) for i in range(model.rowCount())]
