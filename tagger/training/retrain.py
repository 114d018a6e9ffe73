"""One-click retraining over a catalog: labelled folders in, a new active model version out — or nothing changed.

The order of the steps is what makes it safe: train (cancellable), write the version folder (temp + rename),
re-project every stored photo under the new version's model id (cancellable; nothing reads that id yet), and only
then record the version and make it active in ONE transaction. A failure, a cancel or a kill at any earlier moment
leaves the previous version active and untouched; leftovers of an abandoned run are removed by the next one.

Two runs on one catalog (two processes, the app and the CLI) never overlap: training and version switches hold the
catalog's training lock (``tagger.training.lock``), and a second run is refused at once, saying who holds it. Even
where a lock does not hold, each run takes a version number no other run can get and builds in a folder of its own,
and no cleanup deletes a version the catalog records (issue 12: the loser's cleanup deleted the winner's version).
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tagger.engine.head import RESIDUAL_HIDDEN, conse_mix
from tagger.engine.vectors import unit
from tagger.engine.version import ModelVersion, VersionError, version_folder, version_model_id, versions_dir
from tagger.errors import TaggerError
from tagger.library.active_version import activate_catalog_version, load_version, reproject
from tagger.library.catalog import Catalog
from tagger.library.label_scores import LIBRARY_SAMPLE, MAX_PHOTOS_PER_LABEL, learnable
from tagger.library.user_words import UserWords
from tagger.progress import Cancelled, ProgressFn
from tagger.training.calibration import Calibration
from tagger.training.label_model import fit_open_set
from tagger.training.lock import training_lock
from tagger.training.trainer import TrainConfig, TrainedHead, TrainingSet, labels_vocabulary_negatives
from tagger.training.versions import write_version

RESERVED_VERSION = "version_reserved"  # settings key: the highest version number a run has taken
_VERSION_NAME = re.compile(r"^v(\d+)(?:\.|$)")  # v3, v3.building-…


class RetrainError(TaggerError, RuntimeError):
    """Training cannot start or finish; the message tells the user what to do."""


@dataclass
class RetrainReport:
    version: int
    model: str
    labels: dict[str, int]  # label -> photos trained on
    history: list[dict] = field(default_factory=list)
    val_acc_before: float = float("nan")  # untrained model on the labelled photos (labels as candidates)
    val_acc_after: float = float("nan")  # the label model, cross-validated on the labelled photos
    calibration: dict[str, Any] = field(default_factory=dict)  # the label model's summary (mix, source, CV accuracy)
    seconds: dict[str, float] = field(default_factory=dict)  # per stage
    photos_reprojected: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "model": self.model, "labels": self.labels,
                "val_acc_before": self.val_acc_before, "val_acc_after": self.val_acc_after,
                "calibration": self.calibration, "seconds": self.seconds,
                "photos_reprojected": self.photos_reprojected, "epochs": len(self.history)}


def training_set(catalog: Catalog, engine) -> tuple[TrainingSet, np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """The labelled photos as the label model needs them, from stored features (no photo is decoded again), plus
    their ids and top classes/probabilities. The labels are the ones search already scores at once
    (``tagger.library.label_scores.learnable``: labelled folders and tags typed in Tagger), so the version that
    training makes replaces exactly those; a photo with two labels is a row for each."""
    labels = learnable(UserWords.from_catalog(catalog))
    if not labels:
        raise RetrainError("nothing to learn yet: label a folder (`tagger label FOLDER LABEL`) or tag some photos "
                           "(`tagger tag PHOTO... --add WORD`) first")
    rng = np.random.default_rng(0)
    pairs: list[tuple[int, int]] = []
    for j, (_, photos) in enumerate(labels):
        if len(photos) > MAX_PHOTOS_PER_LABEL:
            photos = sorted(rng.choice(photos, MAX_PHOTOS_PER_LABEL, replace=False).tolist())
        pairs += [(pid, j) for pid in photos]
    wanted = sorted({pid for pid, _ in pairs})
    ids, feats, classes, probs = [], [], [], []
    for i, f, c, p in catalog.feature_chunks(engine.backbone, wanted):
        ids.append(i), feats.append(f), classes.append(c), probs.append(p)
    if not ids:
        raise RetrainError("the labelled photos have no stored features: index their folders first (`tagger index`)")
    ids_a = np.concatenate(ids)
    row_of = {int(pid): r for r, pid in enumerate(ids_a)}
    pairs = [(pid, j) for pid, j in pairs if pid in row_of]
    rows = np.array([row_of[pid] for pid, _ in pairs], np.int64)
    y = np.array([j for _, j in pairs], np.int64)
    texts = [t for t, _ in labels]
    counts = {texts[j]: int(n) for j, n in zip(*np.unique(y, return_counts=True))}
    feats_a, classes_a = np.concatenate(feats)[rows], np.concatenate(classes)[rows]
    probs_a = np.concatenate(probs)[rows]
    label_vectors = engine.word_space.text_vectors(texts)
    negatives = labels_vocabulary_negatives(engine.tag_set.vectors, label_vectors)
    data = TrainingSet(feats_a, conse_mix(classes_a, probs_a, engine.class_vectors), y, texts, label_vectors,
                       negatives, None, None)
    return data, ids_a[rows], classes_a, probs_a, dict(sorted(counts.items()))


def train_version(catalog: Catalog, engine, *, config: TrainConfig = TrainConfig(),
                  progress: ProgressFn | None = None, should_stop: Callable[[], bool] | None = None,
                  on_epoch: Callable[[dict], None] | None = None) -> RetrainReport:
    """Train on the labelled folders and make the result the active version (see the module docstring). Raises
    ``TrainingBusy`` at once when another training or switch holds the catalog."""
    with training_lock(catalog.path, "training"):
        return _train_version(catalog, engine, config=config, progress=progress, should_stop=should_stop,
                              on_epoch=on_epoch)


def _train_version(catalog: Catalog, engine, *, config: TrainConfig, progress: ProgressFn | None,
                   should_stop: Callable[[], bool] | None, on_epoch: Callable[[dict], None] | None) -> RetrainReport:
    stop = should_stop or (lambda: False)
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    engine.use_version(None)  # train against the base model; restored below if anything fails
    previous = catalog.active_version()
    try:
        cleanup_abandoned(catalog)
        if progress:
            progress("preparing", 0, 1)
        data, _, classes, probs, counts = training_set(catalog, engine)
        e0 = unit(data.conse)
        zero = engine.label_set(data.label_texts).scores(e0, classes, probs)
        # a word the word space does not know has a vector made of its letters: no prior (as search scores it)
        zero[:, [not engine.word_space.knows(t) for t in data.label_texts]] = 0.0
        times["load"] = time.perf_counter() - t0
        n_labels, n_photos = len(data.label_texts), len(data.y)
        if progress:
            progress(f"learning {n_labels} label{'s' if n_labels != 1 else ''} from {n_photos} photos", 0, 1)
        open_set = fit_open_set(data.features, data.y, zero, np.ones(n_labels, bool), should_stop=stop,
                                library=library_sample(catalog, engine))
        times["train"] = time.perf_counter() - t0 - sum(times.values())
        if progress:
            progress(f"learning {n_labels} label{'s' if n_labels != 1 else ''} from {n_photos} photos", 1, 1)
        number = reserve_version_number(catalog)
        head = untrained_head(data)
        calibration = Calibration(lam=0.0, gamma=0.0, source="label model")  # the residual head is not trained
        lam = np.zeros(n_labels, np.float32)
        before = float((zero.argmax(1) == data.y).mean())
        after = open_set.model.cv_accuracy
        metrics = {"val_acc_before": before, "val_acc_after": after, "n_train": n_photos,
                   "photos": counts, "label_model": open_set.model.summary(), "history": []}
        if progress:
            progress(f"writing model version {number}", 0, 1)
        folder = versions_dir(catalog.path) / f"v{number}"
        written = None  # the folder once this run has put it in place: never remove one it did not write
        try:
            written = write_version(folder, number=number, base_folder=engine.folder, base_manifest=engine.manifest,
                                    head=head, label_vectors=data.label_vectors, lam=lam, calibration=calibration,
                                    metrics=metrics, label_model=open_set)
            version = ModelVersion.load(folder, number)
            times["export"] = time.perf_counter() - t0 - sum(times.values())
            n = reproject(catalog, engine, version, progress=progress, should_stop=stop)
            times["reproject"] = time.perf_counter() - t0 - sum(times.values())
            if stop():
                raise Cancelled()
            n += _record(catalog, engine, version, data.label_texts, metrics)
        except BaseException:
            _discard(catalog, written, version_model_id(engine.model_id, number))
            raise
        engine.use_version(version)
    except BaseException:
        if previous:
            activate_catalog_version(catalog, engine, fill=False)
        raise
    times["total"] = time.perf_counter() - t0
    return RetrainReport(number, version.model_id, counts, [], before, after, open_set.model.summary(),
                         {k: round(v, 2) for k, v in times.items()}, n)


def library_sample(catalog: Catalog, engine, limit: int = LIBRARY_SAMPLE, seed: int = 0) -> np.ndarray | None:
    """Stored features of up to ``limit`` photos of the whole library, labelled or not: the feature map's statistics.
    With one label, centring on the labelled photos' own mean leaves nothing of what they share."""
    pool = catalog.indexed_ids()
    if not pool:
        return None
    pick = np.sort(np.random.default_rng(seed).choice(pool, size=min(limit, len(pool)), replace=False))
    feats = [f for _, f, _, _ in catalog.feature_chunks(engine.backbone, pick.tolist())]
    return np.concatenate(feats) if feats else None


def untrained_head(data: TrainingSet) -> TrainedHead:
    """The residual head at zero: the version's graph gives the untrained embedding (the vocabulary keeps its
    zero-shot scores, which the label model uses as its prior); what the labels teach lives in the label model."""
    f, d = data.features.shape[1], data.label_vectors.shape[1]
    layers = [(np.zeros((RESIDUAL_HIDDEN, f), np.float32), np.zeros(RESIDUAL_HIDDEN, np.float32)),
              (np.zeros((d, RESIDUAL_HIDDEN), np.float32), np.zeros(d, np.float32))]
    return TrainedHead(layers, list(data.label_texts))


def reserve_version_number(catalog: Catalog) -> int:
    """A version number no other run can get: one above every number recorded, reserved by a run, or named by a
    folder on disk, taken in one write transaction (BEGIN IMMEDIATE orders two processes). A run that fails
    after this leaves a gap in the numbers, never a clash."""
    folder = versions_dir(catalog.path)
    on_disk = [int(m.group(1)) for m in map(_VERSION_NAME.match, _names(folder)) if m]
    with catalog.transaction():
        reserved = int(catalog.get_setting(RESERVED_VERSION, "0") or 0)
        number = max(catalog.next_version(), reserved + 1, max(on_disk, default=0) + 1)
        catalog.set_setting(RESERVED_VERSION, str(number))
    return number


def _names(folder) -> list[str]:
    try:
        return [child.name for child in folder.iterdir()]
    except OSError:
        return []


def _record(catalog: Catalog, engine, version: ModelVersion, labels, metrics: dict) -> int:
    """Record the version and make it active in ONE transaction, after giving its vectors to photos that another
    process indexed since the re-projection (the write lock held here lets none slip in between); how many."""
    with catalog.transaction():
        if not (version.folder / "manifest.json").is_file():
            raise VersionError(f"the new model version's folder {version.folder} was removed before it could be "
                               "recorded (another training on this catalog?); nothing changed: train again")
        late = catalog.photos_missing_model(version.model_id)
        if late:
            reproject(catalog, engine, version, late)
        catalog.add_version(version.number, engine.model_id, version.model_id, version.folder, labels, metrics)
    return len(late)


def _discard(catalog: Catalog, folder: Path | None, model: str) -> None:
    """Remove what a failed or cancelled run wrote (its vectors, the folder it put in place), unless the catalog
    records it: this run's own leftovers only."""
    try:
        if model in catalog.version_models():
            return
        catalog.drop_model(model)
        if folder is not None and _real(folder) not in _recorded_folders(catalog):
            shutil.rmtree(folder, ignore_errors=True)
    except Exception:  # noqa: BLE001  (the run's own failure is what the user must see; the next run cleans up)
        pass


def use_version(catalog: Catalog, engine, number: int, *, progress: ProgressFn | None = None,
                should_stop: Callable[[], bool] | None = None) -> ModelVersion | None:
    """Roll back (or forward) to version ``number`` (0: untrained): photos indexed since that version was active get
    its vectors first, then the switch is one settings row. Raises ``TrainingBusy`` while a training or another
    switch holds the catalog."""
    with training_lock(catalog.path, "model switch"):
        if number == 0:
            catalog.use_version(0)
            engine.use_version(None)
            return None
        version = load_version(catalog, number)
        missing = catalog.photos_missing_model(version.model_id)
        if missing:
            engine.use_version(None)
            reproject(catalog, engine, version, missing, progress=progress, should_stop=should_stop)
        catalog.use_version(number)
        engine.use_version(version)
        return version


def cleanup_abandoned(catalog: Catalog) -> None:
    """Vectors and folders of runs killed before they were recorded: stored under a trained id no version owns.
    Only under the training lock (no other run can be under way), and never a folder the catalog records, however
    it recorded it (an older Tagger stored relative folders)."""
    owned = catalog.version_models()
    for model in catalog.stored_models():
        if "+v" in model and model not in owned:
            catalog.drop_model(model)
    folder = versions_dir(catalog.path)
    if folder.is_dir():
        keep = _recorded_folders(catalog)
        for child in folder.iterdir():
            if child.is_dir() and not child.is_symlink() and _real(child) not in keep:
                shutil.rmtree(child, ignore_errors=True)


def _recorded_folders(catalog: Catalog) -> set:
    """Every place a recorded version may be: where it was found, and its name beside the catalog."""
    out = set()
    for row in catalog.versions()[1:]:
        out.add(_real(version_folder(catalog.path, row["folder"])))
        out.add(_real(versions_dir(catalog.path) / row["folder"].name))
    return out


def _real(path) -> str:
    return os.path.realpath(path)
