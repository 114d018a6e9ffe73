"""Between the catalog and the files' keywords: the opt-in writing setting, exporting tags to XMP sidecars, and
offering the keywords people already have as training labels.

Writing is off until the user turns it on (``tagger keywords --write on``, or the GUI's Library menu); it is a
catalog setting, so the CLI and the GUI agree and ``tagger status`` can show it. What is written: the changes made
in Tagger to a photo's keywords (user tags) since the catalog and the photo's files last agreed, and, only if an
automatic-tag threshold is set, automatic tags at or above it; a sidecar Tagger writes names every keyword of the
photo. Changes made in other programs come in at the next index (keyword_merge has the rules). Keywords read from
files are stored as user tags with source 'xmp', so the keywords a person gave many photos are natural training
labels (:func:`label_candidates`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tagger.library.catalog import Catalog
from tagger.library.catalog_tags import KeywordState
from tagger.library.keyword_merge import Conflict, next_base
from tagger.library.keyword_paths import identity
from tagger.library.keywords import NAMINGS, SidecarFolders, write_keywords

WRITE_KEY = "keywords.write"
THRESHOLD_KEY = "keywords.auto_threshold"
NAMING_KEY = "keywords.naming"
MAX_AUTO_KEYWORDS = 10  # automatic keywords written per photo at most, strongest first
MIN_LABEL_PHOTOS = 5  # a keyword on fewer photos is too thin to train on


@dataclass(frozen=True)
class WriteSettings:
    enabled: bool = False
    auto_threshold: float | None = None  # None: automatic tags are never written
    naming: str = "full"  # new sidecars: 'full' photo.jpg.xmp (digiKam, darktable) or 'stem' photo.xmp (Lightroom)

    def to_json(self) -> dict:
        return {"enabled": self.enabled, "auto_threshold": self.auto_threshold, "naming": self.naming,
                "sidecar_name": "photo.jpg.xmp" if self.naming == "full" else "photo.xmp"}

    def describe(self) -> str:
        if not self.enabled:
            return "off (your photo folders are only read)"
        auto = f", automatic tags >= {self.auto_threshold:g}" if self.auto_threshold is not None else ""
        return (f"ON: your tags{auto} go to XMP sidecars ({self.to_json()['sidecar_name']}); "
                "image files are never touched")


def load_settings(catalog: Catalog) -> WriteSettings:
    threshold = catalog.get_setting(THRESHOLD_KEY, "") or ""
    try:
        auto = float(threshold) if threshold else None
    except ValueError:
        auto = None
    naming = catalog.get_setting(NAMING_KEY, "full")
    return WriteSettings(catalog.get_setting(WRITE_KEY, "off") == "on", auto, naming if naming in NAMINGS else "full")


KEEP = object()  # save_settings: leave this setting as it is


def save_settings(catalog: Catalog, *, enabled: bool | None = None, auto_threshold=KEEP,
                  naming: str | None = None) -> WriteSettings:
    """Change any of the three settings (one transaction) and return the result."""
    if naming is not None and naming not in NAMINGS:
        raise ValueError(f"naming must be one of {', '.join(NAMINGS)}")
    if auto_threshold is not KEEP and auto_threshold is not None:
        auto_threshold = float(auto_threshold)
        if not 0.0 <= auto_threshold <= 1.0:
            raise ValueError("the automatic-tag threshold is a weight between 0 and 1")
    with catalog.transaction():
        if enabled is not None:
            catalog.set_setting(WRITE_KEY, "on" if enabled else "off")
        if auto_threshold is not KEEP:
            catalog.set_setting(THRESHOLD_KEY, "" if auto_threshold is None else repr(auto_threshold))
        if naming is not None:
            catalog.set_setting(NAMING_KEY, naming)
    return load_settings(catalog)


def auto_keywords(catalog: Catalog, photo_ids: Sequence[int], state: dict[int, KeywordState],
                  models: Sequence[str] = (), auto_threshold: float | None = None) -> dict[int, list[str]]:
    """Per photo, the automatic tags to write as keywords: at or above the threshold, strongest first, at most
    MAX_AUTO_KEYWORDS, none that names a keyword the photo already has."""
    out: dict[int, list[str]] = {}
    if auto_threshold is None:
        return out
    autos: dict[int, list[tuple[str, float]]] = {}
    for model in models:
        for pid, pairs in catalog.auto_tags(photo_ids, model).items():
            autos.setdefault(pid, []).extend(pairs)
    for pid in photo_ids:
        have = {identity(p) for p in state[pid].catalog}
        auto: list[str] = []
        for tag, w in sorted(autos.get(pid, []), key=lambda p: -p[1]):
            if w >= auto_threshold and tag.casefold() not in have and len(auto) < MAX_AUTO_KEYWORDS:
                have.add(tag.casefold())
                auto.append(tag)
        out[pid] = auto
    return out


@dataclass
class ExportReport:
    photos: int = 0
    written: int = 0  # sidecars created or updated
    unchanged: int = 0
    missing: int = 0  # photo file not found (unmounted disk, moved since indexing): nothing written
    failed: list[tuple[str, str]] = field(default_factory=list)  # (photo, reason): e.g. an unparseable sidecar
    conflicts: list[tuple[str, Conflict]] = field(default_factory=list)  # (photo, keyword changed on both sides)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {"photos": self.photos, "written": self.written, "unchanged": self.unchanged, "missing": self.missing,
                "failed": [{"path": p, "reason": r} for p, r in self.failed],
                "conflicts": [{"path": p, **c.to_json()} for p, c in self.conflicts],
                "seconds": round(self.seconds, 3)}


def export_keywords(catalog: Catalog, photo_ids: Sequence[int] | None = None, *, models: Sequence[str] = (),
                    settings: WriteSettings | None = None,
                    progress: Callable[[str, int, int], None] | None = None) -> ExportReport:
    """Write the keywords of these photos (default: every indexed photo) to their sidecars, now.

    Each photo's keywords go through the three-way merge (see keyword_merge): only what changed in Tagger since
    the files and the catalog last agreed is written; what another program changed is left for the next index to
    bring in; a keyword changed on both sides is reported in ``conflicts`` and left alone. Works whether or not
    writing is on (this is the explicit export); never raises for one photo's problem. With a threshold but no
    ``models`` (a caller without the engine), automatic keywords written earlier are kept. Temporary files a killed
    export left in these photos' folders are removed."""
    settings = settings or load_settings(catalog)
    keep_auto = settings.auto_threshold is not None and not models
    start = time.perf_counter()
    ids = list(photo_ids) if photo_ids is not None else [pid for pid, *_ in catalog.photo_files("indexed")]
    report = ExportReport(photos=len(ids))
    folders = SidecarFolders()
    for lo in range(0, len(ids), 500):
        chunk = ids[lo:lo + 500]
        paths = catalog.photo_paths(chunk)
        state = catalog.keyword_state(chunk)
        autos = auto_keywords(catalog, chunk, state, models, settings.auto_threshold)
        synced = []
        for pid in chunk:
            path = paths.get(pid)
            if path is None or not Path(path).is_file():
                report.missing += 1
                continue
            folders.clean(os.fsencode(path).rpartition(b"/")[0])
            mine = state[pid]
            try:
                result = write_keywords(path, mine.catalog, autos.get(pid, []), settings.naming, base=mine.base,
                                        pending=mine.conflicts, keep_auto=keep_auto, folders=folders)
            except Exception as exc:
                report.failed.append((str(path), f"{type(exc).__name__}: {exc}"))
                continue
            if result.merge is not None:
                synced.append((pid, next_base(result.merge.base, result.files_after, mine.catalog),
                               result.merge.conflicts))
                report.conflicts += [(str(path), c) for c in result.merge.conflicts]
            if result.status == "written":
                report.written += 1
            elif result.status == "failed":
                report.failed.append((str(path), result.reason or "unknown"))
            else:
                report.unchanged += 1
        catalog.save_keyword_syncs(synced)
        if progress:
            progress("writing keywords", min(lo + 500, len(ids)), len(ids))
    report.seconds = time.perf_counter() - start
    return report


def kept_in_files(catalog: Catalog, photo_ids: Sequence[int], settings: WriteSettings | None = None) -> list[str]:
    """One sentence for each keyword removed in Tagger that the photo's files still carry, so that the person is
    told (Tagger will not bring it back, but other programs still show it)."""
    settings = settings or load_settings(catalog)
    paths = catalog.photo_paths(list(photo_ids))
    why = ("it is embedded in the image, which Tagger never changes, or in a sidecar Tagger could not write"
           if settings.enabled else
           "keyword writing is off; `tagger keywords --write on` takes it out of the photo's sidecar")
    return [f"{paths[pid].name}: '{kw}' is still in the photo's own keywords ({why}): other programs still show it; "
            "Tagger will not bring it back"
            for pid, st in catalog.keyword_state(list(photo_ids)).items() if pid in paths for kw in st.removed_here]


def sidecar_writer(catalog: Catalog, models: Sequence[str] = (),
                   on_failure: Callable[[str, str], None] | None = None) -> Callable[[Sequence[int]], None] | None:
    """A callback that writes the given photos' keywords, or None while writing is off: plug it into the indexer
    (``Indexer.on_indexed``). ``on_failure(path, reason)`` hears about each sidecar that could not be written."""
    settings = load_settings(catalog)
    if not settings.enabled:
        return None

    def write(ids: Sequence[int]) -> None:
        report = export_keywords(catalog, list(ids), models=models, settings=settings)
        if on_failure is not None:
            for path, reason in report.failed:
                on_failure(path, reason)

    return write


def label_candidates(catalog: Catalog, min_photos: int = MIN_LABEL_PHOTOS) -> list[tuple[str, int]]:
    """Keywords from people's files that tag at least ``min_photos`` indexed photos: training label candidates."""
    return [(t, n) for t, n in catalog.user_tag_counts("xmp") if n >= min_photos]


def keyword_labelled_photos(catalog: Catalog, labels: Sequence[str]) -> list[tuple[int, str]]:
    """(photo id, label) for the chosen keyword labels, shaped like ``Catalog.labelled_photos`` for the trainer.
    A photo carrying two chosen keywords gets the one fewer photos carry (the more specific)."""
    pairs = catalog.photos_tagged(labels)
    counts: dict[str, int] = {}
    for _, tag in pairs:
        counts[tag] = counts.get(tag, 0) + 1
    best: dict[int, str] = {}
    for pid, tag in pairs:
        if pid not in best or (counts[tag], tag) < (counts[best[pid]], best[pid]):
            best[pid] = tag
    return sorted(best.items())
