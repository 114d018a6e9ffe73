"""The "Labels & training" panel: labelled folders, one-click retraining with a live curve, model versions.

Presentation only: it shows what :mod:`tagger.gui.labels_controller` gives it and emits what the person asked for;
the controller changes labels in the catalog and runs trainings and version switches in background jobs.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from tagger.gui.chart import TrainingChart

ERROR_STYLE = "color:#c0392b"
NOTE_STYLE = "color:#555"
STAGE_TEXT = {"preparing": "reading the labelled photos…", "calibrating": "calibrating…",
              "training": "training", "re-projecting photos": "updating your photos",
              "switching": "switching the model…"}


def percent(v) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{float(v):.0%}"


class _CompactTable(QTableWidget):
    """A table that asks for a few rows, not Qt's 192 px: the panel's parts share the height without a scroll bar."""

    def sizeHint(self) -> QSize:
        return QSize(300, 120)


def _compact(table: QTableWidget) -> None:
    """Rows one line high: a few more labelled folders fit before the table scrolls."""
    table.verticalHeader().hide()
    table.setWordWrap(False)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)


class LabelsTable(_CompactTable):
    """Labelled folders: label, folder, indexed photos."""

    def __init__(self):
        super().__init__(0, 3)
        _compact(self)
        self.setHorizontalHeaderLabels(["Label", "Folder", "Photos"])
        head = self.horizontalHeader()
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        head.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.rows: list[dict] = []

    def set_rows(self, rows: list[dict]) -> None:
        """``rows``: :meth:`tagger.library.catalog.Catalog.labels`."""
        self.rows = list(rows)
        self.setRowCount(len(rows))
        for i, r in enumerate(rows):
            folder = Path(r["folder"])
            cells = [QTableWidgetItem(r["label"]), QTableWidgetItem(folder.name or str(folder)),
                     QTableWidgetItem(f"{r['photos']:,}")]
            cells[1].setToolTip(str(folder))
            cells[2].setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if not r["photos"]:
                cells[2].setToolTip("no indexed photos: index this folder before training")
                cells[2].setForeground(Qt.GlobalColor.red)
            for j, cell in enumerate(cells):
                self.setItem(i, j, cell)

    def selected(self) -> dict | None:
        rows = self.selectionModel().selectedRows()
        return self.rows[rows[0].row()] if rows else None


class VersionsTable(_CompactTable):
    """Model versions, newest first, the active one marked (●, bold)."""

    def __init__(self):
        super().__init__(0, 4)
        _compact(self)
        self.setHorizontalHeaderLabels(["Version", "Trained", "Labels", "Accuracy"])
        head = self.horizontalHeader()
        for col in (0, 1, 3):
            head.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.setWordWrap(True)  # the labels whole, on as many lines as they take, not elided
        self.rows: list[dict] = []

    def set_versions(self, rows: list[dict]) -> None:
        """``rows``: :meth:`tagger.library.catalog.Catalog.versions` (version 0 is the untrained model)."""
        keep = self.selected_version()
        self.rows = sorted(rows, key=lambda r: -r["version"])
        self.setRowCount(len(self.rows))
        for i, r in enumerate(self.rows):
            m = r.get("metrics") or {}
            if r["version"] == 0:
                cells = ["v0", "", "untrained (zero-shot)", ""]
            else:
                labels = r.get("labels") or []
                shown = f"{len(labels)}: " + ", ".join(labels)  # wrapped by the table; the tooltip has them too
                cells = [f"v{r['version']}", time.strftime("%Y-%m-%d %H:%M", time.localtime(r["created_at"] or 0)),
                         shown, f"{percent(m.get('val_acc_before'))} → {percent(m.get('val_acc_after'))}"]
            cells[0] = ("● " if r["active"] else "   ") + cells[0]
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if r["active"]:
                    font = QFont(item.font())
                    font.setBold(True)
                    item.setFont(font)
                    item.setToolTip("active: searches, tag clouds and indexing use this version")
                if j == 2 and r["version"]:
                    item.setToolTip(", ".join(r.get("labels") or []))
                self.setItem(i, j, item)
        self.resizeRowsToContents()
        if keep is not None:
            self.select_version(keep)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.resizeRowsToContents()  # a narrower labels column wraps onto more lines

    def select_version(self, number: int) -> None:
        for i, r in enumerate(self.rows):
            if r["version"] == number:
                self.selectRow(i)

    def selected_version(self) -> int | None:
        rows = self.selectionModel().selectedRows() if self.selectionModel() else []
        return self.rows[rows[0].row()]["version"] if rows and rows[0].row() < len(self.rows) else None

    def active_version(self) -> int | None:
        return next((r["version"] for r in self.rows if r["active"]), None)


class TrainingBox(QWidget):
    """Retrain and Cancel, the stage with its bar, the live curve and the before → after result."""

    retrain_clicked = Signal()
    cancel_clicked = Signal()

    def __init__(self):
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.retrain = QPushButton("Retrain")
        self.retrain.clicked.connect(self.retrain_clicked)
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self.cancel_clicked)
        self.cancel.hide()
        self.stage = QLabel()
        self.stage.setStyleSheet(NOTE_STYLE)
        row.addWidget(self.retrain)
        row.addWidget(self.cancel)
        row.addWidget(self.stage, 1)
        layout.addLayout(row)
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(10)
        self.bar.hide()
        layout.addWidget(self.bar)
        self.chart = TrainingChart()
        layout.addWidget(self.chart, 1)
        self.result = QLabel()
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.result)

    def running(self, on: bool) -> None:
        self.cancel.setVisible(on)
        self.cancel.setEnabled(on)
        self.bar.setVisible(on)
        if on:
            self.bar.setRange(0, 0)
        else:
            self.stage.clear()

    def show_progress(self, stage: str, done: int, total: int) -> None:
        text = STAGE_TEXT.get(stage, stage)
        if stage == "training" and total:
            text = f"training: epoch {done} of at most {total}"
        elif total > 1:
            text = f"{text} {done:,}/{total:,}"
        self.stage.setText(text)
        if total > 1:
            self.bar.setRange(0, total)
            self.bar.setValue(done)
        else:
            self.bar.setRange(0, 0)

    def show_result(self, text: str, error: bool = False) -> None:
        self.result.setStyleSheet(ERROR_STYLE if error else "")
        self.result.setText(text)


@dataclass(frozen=True)
class PanelState:
    """What the buttons depend on besides the selection."""

    writable: bool = False  # a catalog is open and not read-only
    busy: bool = False  # a training or a version switch is under way
    model_ready: bool = False
    indexing: bool = False  # training waits for it


class LabelsPanel(QWidget):
    """Labelled folders (add, rename, remove), Retrain with progress, curve and cancel, model versions."""

    add_requested = Signal()
    rename_requested = Signal(dict)  # the selected row of :meth:`tagger.library.catalog.Catalog.labels`
    remove_requested = Signal(dict)
    use_requested = Signal(int)  # the selected version
    retrain_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = PanelState()
        self._build()
        self._update_buttons()

    def _build(self) -> None:
        content = QWidget()
        layout = QVBoxLayout(content)
        intro = QLabel("<b>Labelled folders</b><br><span style='color:gray'>Name folders of your photos, then "
                       "Retrain: Tagger learns your labels (search them, see them in tag clouds).</span>")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.table = LabelsTable()
        self.table.setMinimumHeight(90)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(lambda _: self._emit_for_selected(self.rename_requested))
        layout.addWidget(self.table, 3)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add…")
        self.add_button.setToolTip("Label a folder inside your library")
        self.add_button.clicked.connect(self.add_requested)
        self.rename_button = QPushButton("Rename…")
        self.rename_button.clicked.connect(lambda: self._emit_for_selected(self.rename_requested))
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(lambda: self._emit_for_selected(self.remove_requested))
        for b in (self.add_button, self.rename_button, self.remove_button):
            row.addWidget(b)
        row.addStretch(1)
        layout.addLayout(row)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.message)

        layout.addWidget(QLabel("<b>Training</b>"))
        self.training = TrainingBox()
        self.training.retrain_clicked.connect(self.retrain_requested)
        self.training.cancel_clicked.connect(self.cancel_requested)
        self.chart = self.training.chart
        layout.addWidget(self.training, 4)

        layout.addWidget(QLabel("<b>Model versions</b>"))
        self.versions = VersionsTable()
        self.versions.setMinimumHeight(80)
        self.versions.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.versions, 2)
        row = QHBoxLayout()
        self.use_button = QPushButton("Use this version")
        self.use_button.setToolTip("Switch searches and tags to the selected version (v0: untrained); "
                                   "you can switch back at any time")
        self.use_button.clicked.connect(self._use_selected)
        row.addWidget(self.use_button)
        row.addStretch(1)
        layout.addLayout(row)
        scroll = QScrollArea()  # a small window scrolls the panel rather than growing to fit it
        scroll.setWidget(content)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    def _emit_for_selected(self, signal) -> None:
        row = self.table.selected()
        if row is not None:
            signal.emit(row)

    def _use_selected(self) -> None:
        number = self.versions.selected_version()
        if number is not None:
            self.use_requested.emit(number)

    # ------------------------------------------------------------------ what the controller shows

    def show_rows(self, labels: list[dict], versions: list[dict]) -> None:
        """``labels``: :meth:`Catalog.labels`; ``versions``: :meth:`Catalog.versions`."""
        self.table.set_rows(labels)
        self.versions.set_versions(versions)
        self._update_buttons()

    def set_state(self, state: PanelState) -> None:
        self.state = state
        self._update_buttons()

    def note(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet(ERROR_STYLE if error else NOTE_STYLE)
        self.message.setText(text)

    def _update_buttons(self) -> None:
        writable, model_ready, indexing = self.state.writable, self.state.model_ready, self.state.indexing
        idle = not self.state.busy
        for b in (self.add_button, self.rename_button, self.remove_button):
            b.setEnabled(writable and idle and (b is self.add_button or self.table.selected() is not None))
        reason = ("open a library first" if not writable else "the model is loading" if not model_ready
                  else "waiting for the indexing to finish" if indexing
                  else "training…" if not idle else "label a folder first" if not self.table.rows else "")
        self.training.retrain.setEnabled(not reason)
        self.training.retrain.setToolTip(reason or "Train a new model version on the labelled folders "
                                                   "(the current one stays active until it is done)")
        chosen = self.versions.selected_version()
        self.use_button.setEnabled(writable and idle and model_ready and not indexing
                                   and chosen is not None and chosen != self.versions.active_version())
