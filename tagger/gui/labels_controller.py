"""Labels and training in the window: label, rename and unlabel folders, retrain in the background with a live curve
and Cancel, switch model versions; what the "Labels & training" panel (:mod:`tagger.gui.labels_panel`) shows.

The catalog decides what a label is (:meth:`tagger.library.catalog.Catalog.set_label` …) and
:mod:`tagger.training.retrain` trains and switches versions, in background jobs (:mod:`tagger.gui.training_job`).
One job at a time; nothing changes until a job has finished. When a job has changed the catalog's active version
the controller emits ``version_changed`` and stays busy until the window's engine runs that version
(:meth:`LabelsController.version_applied`): indexing waits for it meanwhile.
"""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog, QInputDialog

from tagger.gui.labels_panel import LabelsPanel, PanelState, percent
from tagger.gui.services import readable_error
from tagger.gui.session import Session
from tagger.gui.training_job import RetrainJob, UseVersionJob
from tagger.library.tag_text import clean_tag


class LabelsController(QObject):
    version_changed = Signal()  # a job changed the catalog's active version: the engine must follow it
    busy_changed = Signal(bool)  # a training or a switch is under way (indexing waits for it)

    def __init__(self, session: Session, panel: LabelsPanel, parent: QObject | None = None):
        super().__init__(parent)
        self.session, self.panel = session, panel
        self.indexing = False
        self.train_config = None  # a tagger.training.trainer.TrainConfig; None: the core's defaults (tests: smaller)
        self.job: RetrainJob | UseVersionJob | None = None
        self.last_report = None
        self._running = False  # a job is under way (set and cleared here, not by the thread: no race with its end)
        self._switching = False  # a job finished; waiting for the engine to run the new active version
        panel.add_requested.connect(self.choose_add)
        panel.rename_requested.connect(lambda row: self.choose_rename(row["label"]))
        panel.remove_requested.connect(lambda row: self.remove_label(Path(row["folder"])))
        panel.use_requested.connect(self.use_version)
        panel.retrain_requested.connect(self.start_training)
        panel.cancel_requested.connect(self.cancel)

    @property
    def busy(self) -> bool:
        return self._running or self._switching

    # ------------------------------------------------------------------ what the window tells the controller

    def refresh(self) -> None:
        """Labels and versions again from the catalog (GUI thread: light reads; jobs open their own connection)."""
        catalog = self.session.catalog
        if catalog is None:
            self.panel.show_rows([], [])
        else:
            rows = catalog.versions()
            self.panel.show_rows(catalog.labels(), rows)
            active = next((r for r in rows if r["active"] and r["version"]), None)
            history = active["metrics"].get("history") if active else None
            if history and not self._running:
                # the active version's own curve, kept in its metrics, when no training of this session is shown
                self.panel.chart.set_history(history, active["metrics"].get("val_acc_before"))
            if not self._running:  # versions trained by the label model learn in one step: no curve to draw
                self.panel.chart.setVisible(bool(history) or bool(self.panel.chart.points))
        self.update_state()

    def update_state(self) -> None:
        """The panel's buttons follow the catalog, the engine, indexing and the job under way."""
        catalog = self.session.catalog
        self.panel.set_state(PanelState(writable=catalog is not None and not getattr(catalog, "read_only", False),
                                        busy=self.busy, model_ready=self.session.engine is not None,
                                        indexing=self.indexing))

    def set_indexing(self, on: bool) -> None:
        self.indexing = on
        self.update_state()

    def version_applied(self) -> None:
        """The engine now runs the catalog's active version: the job is over for good."""
        self._switching = False
        self.refresh()
        self.busy_changed.emit(False)

    def shutdown(self, timeout_ms: int = 30_000) -> None:
        """Closing the window: stop the job (a cancelled training changes nothing) and wait for it."""
        if self.job is not None and self.job.isRunning():
            self.job.cancel()
            self.job.wait(timeout_ms)

    # ------------------------------------------------------------------ labels

    def choose_add(self) -> None:
        """Add…: a folder inside the library, then its label (the folder's name by default)."""
        catalog = self.session.catalog
        if catalog is None:
            return
        roots = catalog.roots()
        start = str(roots[0].path) if roots else ""
        folder = QFileDialog.getExistingDirectory(self.panel, "Choose a folder of your library to label", start)
        if not folder:
            return
        label, ok = QInputDialog.getText(self.panel, "Label the folder", f"Label for the photos in {folder}:",
                                         text=Path(folder).name)
        if ok:
            self.add_label(Path(folder), label)

    def add_label(self, folder: Path, label: str) -> bool:
        catalog = self.session.catalog
        try:
            text = clean_tag(label)
        except ValueError:
            self.panel.note("A label cannot be empty.", error=True)
            return False
        try:
            catalog.set_label(folder, text)
        except Exception as exc:
            self.panel.note(readable_error(exc), error=True)
            return False
        self.refresh()
        n = len(catalog.photos_under(folder))
        self.panel.note(f"“{text}”: {n:,} indexed photos. Retrain to teach it." if n else
                        f"“{text}” added, but the folder has no indexed photos yet: index it before training.")
        return True

    def choose_rename(self, old: str) -> None:
        new, ok = QInputDialog.getText(self.panel, "Rename a label",
                                       f"New name for “{old}” (every folder with this label):", text=old)
        if ok:
            self.rename_label(old, new)

    def rename_label(self, old: str, new: str) -> bool:
        try:
            text = clean_tag(new)
        except ValueError:
            self.panel.note("A label cannot be empty.", error=True)
            return False
        if text == old:
            return False
        try:
            n = self.session.catalog.rename_label(old, text)
        except Exception as exc:
            self.panel.note(readable_error(exc), error=True)
            return False
        self.refresh()
        self.panel.note(f"Renamed “{old}” to “{text}” on {n} folder(s). Retrain to learn the new name.")
        return n > 0

    def remove_label(self, folder: Path) -> bool:
        try:
            removed = self.session.catalog.remove_label(folder)
        except Exception as exc:
            self.panel.note(readable_error(exc), error=True)
            return False
        self.refresh()
        self.panel.note(f"Label removed from {folder.name}. The active model keeps it until you retrain." if removed
                        else f"{folder} has no label.", error=not removed)
        return removed

    # ------------------------------------------------------------------ training and versions

    def _can_start(self) -> bool:
        return not self.busy and self.session.engine is not None and self.session.catalog is not None

    def start_training(self) -> None:
        if not self._can_start():
            return
        self.last_report = None
        self.panel.chart.clear()
        self.panel.training.show_result("")
        self._start(RetrainJob(self.session.db_path, self.session.engine, self.train_config))
        self.job.epoch.connect(self.panel.chart.add_epoch)
        self.panel.training.show_progress("preparing", 0, 0)

    def use_version(self, number: int) -> None:
        if not self._can_start():
            return
        self._start(UseVersionJob(self.session.db_path, self.session.engine, number))
        self.panel.training.show_progress("switching", 0, 0)

    def cancel(self) -> None:
        if self._running and self.job is not None:
            self.job.cancel()
            self.panel.training.cancel.setEnabled(False)
            self.panel.training.stage.setText("stopping…")

    def _start(self, job) -> None:
        if self.job is not None:
            self.job.wait()  # the previous thread has reported; let it return before its object goes
        self.job = job
        self._running = True
        job.progress.connect(self.panel.training.show_progress)
        job.finished_ok.connect(self._job_done)
        job.cancelled.connect(self._job_cancelled)
        job.failed.connect(self._job_failed)
        job.finished.connect(self.update_state)
        self.panel.training.running(True)
        job.start()
        self.update_state()
        self.busy_changed.emit(True)

    def _job_done(self, result) -> None:
        """The catalog's active version changed: wait (still busy) until the engine runs it. The labels' note goes:
        its "Retrain to teach it" (or "… until you retrain") spoke of the version before."""
        self._running, self._switching = False, True
        self.panel.training.running(False)
        self.panel.note("")
        if isinstance(result, int):
            self.panel.training.show_result(f"Version {result} is active." if result else
                                            "The untrained model is active (v0).")
        else:
            self.last_report = result
            self.panel.chart.set_before(result.val_acc_before)
            self.panel.chart.setVisible(bool(result.history))
            self.panel.training.show_result(self._report_text(result))
        self.version_changed.emit()

    def _report_text(self, report) -> str:
        catalog = self.session.catalog
        metrics = next((v["metrics"] or {} for v in (catalog.versions() if catalog else [])
                        if v["version"] == report.version), {})
        n_val, n_all = metrics.get("n_val"), metrics.get("n_train")
        held, over = "", ""
        if n_val:  # an older training: a few photos set aside (honest about how few)
            held = f" on {n_val} held-out photos"
        elif not report.history:  # the label model: every labelled photo held out once, by cross-validation
            held, over = " (cross-validated)", f" over all {n_all:,} labelled photos" if n_all else ""
        steps = f"{len(report.history)} epochs" if report.history else "learnt"
        return (f"<b>Accuracy{held}: {percent(report.val_acc_before)} → "
                f"{percent(report.val_acc_after)}</b>{over}<br>Version {report.version} is active: "
                f"{html.escape(', '.join(f'{k} ({v})' for k, v in report.labels.items()))}; "
                f"{steps} in {report.seconds.get('total', 0):.1f} s.")

    def _job_cancelled(self) -> None:
        self._job_ended()
        active = self.session.catalog.active_version() if self.session.catalog else 0
        self.panel.training.show_result(f"Cancelled: nothing changed, v{active} is still active.")

    def _job_failed(self, message: str) -> None:
        self._job_ended()
        self.panel.training.show_result(message, error=True)

    def _job_ended(self) -> None:
        self._running = False
        self.panel.training.running(False)
        self.refresh()
        self.busy_changed.emit(False)
