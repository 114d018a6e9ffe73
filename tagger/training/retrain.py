"""One-click retraining over a catalog: labelled folders in, a new active model version out — or nothing changed.

The order of the steps is what makes it safe: train (cancellable), write the version folder (temp + rename),
re-project every stored photo under the new version's model id (cancellable; nothing reads that id yet), and only
then record the version and make it active in ONE transaction. A failure, a cancel or a kill at any earlier moment
leaves the previous version active and untouched; leftovers of an abandoned run are removed by the next one.
"""

from __future__ import annotations

import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tagger.engine.head import conse_mix
from tagger.engine.vectors import unit
from tagger.engine.version import ModelVersion, VersionError, label_tags, versions_dir
from tagger.errors import TaggerError
from tagger.library.catalog import Catalog
from tagger.progress import Cancelled, ProgressFn
from tagger.training.calibration import calibrate
from tagger.training.trainer import TrainConfig, TrainingSet, labels_vocabulary_negatives, train_head
from tagger.training.versions import label_lambdas, write_version

MIN_PHOTOS_PER_LABEL = 2
ANCHOR_PHOTOS = 4096  # unlabelled photos sampled to anchor the zero-shot embedding
CALIBRATION_REPEATS = 1  # one pseudo-unseen split in the app (three in `tagger eval`): training stays in seconds


class RetrainError(TaggerError, RuntimeError):
    """Training cannot start or finish; the message tells the user what to do."""


@dataclass
class RetrainReport:
    version: int
    model: str
    labels: dict[str, int]  # label -> photos trained on
    history: list[dict] = field(default_factory=list)
    val_acc_before: float = float("nan")  # untrained model on the held-out labelled photos (labels as candidates)
    val_acc_after: float = float("nan")
    calibration: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)  # per stage
    photos_reprojected: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"version": self.version, "model": self.model, "labels": self.labels,
                "val_acc_before": self.val_acc_before, "val_acc_after": self.val_acc_after,
                "calibration": self.calibration, "seconds": self.seconds,
                "photos_reprojected": self.photos_reprojected, "epochs": len(self.history)}


def activate_catalog_version(catalog: Catalog, engine,
                             notice: Callable[[str], None] | None = None) -> ModelVersion | None:
    """Point the engine at the catalog's active version. A missing or damaged version is reported and the untrained
    model is used instead (nothing is changed on disk: `tagger models --use N` chooses another)."""
    number = catalog.active_version()
    if number == 0:
        engine.use_version(None)
        return None
    try:
        version = load_version(catalog, number)
        engine.use_version(version)
        return version
    except (VersionError, ValueError, OSError) as exc:
        if notice:
            notice(f"{exc}; using the untrained model (choose another with `tagger models --use N`)")
        engine.use_version(None)
        return None


def load_version(catalog: Catalog, number: int) -> ModelVersion:
    row = next((v for v in catalog.versions() if v["version"] == number), None)
    if row is None or number == 0:
        raise VersionError(f"there is no trained model version {number}")
    return ModelVersion.load(row["folder"], number)


def training_set(catalog: Catalog, engine) -> tuple[TrainingSet, np.ndarray, np.ndarray, np.ndarray, dict[str, int]]:
    """The labelled photos as the trainer needs them, from stored features (no photo is decoded again), plus
    their top classes/probabilities and ids."""
    labelled = catalog.labelled_photos()
    if not labelled:
        raise RetrainError("no labelled folder holds indexed photos: label one first (`tagger label FOLDER LABEL`)")
    label_of = dict(labelled)
    ids, feats, classes, probs = [], [], [], []
    for i, f, c, p in catalog.feature_chunks(engine.backbone, [pid for pid, _ in labelled]):
        ids.append(i), feats.append(f), classes.append(c), probs.append(p)
    ids_a = np.concatenate(ids) if ids else np.zeros(0, np.int64)
    texts = [label_of[int(i)] for i in ids_a]
    counts = dict(sorted(Counter(texts).items()))
    few = [t for t, n in counts.items() if n < MIN_PHOTOS_PER_LABEL]
    if few:
        raise RetrainError(f"each label needs at least {MIN_PHOTOS_PER_LABEL} indexed photos; too few for: "
                           + ", ".join(few))
    labels = sorted(counts)
    position = {t: i for i, t in enumerate(labels)}
    classes_a, probs_a = np.concatenate(classes), np.concatenate(probs)
    label_vectors = engine.word_space.text_vectors(labels)
    negatives = labels_vocabulary_negatives(engine.tag_set.vectors, label_vectors)
    anchor_f, anchor_c = _anchors(catalog, engine, set(label_of))
    data = TrainingSet(np.concatenate(feats), conse_mix(classes_a, probs_a, engine.class_vectors),
                       np.array([position[t] for t in texts], np.int64), labels, label_vectors, negatives,
                       anchor_f, anchor_c)
    return data, ids_a, classes_a, probs_a, counts


def _anchors(catalog: Catalog, engine, labelled: set[int], limit: int = ANCHOR_PHOTOS,
             seed: int = 0) -> tuple[np.ndarray | None, np.ndarray | None]:
    """A random sample of unlabelled photos: training keeps their embeddings where they were (zero-shot ability)."""
    pool = [pid for pid in catalog.indexed_ids() if pid not in labelled]
    if not pool:
        return None, None
    rng = np.random.default_rng(seed)
    pick = rng.choice(pool, size=min(limit, len(pool)), replace=False)
    feats, conse = [], []
    for _, f, c, p in catalog.feature_chunks(engine.backbone, pick.tolist()):
        feats.append(f)
        conse.append(conse_mix(c, p, engine.class_vectors))
    return np.concatenate(feats), np.concatenate(conse)


def train_version(catalog: Catalog, engine, *, config: TrainConfig = TrainConfig(),
                  progress: ProgressFn | None = None, should_stop: Callable[[], bool] | None = None,
                  on_epoch: Callable[[dict], None] | None = None) -> RetrainReport:
    """Train on the labelled folders and make the result the active version (see the module docstring)."""
    stop = should_stop or (lambda: False)
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    engine.use_version(None)  # train against the base model; restored below if anything fails
    previous = catalog.active_version()
    try:
        cleanup_abandoned(catalog)
        data, _, classes, probs, counts = training_set(catalog, engine)
        e0 = unit(data.conse)
        zero = engine.label_set(data.label_texts).scores(e0, classes, probs)
        times["load"] = time.perf_counter() - t0
        if progress:
            progress("calibrating", 0, 1)
        calibration = calibrate(data, zero, np.ones(len(data.label_texts), bool), config,
                                repeats=CALIBRATION_REPEATS, closed=False, should_stop=stop)
        times["calibrate"] = time.perf_counter() - t0 - sum(times.values())
        head = train_head(data, config, progress=progress, should_stop=stop, on_epoch=on_epoch)
        times["train"] = time.perf_counter() - t0 - sum(times.values())
        number = catalog.next_version()
        known = [bool(engine.word_space.tokens(t)) and all(w in engine.word_space for w in
                                                            engine.word_space.tokens(t)) for t in data.label_texts]
        lam = label_lambdas(data.label_texts, known, calibration)
        metrics = {"val_acc_before": head.val_acc_before, "val_acc_after": head.val_acc_after,
                   "best_epoch": head.best_epoch, "epochs": len(head.history), "n_train": head.n_train,
                   "n_val": head.n_val, "photos": counts, "history": head.history}
        folder = versions_dir(catalog.path) / f"v{number}"
        write_version(folder, number=number, base_folder=engine.folder, base_manifest=engine.manifest, head=head,
                      label_vectors=data.label_vectors, lam=lam, calibration=calibration, metrics=metrics)
        version = ModelVersion.load(folder, number)
        times["export"] = time.perf_counter() - t0 - sum(times.values())
        try:
            n = reproject(catalog, engine, version, progress=progress, should_stop=stop)
            times["reproject"] = time.perf_counter() - t0 - sum(times.values())
            if stop():
                raise Cancelled()
            catalog.add_version(number, engine.model_id, version.model_id, folder, data.label_texts, metrics)
        except BaseException:
            catalog.drop_model(version.model_id)
            shutil.rmtree(folder, ignore_errors=True)
            raise
        engine.use_version(version)
    except BaseException:
        if previous:
            activate_catalog_version(catalog, engine)
        raise
    times["total"] = time.perf_counter() - t0
    return RetrainReport(number, version.model_id, counts, head.history, head.val_acc_before, head.val_acc_after,
                         calibration.to_json(), {k: round(v, 2) for k, v in times.items()}, n)


def reproject(catalog: Catalog, engine, version: ModelVersion, photo_ids=None, *, progress: ProgressFn | None = None,
              should_stop: Callable[[], bool] | None = None, chunk: int = 10_000) -> int:
    """Vectors and label tags of ``version`` for stored photos (all, or ``photo_ids``), computed from their stored
    features: no photo is decoded again. Each chunk is one transaction."""
    labels = engine.label_set(version.labels)
    total = catalog.counts()["indexed"] if photo_ids is None else len(photo_ids)
    done = 0
    for ids, feats, classes, probs in catalog.feature_chunks(engine.backbone, photo_ids, chunk):
        if should_stop is not None and should_stop():
            raise Cancelled()
        conse = conse_mix(classes, probs, engine.class_vectors)
        e1 = version.project(feats, conse)
        e0 = unit(conse)
        floors = catalog.lowest_auto_tag_weights(engine.model_id, ids.tolist())
        tags = label_tags(version, e1, labels.scores(e0, classes, probs),
                          np.array([floors.get(int(i), np.inf) for i in ids], np.float32))
        catalog.put_embeddings(ids.tolist(), version.model_id, e1, tags)
        done += len(ids)
        if progress:
            progress("re-projecting photos", done, max(total, done))
    return done


def use_version(catalog: Catalog, engine, number: int, *, progress: ProgressFn | None = None,
                should_stop: Callable[[], bool] | None = None) -> ModelVersion | None:
    """Roll back (or forward) to version ``number`` (0: untrained): photos indexed since that version was active get
    its vectors first, then the switch is one settings row."""
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
    """Vectors and folders of runs killed before they were recorded: stored under a trained id no version owns."""
    owned = catalog.version_models()
    for model in catalog.stored_models():
        if "+v" in model and model not in owned:
            catalog.drop_model(model)
    folder = versions_dir(catalog.path)
    if folder.is_dir():
        recorded = {str(v["folder"]) for v in catalog.versions() if v["folder"] is not None}
        for child in folder.iterdir():
            if child.is_dir() and str(child) not in recorded:
                shutil.rmtree(child, ignore_errors=True)

