"""Library folders and indexing in the window: add and remove folders, re-index, one background indexing job at a
time with progress, rate, ETA and Cancel (each stage with a count named: "indexing", then "finding faces" and
"reading text"), its outcome as a message, and the status bar's counts and failures.

Indexing waits for the model to load and for a training or a version switch to finish (they write the same rows);
folders asked for meanwhile are queued and indexed right after.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox, QWidget

from tagger.gui.services import IndexJob
from tagger.gui.session import Session
from tagger.gui.start_folder import photo_start_folder
from tagger.gui.status_bar import StatusBar
from tagger.gui.widgets import FailuresDialog

REFRESH_WHILE_INDEXING_MS = 2000  # the grid shows new photos while indexing runs, without redrawing on every batch


def duration(seconds: float) -> str:
    """An ETA as a person reads it: seconds, then minutes, then hours and minutes."""
    seconds = int(seconds)
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


class IndexingController(QObject):
    running_changed = Signal(bool)  # an indexing job started or ended (training waits for it)
    finished = Signal()  # a job ended, finished or not: photos, counts and labels' photo counts changed
    photos_changed = Signal()  # new photos are in the catalog (while indexing runs)
    folder_added = Signal(Path)
    folder_removed = Signal(Path)
    notice = Signal(str, int)

    def __init__(self, session: Session, status: StatusBar, dialog_parent: QWidget):
        super().__init__(dialog_parent)
        self.session, self.status, self.dialog_parent = session, status, dialog_parent
        self.job: IndexJob | None = None
        self._pending: list[Path] = []
        self._training = False
        self._started = 0.0
        self._stage: tuple[str, float, int] = ("", 0.0, 0)  # the stage under way: name, when first seen, done then
        self._last_refresh = 0.0
        self._failures_dialog: FailuresDialog | None = None
        status.cancel_button.clicked.connect(self.cancel)
        status.failures_button.clicked.connect(self.show_failures)

    @property
    def running(self) -> bool:
        return self.job is not None and self.job.isRunning()

    # ------------------------------------------------------------------ folders

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self.dialog_parent, "Add a photo folder", photo_start_folder())
        if folder:
            self.add_folder(Path(folder))

    def add_folder(self, folder: Path) -> None:
        catalog = self.session.catalog
        if catalog is None:
            return
        if not folder.is_dir():
            QMessageBox.warning(self.dialog_parent, "Tagger", f"The folder {folder} does not exist (any more).")
            return
        catalog.add_root(folder)
        self.folder_added.emit(folder)
        self.start([folder])

    def choose_folder_to_remove(self) -> None:
        catalog = self.session.catalog
        if catalog is None or not catalog.roots():
            return
        roots = {str(r.path): r for r in catalog.roots()}
        choice, ok = QInputDialog.getItem(self.dialog_parent, "Remove a library folder",
                                          "Forget this folder (your files are not touched):", list(roots), 0, False)
        if ok and choice:
            catalog.remove_root(roots[choice].id)
            self.folder_removed.emit(roots[choice].path)

    def reindex(self) -> None:
        """Every library folder again (unchanged files are skipped); an unplugged drive is named, not forgotten."""
        catalog = self.session.catalog
        if catalog is not None:
            missing = [r.path for r in catalog.roots() if not r.path.is_dir()]
            if missing:
                self.notice.emit("folder gone (is the drive connected?): " + ", ".join(map(str, missing)), 10000)
            self.start([r.path for r in catalog.roots() if r.path.is_dir()])

    # ------------------------------------------------------------------ the job

    def start(self, folders: list[Path]) -> None:
        if not folders:
            return
        engine = self.session.engine
        if engine is None:
            self._pending.extend(folders)
            self.notice.emit("indexing starts when the model is ready…", 5000)
            return
        if self.running or self._training:
            self._pending.extend(folders)  # one at a time: indexing waits for a training or a switch
            return
        self.job = IndexJob(self.session.db_path, engine, folders)
        self.job.progress.connect(self._progress)
        self.job.finished_ok.connect(self._finished)
        self.job.failed.connect(self._failed)
        self._started = time.monotonic()
        self._stage = ("", 0.0, 0)
        status = self.status
        status.progress.setRange(0, 0)
        status.progress.show()
        status.cancel_button.show()
        status.cancel_button.setEnabled(True)
        status.eta_label.setText("scanning…")
        self.running_changed.emit(True)
        self.job.start()

    def cancel(self) -> None:
        """Stop after the batch in hand: nothing half-written, and the next indexing resumes there."""
        if self.job is not None:
            self.job.cancel()
            self.status.cancel_button.setEnabled(False)
            self.status.eta_label.setText("stopping after this batch…")

    def engine_ready(self) -> None:
        if self._pending:
            folders, self._pending = self._pending, []
            self.notice.emit("the model is ready: indexing…", 3000)  # not "starts when the model is ready" any more
            self.start(folders)

    def set_training_busy(self, busy: bool) -> None:
        """A training or a version switch started or ended: queued folders go once it has."""
        self._training = busy
        if not busy and self._pending and not self.running:
            self._start_pending_later()

    def shutdown(self, timeout_ms: int = 30_000) -> None:
        """Closing the window: stop after the batch in hand and wait for it."""
        if self.running:
            self.job.cancel()
            self.job.wait(timeout_ms)

    def _start_pending_later(self) -> None:
        folders, self._pending = self._pending, []
        QTimer.singleShot(0, lambda: self.start(folders))

    def _progress(self, stage: str, done: int, total: int) -> None:
        if stage == "indexing" and total:
            self.status.progress.setRange(0, total)
            self.status.progress.setValue(done)
            elapsed = time.monotonic() - self._started
            rate = done / elapsed if elapsed > 0 else 0
            eta = (total - done) / rate if rate > 0 else 0
            self.status.eta_label.setText(f"{done:,}/{total:,} · {rate:.0f}/s · {duration(eta)} left")
        elif total:  # a stage after indexing ("finding faces 120/800"): its own bar and time left
            self.status.progress.setRange(0, total)
            self.status.progress.setValue(done)
            self.status.eta_label.setText(f"{stage} {done:,}/{total:,}" + self._time_left(stage, done, total))
        else:
            self.status.eta_label.setText(f"{stage} {done:,}")
        now = time.monotonic()
        if now - self._last_refresh > REFRESH_WHILE_INDEXING_MS / 1000:
            self._last_refresh = now
            self.photos_changed.emit()

    def _time_left(self, stage: str, done: int, total: int) -> str:
        """" · 2 min left" from the rate since the stage's first report (nothing until a second one gives a rate)."""
        now = time.monotonic()
        name, since, first = self._stage
        if name != stage:
            self._stage = (stage, now, done)
            return ""
        rate = (done - first) / (now - since) if now > since else 0.0
        left = (total - done) / rate if rate > 0 else 0.0
        return f" · {duration(left)} left" if left >= 1 else ""  # never "0 s left"

    def _finished(self, stats) -> None:
        self._done()
        msg = (f"indexed {stats.indexed:,}, failed {stats.failed:,}, moved {stats.moved:,}, gone {stats.gone:,}, "
               f"unchanged {stats.unchanged:,} in {stats.seconds:.0f} s")
        if stats.cancelled:
            msg = "indexing cancelled: " + msg + " (it resumes next time)"
        for folder, why in stats.skipped_dirs:
            msg += f"; could not read {folder}: {why}"
        self.notice.emit(msg, 15000)

    def _failed(self, message: str) -> None:
        self._done()
        self.notice.emit(message, 15000)
        if "cancelled" not in message:
            QMessageBox.warning(self.dialog_parent, "Tagger: indexing stopped", message)

    def _done(self) -> None:
        self.running_changed.emit(False)
        self.status.progress.hide()
        self.status.cancel_button.hide()
        self.status.eta_label.setText("")
        self.finished.emit()
        if self._pending:
            self._start_pending_later()

    # ------------------------------------------------------------------ counts and failures

    def update_counts(self) -> None:
        catalog = self.session.catalog
        if catalog is None:
            self.status.counts_label.setText("no catalog")
            return
        c = catalog.counts()
        self.status.counts_label.setText(f"{c['indexed']:,} photos" + (f" · {c['gone']:,} gone" if c["gone"] else ""))
        self.status.failures_button.setText(f"{c['failed']:,} failed — show")
        self.status.failures_button.setVisible(c["failed"] > 0)

    def show_failures(self) -> None:
        """The files that could not be indexed, each with its reason."""
        if self.session.catalog is None:
            return
        self._failures_dialog = FailuresDialog(self.session.catalog.failures(), self.dialog_parent)
        self._failures_dialog.show()
