"""The small busy indicator beside the result line: something moves while a search (or the model it waits for) takes
longer than a moment."""

from __future__ import annotations

from PySide6.QtWidgets import QProgressBar

WIDTH = 80  # pixels


def busy_indicator() -> QProgressBar:
    """An indeterminate bar (Qt animates a 0..0 range), hidden until a wait shows it; fixed size so that showing it
    never moves the search box."""
    bar = QProgressBar()
    bar.setRange(0, 0)
    bar.setTextVisible(False)
    bar.setFixedWidth(WIDTH)
    bar.setMaximumHeight(bar.fontMetrics().height())
    bar.setToolTip("Searching…")
    bar.hide()
    return bar
