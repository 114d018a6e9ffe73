"""The catalog's active trained version as every command and the app run it: found, verified, covering every photo.

Why this lives in the library: search, the indexer and ``tagger doctor`` need the active version as much as training
does, and a photo can lack its vectors with no training running: a `tagger index` in another process that started
before a training finished wrote the vectors of the version active when it started (issue 12: 1,648 of 5,160
photos). Re-projecting such photos from their stored features is cheap (no photo is decoded), so every start fills
the gap instead of letting search miss them, and doctor reports and repairs the same gap.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence

import numpy as np

from tagger.engine.head import conse_mix
from tagger.engine.vectors import unit
from tagger.engine.version import ModelVersion, VersionError, label_tags, version_folder
from tagger.errors import TaggerError
from tagger.library.catalog import Catalog
from tagger.progress import Cancelled, ProgressFn


def load_version(catalog: Catalog, number: int) -> ModelVersion:
    """Version ``number`` of this catalog, verified; its folder found even where an older Tagger recorded it
    relative to another working directory."""
    row = next((v for v in catalog.versions() if v["version"] == number), None)
    if row is None or number == 0:
        raise VersionError(f"there is no trained model version {number}")
    folder = version_folder(catalog.path, row["folder"])
    if not (folder / "manifest.json").is_file():
        raise VersionError(f"model version {number} is missing (its folder {folder} is gone)")
    version = ModelVersion.load(folder, number)
    if version.model_id != row["model"]:
        raise VersionError(f"the folder {folder} holds {version.model_id}, not model version {number} "
                           f"({row['model']})")
    return version


def activate_catalog_version(catalog: Catalog, engine, notice: Callable[[str], None] | None = None, *,
                             fill: bool = True) -> ModelVersion | None:
    """Point the engine at the catalog's active version, and (``fill``) give it the vectors of photos indexed
    without them. A missing or damaged version is reported and the untrained model is used instead (nothing is
    changed on disk: `tagger models --use N` chooses another)."""
    number = catalog.active_version()
    if number == 0:
        engine.use_version(None)
        return None
    try:
        version = load_version(catalog, number)
        engine.use_version(version)
    except (VersionError, ValueError, OSError) as exc:
        if notice:
            notice(f"{exc}; using the untrained model (choose another with `tagger models --use N`)")
        engine.use_version(None)
        return None
    if fill and not catalog.read_only:
        try:
            fill_missing_vectors(catalog, engine, version)
        except (sqlite3.Error, TaggerError, OSError) as exc:  # busy or full: the next start tries again
            if notice:
                notice(f"photos indexed meanwhile could not get model version {number}'s vectors yet ({exc})")
    return version


def fill_active_version(catalog: Catalog, engine) -> int:
    """After an index run: photos it committed after another process switched versions carry the vectors of the
    version its engine ran, not the active one's; give them the active one's (the switch itself covered every photo
    committed before it). The engine is not switched (the app's is shared with search). Never raises: the next
    start fills what is left; how many."""
    number = catalog.active_version()
    if number == 0 or catalog.read_only:
        return 0
    try:
        version = engine.version if engine.version is not None and engine.version.number == number else None
        version = version or load_version(catalog, number)
        if version.base_model != engine.model_id:
            return 0
        return fill_missing_vectors(catalog, engine, version)
    except (sqlite3.Error, TaggerError, OSError, ValueError):
        return 0


def fill_missing_vectors(catalog: Catalog, engine, version: ModelVersion, *,
                         progress: ProgressFn | None = None) -> int:
    """Give indexed photos without ``version``'s vectors (indexed while another version was active, or by a process
    that started before it was) those vectors, from their stored features; how many."""
    missing = catalog.photos_missing_model(version.model_id)
    return reproject(catalog, engine, version, missing, progress=progress) if missing else 0


def reproject(catalog: Catalog, engine, version: ModelVersion, photo_ids: Sequence[int] | None = None, *,
              progress: ProgressFn | None = None, should_stop: Callable[[], bool] | None = None,
              chunk: int = 10_000) -> int:
    """Vectors and label tags of ``version`` for stored photos (all, or ``photo_ids``), computed from their stored
    features: no photo is decoded again. Each chunk is one transaction (or part of the caller's).

    A version with a label model stores no label tags (``label_tags``: search scores its labels when asked), so its
    photos' weakest tags are not read nor its labels scored: at 100k photos that was a third of the re-projection."""
    tagged = version.label_model is None
    labels = engine.label_set(version.labels) if tagged else None
    total = catalog.counts()["indexed"] if photo_ids is None else len(photo_ids)
    done = 0
    for ids, feats, classes, probs in catalog.feature_chunks(engine.backbone, photo_ids, chunk):
        if should_stop is not None and should_stop():
            raise Cancelled()
        conse = conse_mix(classes, probs, engine.class_vectors)
        e1 = version.project(feats, conse)
        tags = None
        if tagged:
            floors = catalog.lowest_auto_tag_weights(engine.model_id, ids.tolist())
            tags = label_tags(version, e1, labels.scores(unit(conse), classes, probs),
                              np.array([floors.get(int(i), np.inf) for i in ids], np.float32))
        catalog.put_embeddings(ids.tolist(), version.model_id, e1, tags)
        done += len(ids)
        if progress:
            progress("re-projecting photos", done, max(total, done))
    return done
