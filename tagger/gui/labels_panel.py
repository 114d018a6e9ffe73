"""The "Labels & training" panel: labelled folders, one-click retraining with a live curve, model versions.

Presentation only: the catalog (:meth:`tagger.library.catalog.Catalog.set_label` …) decides what a label is, and
:mod:`tagger.training.retrain` trains and switches versions, in background jobs (:mod:`tagger.gui.training_job`). When a job
has changed the active version the panel emits ``version_changed``; the window makes the shared engine follow the
catalog and calls :meth:`LabelsPanel.version_applied` once it does.
"""

from __future__ import annotations

import html
import math
import time
from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
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
from tagger.gui.services import readable_error
from tagger.gui.training_job import RetrainJob, UseVersionJob

ERROR_STYLE = "color:#c0392b"
NOTE_STYLE = "color:#555"
STAGE_TEXT = {"preparing": "reading the labelled photos…", "calibrating": "calibrating…",
              "training": "training", "re-projecting photos": "updating your photos",
              "switching": "switching the model…"}


def model_status(engine) -> tuple[str, str]:
    """The status bar's model text and tooltip: which trained version searches use right now."""
    if engine is None:
        return "loading model…", ""
    version = getattr(engine, "version", None)
    if version is None:
        return "model: untrained", f"{engine.model_id} (zero-shot: no trained version active)"
    n = len(version.labels)
    return (f"model v{version.number} (trained: {n} label{'s' if n != 1 else ''})",
            f"{version.model_id}: {', '.join(version.labels)}")


def _percent(v) -> str:
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{float(v):.0%}"


class _CompactTable(QTableWidget):
    """A table that asks for a few rows, not Qt's 192 px: the panel's parts share the height without a scroll bar."""

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
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
        self.setHorizontalHeaderLabels(["Version", "Trained", "Labels", "Held-out accuracy"])
        head = self.horizontalHeader()
        for col in (0, 1, 3):
            head.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
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
                shown = f"{len(labels)}: " + ", ".join(labels)  # elided by the table; the tooltip has them all
                cells = [f"v{r['version']}", time.strftime("%Y-%m-%d %H:%M", time.localtime(r["created_at"] or 0)),
                         shown, f"{_percent(m.get('val_acc_before'))} → {_percent(m.get('val_acc_after'))}"]
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
        if keep is not None:
            self.select_version(keep)

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


class LabelsPanel(QWidget):
    """Labelled folders (add, rename, remove), Retrain with progress, curve and cancel, model versions."""

    version_changed = Signal()  # a job changed the catalog's active version: the engine must follow it
    busy_changed = Signal(bool)  # a training or a switch is under way (indexing waits for it)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.catalog = None
        self.db_path: Path | None = None
        self.engine = None
        self.indexing = False
        self.train_config = None  # a tagger.training.trainer.TrainConfig, or None for the core's defaults (tests: smaller)
        self.job: RetrainJob | UseVersionJob | None = None
        self.last_report = None
        self._running = False  # a job is under way (set and cleared here, not by the thread: no race with its end)
        self._switching = False  # a job finished; waiting for the engine to run the new active version
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
        self.table.doubleClicked.connect(lambda _: self.choose_rename())
        layout.addWidget(self.table, 3)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add…")
        self.add_button.setToolTip("Label a folder inside your library")
        self.add_button.clicked.connect(self.choose_add)
        self.rename_button = QPushButton("Rename…")
        self.rename_button.clicked.connect(self.choose_rename)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
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
        self.training.retrain_clicked.connect(self.start_training)
        self.training.cancel_clicked.connect(self.cancel)
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
        self.use_button.clicked.connect(self.use_selected)
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

    # ------------------------------------------------------------------ what the window tells the panel

    def set_catalog(self, catalog, db_path: Path | None) -> None:
        """The window's catalog (GUI thread: labels and versions are light reads); jobs open their own."""
        self.catalog, self.db_path = catalog, Path(db_path) if db_path else None
        self.refresh()

    def set_engine(self, engine) -> None:
        self.engine = engine
        self._update_buttons()

    def set_indexing(self, on: bool) -> None:
        self.indexing = on
        self._update_buttons()

    def version_applied(self) -> None:
        """The engine now runs the catalog's active version: the job is over for good."""
        self._switching = False
        self.refresh()
        self.busy_changed.emit(False)

    @property
    def busy(self) -> bool:
        return self._running or self._switching

    def refresh(self) -> None:
        if self.catalog is None:
            self.table.set_rows([])
            self.versions.set_versions([])
        else:
            self.table.set_rows(self.catalog.labels())
            rows = self.catalog.versions()
            self.versions.set_versions(rows)
            active = next((r for r in rows if r["active"] and r["version"]), None)
            if active and not self._running and active["metrics"].get("history"):
                # the active version's own curve, kept in its metrics, when no training of this session is shown
                self.chart.set_history(active["metrics"]["history"], active["metrics"].get("val_acc_before"))
        self._update_buttons()

    def shutdown(self, timeout_ms: int = 30_000) -> None:
        """Closing the window: stop the job (a cancelled training changes nothing) and wait for it."""
        if self.job is not None and self.job.isRunning():
            self.job.cancel()
            self.job.wait(timeout_ms)

    def _update_buttons(self) -> None:
        writable = self.catalog is not None and not getattr(self.catalog, "read_only", False)
        idle = not self.busy
        for b in (self.add_button, self.rename_button, self.remove_button):
            b.setEnabled(writable and idle and (b is self.add_button or self.table.selected() is not None))
        reason = ("open a library first" if not writable else "the model is loading" if self.engine is None
                  else "waiting for the indexing to finish" if self.indexing
                  else "training…" if not idle else "label a folder first" if not self.table.rows else "")
        self.training.retrain.setEnabled(not reason)
        self.training.retrain.setToolTip(reason or "Train a new model version on the labelled folders "
                                                   "(the current one stays active until it is done)")
        chosen = self.versions.selected_version()
        self.use_button.setEnabled(writable and idle and self.engine is not None and not self.indexing
                                   and chosen is not None and chosen != self.versions.active_version())

    def note(self, text: str, error: bool = False) -> None:
        self.message.setStyleSheet(ERROR_STYLE if error else NOTE_STYLE)
        self.message.setText(text)

    # ------------------------------------------------------------------ labels

    def choose_add(self) -> None:
        """Add…: a folder inside the library, then its label (the folder's name by default)."""
        if self.catalog is None:
            return
        roots = self.catalog.roots()
        start = str(roots[0].path) if roots else ""
        folder = QFileDialog.getExistingDirectory(self, "Choose a folder of your library to label", start)
        if not folder:
            return
        label, ok = QInputDialog.getText(self, "Label the folder", f"Label for the photos in {folder}:",
                                         text=Path(folder).name)
        if ok:
            self.add_label(Path(folder), label)

    def add_label(self, folder: Path, label: str) -> bool:
        text = " ".join(label.split())
        if not text:
            self.note("A label cannot be empty.", error=True)
            return False
        try:
            self.catalog.set_label(folder, text)
        except Exception as exc:  # noqa: BLE001 - shown to the user
            self.note(readable_error(exc), error=True)
            return False
        self.refresh()
        n = len(self.catalog.photos_under(folder))
        self.note(f"“{text}”: {n:,} indexed photos. Retrain to teach it." if n else
                  f"“{text}” added, but the folder has no indexed photos yet: index it before training.")
        return True

    def choose_rename(self) -> None:
        row = self.table.selected()
        if row is None:
            return
        new, ok = QInputDialog.getText(self, "Rename a label",
                                       f"New name for “{row['label']}” (every folder with this label):",
                                       text=row["label"])
        if ok:
            self.rename_label(row["label"], new)

    def rename_label(self, old: str, new: str) -> bool:
        text = " ".join(new.split())
        if not text:
            self.note("A label cannot be empty.", error=True)
            return False
        if text == old:
            return False
        try:
            n = self.catalog.rename_label(old, text)
        except Exception as exc:  # noqa: BLE001
            self.note(readable_error(exc), error=True)
            return False
        self.refresh()
        self.note(f"Renamed “{old}” to “{text}” on {n} folder(s). Retrain to learn the new name.")
        return n > 0

    def remove_selected(self) -> None:
        row = self.table.selected()
        if row is not None:
            self.remove_label(Path(row["folder"]))

    def remove_label(self, folder: Path) -> bool:
        try:
            removed = self.catalog.remove_label(folder)
        except Exception as exc:  # noqa: BLE001
            self.note(readable_error(exc), error=True)
            return False
        self.refresh()
        self.note(f"Label removed from {folder.name}. The active model keeps it until you retrain." if removed
                  else f"{folder} has no label.", error=not removed)
        return removed

    # ------------------------------------------------------------------ training and versions

    def start_training(self) -> None:
        if self.busy or self.engine is None or self.db_path is None:
            return
        self.last_report = None
        self.chart.clear()
        self.training.show_result("")
        self._start(RetrainJob(self.db_path, self.engine, self.train_config))
        self.job.epoch.connect(self.chart.add_epoch)
        self.training.show_progress("preparing", 0, 0)

    def use_version(self, number: int) -> None:
        if self.busy or self.engine is None or self.db_path is None:
            return
        self._start(UseVersionJob(self.db_path, self.engine, number))
        self.training.show_progress("switching", 0, 0)

    def use_selected(self) -> None:
        number = self.versions.selected_version()
        if number is not None:
            self.use_version(number)

    def cancel(self) -> None:
        if self._running and self.job is not None:
            self.job.cancel()
            self.training.cancel.setEnabled(False)
            self.training.stage.setText("stopping…")

    def _start(self, job) -> None:
        if self.job is not None:
            self.job.wait()  # the previous thread has reported; let it return before its object goes
        self.job = job
        self._running = True
        job.progress.connect(self.training.show_progress)
        job.finished_ok.connect(self._job_done)
        job.cancelled.connect(self._job_cancelled)
        job.failed.connect(self._job_failed)
        job.finished.connect(self._update_buttons)
        self.training.running(True)
        job.start()
        self._update_buttons()
        self.busy_changed.emit(True)

    def _job_done(self, result) -> None:
        """The catalog's active version changed: wait (still busy) until the engine runs it."""
        self._running, self._switching = False, True
        self.training.running(False)
        if isinstance(result, int):
            self.training.show_result(f"Version {result} is active." if result else
                                      "The untrained model is active (v0).")
        else:
            self.last_report = result
            self.chart.set_before(result.val_acc_before)
            self.training.show_result(self._report_text(result))
        self.version_changed.emit()

    def _report_text(self, report) -> str:
        n_val = next((v["metrics"].get("n_val") for v in (self.catalog.versions() if self.catalog else [])
                      if v["version"] == report.version), None)
        held = f" on {n_val} held-out photos" if n_val else ""
        return (f"<b>Held-out accuracy{held}: {_percent(report.val_acc_before)} → "
                f"{_percent(report.val_acc_after)}</b><br>Version {report.version} is active: "
                f"{html.escape(', '.join(f'{k} ({v})' for k, v in report.labels.items()))}; "
                f"{len(report.history)} epochs in {report.seconds.get('total', 0):.0f} s.")

    def _job_cancelled(self) -> None:
        self._job_ended()
        active = self.catalog.active_version() if self.catalog else 0
        self.training.show_result(f"Cancelled: nothing changed, v{active} is still active.")

    def _job_failed(self, message: str) -> None:
        self._job_ended()
        self.training.show_result(message, error=True)

    def _job_ended(self) -> None:
        self._running = False
        self.training.running(False)
        self.refresh()
        self.busy_changed.emit(False)
