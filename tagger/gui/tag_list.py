"""The tag list beside the grid: the person's tags, keywords and labels with their photo counts; clicking a word shows
the photos carrying it (and the words clicked before: AND). Presentation only: the tag list controller fills it, the
search controller applies the filter."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from tagger.gui.tag_list_model import COUNT_COLUMN, TEXT_ROLE, WORD_COLUMN, UserWordsModel

EMPTY_TEXT = ("No tags yet. Tags you add to photos, keywords in your photos' files and labelled folders appear here "
              "with their photo counts: click one to show its photos.")


class TagListPanel(QWidget):
    word_clicked = Signal(str)  # the word as the person spells it

    def __init__(self, model: UserWordsModel):
        super().__init__()
        self.model = model
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.title = QLabel("<b>Your tags</b>")
        self.title.setToolTip("Click a word to show only the photos carrying it; click more words to narrow "
                              "further. The file icon marks keywords read from your photos, the folder icon labels.")
        layout.addWidget(self.title)
        self.view = QTableView()
        self.view.setModel(model)
        self.view.setShowGrid(False)
        self.view.setWordWrap(False)
        self.view.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().hide()
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.view.verticalHeader().setDefaultSectionSize(self.view.fontMetrics().height() + 6)
        self.view.horizontalHeader().setSectionResizeMode(WORD_COLUMN, QHeaderView.ResizeMode.Stretch)
        self.view.horizontalHeader().setSectionResizeMode(COUNT_COLUMN, QHeaderView.ResizeMode.ResizeToContents)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setCursor(Qt.CursorShape.PointingHandCursor)
        self.view.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a click filters; no focus frame that reads as a choice
        self.view.clicked.connect(self._clicked)
        layout.addWidget(self.view, 1)
        self.empty = QLabel(EMPTY_TEXT)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color:gray")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.empty, 1)
        model.modelReset.connect(self._update)
        self._update()

    def _update(self) -> None:
        n = self.model.rowCount()
        self.title.setText(f"<b>Your tags</b> <span style='color:gray'>({n:,})</span>" if n else "<b>Your tags</b>")
        self.view.setVisible(n > 0)
        self.empty.setVisible(n == 0)

    def _clicked(self, index: QModelIndex) -> None:
        text = index.siblingAtColumn(WORD_COLUMN).data(TEXT_ROLE)
        if text:
            self.word_clicked.emit(text)

    def row_of(self, text: str) -> int | None:
        """The row showing ``text`` (tests and screenshots click it)."""
        for i, w in enumerate(self.model.words()):
            if w.text == text:
                return i
        return None
