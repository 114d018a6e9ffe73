"""The window's status bar: library counts and failures, indexing progress with Cancel, passing messages, and the
model, device and keyword-writing indicators.

Widgets only: the controllers fill them (:mod:`tagger.gui.indexing_controller` the counts and the progress,
:mod:`tagger.gui.engine_controller` the model and device, :mod:`tagger.gui.keywords_controller` the XMP indicator).
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton, QStatusBar

MESSAGE_MIN_WIDTH = 80  # pixels
PROGRESS_WIDTH = 200  # pixels: readable, and fixed so that it never moves as the text beside it changes


class StatusBar(QStatusBar):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.counts_label = QLabel()
        self.addWidget(self.counts_label)
        self.failures_button = QPushButton()
        self.failures_button.setFlat(True)
        self.failures_button.setStyleSheet("color:#c0392b")
        self.failures_button.hide()
        self.addWidget(self.failures_button)
        self.progress = QProgressBar()
        self.progress.setFixedWidth(PROGRESS_WIDTH)
        self.progress.hide()
        self.addWidget(self.progress)
        self.eta_label = QLabel()  # wide enough for its longest text: the widgets after it never shift
        self.eta_label.setMinimumWidth(self.eta_label.fontMetrics().horizontalAdvance("about 59 min left") + 8)
        self.addWidget(self.eta_label)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.hide()
        self.addWidget(self.cancel_button)
        self.message = QLabel()  # our own line: QStatusBar.showMessage would paint over the widgets above
        self.message.setStyleSheet("color:#555")
        self.message.setMinimumWidth(MESSAGE_MIN_WIDTH)  # a long message is cut (whole in its tooltip): the
        # window never grows wider than the screen for it
        self.addWidget(self.message, 1)
        self._message_timer = QTimer(self, singleShot=True)
        self._message_timer.timeout.connect(self.message.clear)
        self.model_label = QLabel("loading model…")
        self.model_label.setStyleSheet("color:gray")
        self.addPermanentWidget(self.model_label)
        self.provider_label = QLabel()
        self.addPermanentWidget(self.provider_label)
        self.xmp_label = QLabel()  # keyword writing: shown whenever Tagger may write into the photo folders
        self.addPermanentWidget(self.xmp_label)

    def notify(self, text: str, msecs: int = 8000) -> None:
        """A passing message (errors that need a decision use a dialog instead)."""
        self.message.setText(text)
        self.message.setToolTip(text)
        self._message_timer.start(msecs)
