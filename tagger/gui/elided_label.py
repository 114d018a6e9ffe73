"""A one-line label that never widens its window: it shows as much of its text as fits, ending in "…", with the
whole text in its tooltip (the result line beside the search box can be long: "No photo with people matches …")."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel

MIN_WIDTH = 60  # pixels the label asks for at least: a few words, then "…"


class ElidedLabel(QLabel):
    def __init__(self, text: str = "", parent=None, *, min_width: int = MIN_WIDTH):
        super().__init__(parent)
        self._min_width = min_width
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setText(text)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), self._min_width), hint.height())

    def shown_text(self) -> str:
        """The text as drawn: all of it when it fits, else its start and "…"."""
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, self.contentsRect().width())

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        self.style().drawItemText(painter, self.contentsRect(), int(self.alignment()), self.palette(),
                                  self.isEnabled(), self.shown_text(), self.foregroundRole())
