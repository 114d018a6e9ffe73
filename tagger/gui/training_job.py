"""Background jobs of the retraining panel: train a new model version, switch to another version.

Like :class:`tagger.gui.services.IndexJob` they open their own catalog connection (SQLite connections stay in their
thread) and turn the core's callbacks into signals. They never touch the shared engine: the window's engine service
makes the shared engine follow the catalog once a job has finished (``EngineService.refresh_version``).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal

from tagger.gui.services import CatalogJob


def private_engine(engine):
    """The job's own engine (:meth:`tagger.engine.core.Engine.twin`): training runs against the base model and a
    rollback re-projects under it, while the shared engine keeps serving the active version until the job is done."""
    return engine.twin()


class RetrainJob(CatalogJob):
    """Runs :func:`tagger.training.retrain.train_version`; ``cancel()`` stops at the next batch and changes nothing.
    ``finished_ok`` carries the RetrainReport."""

    epoch = Signal(object)  # a history row: {"epoch", "loss", "val_loss", "val_acc"}

    def __init__(self, db_path: Path, engine, config=None):
        super().__init__(db_path, engine)
        self.config = config

    def work(self, catalog):
        from tagger.training.retrain import train_version

        extra = {"config": self.config} if self.config is not None else {}
        return train_version(catalog, private_engine(self.engine), progress=self.report,
                             should_stop=self.should_stop, on_epoch=self.epoch.emit, **extra)


class UseVersionJob(CatalogJob):
    """Runs :func:`tagger.training.retrain.use_version` (photos indexed since get that version's vectors first);
    ``finished_ok`` carries the version now active."""

    def __init__(self, db_path: Path, engine, number: int):
        super().__init__(db_path, engine)
        self.number = int(number)

    def work(self, catalog):
        from tagger.training.retrain import use_version

        use_version(catalog, private_engine(self.engine), self.number, progress=self.report,
                    should_stop=self.should_stop)
        return self.number
