"""``tagger doctor``: check a catalog's health and repair what can be repaired without risk.

Checked: SQLite's integrity check; rows left without their photo (orphans); library folders that are not there
(an unplugged disk); indexed photos whose file is gone; thumbnails no photo uses (and temporary files a killed run
left); indexed photos without a thumbnail; labels naming folders that no longer exist; an active model version
that is missing or damaged, and indexed photos without its vectors; recorded versions whose folder is gone; photos
at a dead path whose content is elsewhere in the library.

Repaired with ``repair=True``, and only these, because each keeps every piece of the user's work: index-only
corruption (REINDEX rebuilds indexes from the tables), orphan rows (nothing can reach them), photos whose file is
gone while their library folder is present (marked gone, tags kept, exactly what the next ``index`` would do),
unused thumbnails (a cache; not the last hour's, which an index may be about to use), missing thumbnails
(re-made from the photo when its content is unchanged), photos without the active version's vectors (re-projected
from their stored features, as every start does). Anything else is reported with what to do; damaged tables
point to the backups taken before each migration.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tagger import fileio
from tagger.errors import TaggerError
from tagger.library.catalog import Catalog, catalog_backups

_THUMB_NAME = re.compile(r"^[0-9a-f]{32}\.jpg$")
# An index writes a batch's thumbnails (through temporary files) moments before it commits the batch's rows, so an
# unused thumbnail or a temporary file younger than this may belong to a batch in flight in another process: kept.
FRESH_THUMBNAIL_SECONDS = 3600
_SAMPLE = 20  # paths listed per finding


@dataclass
class Finding:
    check: str
    severity: str  # 'error' (data at risk), 'warning' (something to act on), 'info'
    message: str
    count: int = 0
    repairable: bool = False
    repaired: bool = False
    items: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"check": self.check, "severity": self.severity, "message": self.message, "count": self.count,
                "repairable": self.repairable, "repaired": self.repaired, "items": self.items}


@dataclass
class DoctorReport:
    catalog: str
    findings: list[Finding] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    backups: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """No error or warning is left (repaired ones do not count)."""
        return not any(f.severity in ("error", "warning") and not f.repaired for f in self.findings)

    def to_json(self) -> dict:
        return {"catalog": self.catalog, "healthy": self.healthy, "checks": self.checks,
                "findings": [f.to_json() for f in self.findings], "backups": self.backups}


def diagnose(catalog: Catalog, *, repair: bool = False,
             progress: Callable[[str, int, int], None] | None = None) -> DoctorReport:
    """Run every check (and, with ``repair``, every safe repair); never raises for what it finds."""
    report = DoctorReport(str(catalog.path), backups=[str(p) for p in catalog_backups(catalog.path)])
    if repair and catalog.read_only:
        report.findings.append(Finding("read_only", "warning", f"the catalog {catalog.read_only_reason}: nothing "
                                       "can be repaired here"))
        repair = False
    checks = (("integrity", _integrity), ("orphan_rows", _orphan_rows), ("files", _files),
              ("thumbnails", _thumbnails), ("labels", _labels), ("versions", _versions),
              ("moved_photos", _moved_photos))
    for name, check in checks:
        report.checks.append(name)
        if progress:
            progress(f"checking {name}", len(report.checks), len(checks))
        try:
            check(catalog, report, repair)
        except (sqlite3.DatabaseError, OSError) as exc:
            report.findings.append(Finding(name, "error", f"the {name} check could not run: {exc}"))
    return report


def _integrity(catalog: Catalog, report: DoctorReport, repair: bool) -> None:
    problems = catalog.integrity_problems()
    if not problems:
        return
    # damage confined to indexes (rebuilt from the tables) or to unused pages (VACUUM) loses nothing
    index_only = all(" index " in p or p.endswith(" is never used") for p in problems)
    f = Finding("integrity", "error", "SQLite integrity check failed" + (
        " (indexes or free pages only: rebuilt from the tables without loss)" if index_only else
        "; restore a backup (see 'backups') or copy the catalog away before using it"),
        count=len(problems), repairable=index_only, items=problems[:_SAMPLE])
    if repair and index_only:
        catalog.rebuild_indexes(vacuum=any(p.endswith(" is never used") for p in problems))
        f.repaired = not catalog.integrity_problems()
    report.findings.append(f)


def _orphan_rows(catalog: Catalog, report: DoctorReport, repair: bool) -> None:
    orphans = catalog.orphan_rows()
    if not orphans:
        return
    f = Finding("orphan_rows", "warning", "rows whose photo no longer exists", count=sum(orphans.values()),
                repairable=True, items=[f"{t}: {n}" for t, n in orphans.items()])
    if repair:
        catalog.delete_orphan_rows()
        f.repaired = not catalog.orphan_rows()
    report.findings.append(f)


def _files(catalog: Catalog, report: DoctorReport, repair: bool) -> None:
    roots = {r.id: r for r in catalog.roots()}
    absent = {rid for rid, r in roots.items() if not r.path.is_dir()}
    if absent:
        report.findings.append(Finding(
            "missing_roots", "warning", "library folders that are not there (an unplugged disk?): their photos are "
            "kept as they are; reconnect the disk, or remove the folder from the library",
            count=len(absent), items=[str(roots[r].path) for r in sorted(absent)]))
    gone = []
    for pid, rid, key, _ in catalog.photo_files("indexed"):
        if rid in absent or rid not in roots:
            continue
        if not os.path.lexists(os.fsencode(roots[rid].path) + b"/" + key):
            gone.append((pid, str(roots[rid].absolute(key))))
    if gone:
        f = Finding("missing_files", "warning", "indexed photos whose file is gone (repair marks them gone, keeping "
                    "their tags; a photo that comes back is recognised)", count=len(gone), repairable=True,
                    items=[p for _, p in gone[:_SAMPLE]])
        if repair:
            catalog.mark_gone([pid for pid, _ in gone])
            f.repaired = True
        report.findings.append(f)


def _thumbnails(catalog: Catalog, report: DoctorReport, repair: bool) -> None:
    folder = catalog.thumbnail_dir
    known = catalog.known_hashes()
    orphans: list[Path] = []
    if folder.is_dir():
        settled = time.time() - FRESH_THUMBNAIL_SECONDS
        for sub in sorted(folder.iterdir()):
            if not sub.is_dir() or len(sub.name) != 2:
                continue
            for p in sorted(sub.iterdir()):
                if (p.name.endswith(".tmp") and p.is_file()) or (_THUMB_NAME.match(p.name) and p.stem not in known):
                    if _modified(p) < settled:  # a write a killed run left half done, or a thumbnail nothing uses
                        orphans.append(p)
    if orphans:
        f = Finding("orphan_thumbnails", "info", "thumbnails (or temporary files) no photo uses", count=len(orphans),
                    repairable=True, items=[str(p) for p in orphans[:_SAMPLE]])
        if repair:
            for p in orphans:
                try:
                    p.unlink()
                except OSError:
                    pass
            f.repaired = not any(p.exists() for p in orphans)
        report.findings.append(f)
    roots = {r.id: r for r in catalog.roots()}
    missing = [(pid, rid, key, h) for pid, rid, key, h in catalog.photo_files("indexed")
               if h and not catalog.thumbnail_path(h).is_file()]
    if missing:
        f = Finding("missing_thumbnails", "warning", "indexed photos without a thumbnail (repair re-makes them from "
                    "the photos)", count=len(missing), repairable=True,
                    items=[str(roots[rid].absolute(key)) for _, rid, key, _ in missing[:_SAMPLE] if rid in roots])
        if repair:
            left = [m for m in missing if not _remake_thumbnail(catalog, roots.get(m[1]), m[2], m[3])]
            f.repaired = not left
            if left:
                f.message += f"; {len(left)} could not be re-made (file changed or unreadable: run `tagger index`)"
        report.findings.append(f)


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return float("inf")  # vanished meanwhile: nothing to remove


def _remake_thumbnail(catalog: Catalog, root, key: bytes, content_hash: str) -> bool:
    from tagger.engine.imageio import ImageDecodeError, Preprocessing, decode_photo

    if root is None:
        return False
    try:
        with open(os.fsencode(root.path) + b"/" + key, "rb") as fh:
            data = fh.read()
    except OSError:
        return False
    if fileio.content_hash(data) != content_hash:
        return False  # the file changed since it was indexed: `tagger index` will re-index it
    try:
        thumb = decode_photo(data, Preprocessing()).thumbnail
    except ImageDecodeError:
        return False
    return catalog.save_thumbnail(content_hash, thumb)


def _labels(catalog: Catalog, report: DoctorReport, repair: bool) -> None:
    missing = [f"{row['label']}: {row['folder']}" for row in catalog.labels() if not Path(row["folder"]).is_dir()]
    if missing:
        report.findings.append(Finding(
            "labels", "warning", "labels naming folders that are not there (moved or deleted): "
            "`tagger label FOLDER --remove`, or label the new place", count=len(missing), items=missing[:_SAMPLE]))


def _versions(catalog: Catalog, report: DoctorReport, repair: bool) -> None:
    """Issue 12: the active version's folder was deleted by a concurrent training and photos indexed meanwhile had
    none of its vectors; search quietly used the untrained model or missed them, and doctor said healthy."""
    from tagger.engine.version import VersionError, version_folder
    from tagger.library.active_version import fill_missing_vectors, load_version

    active = catalog.active_version()
    lost = [f"v{row['version']}: {row['folder']}" for row in catalog.versions()[1:] if row["version"] != active
            and not (version_folder(catalog.path, row["folder"]) / "manifest.json").is_file()]
    if lost:
        report.findings.append(Finding("versions", "info", "model versions whose folder is gone: they cannot be used "
                                       "again (the active model is not affected)", count=len(lost),
                                       items=lost[:_SAMPLE]))
    if active == 0:
        return
    try:
        version = load_version(catalog, active)
    except (VersionError, ValueError, OSError) as exc:
        report.findings.append(Finding(
            "active_version", "error", f"the active model version {active} cannot be used ({exc}), so search and "
            "automatic tags use the untrained model: choose another with `tagger models --use N` (0: untrained) "
            "or train again", count=1))
        return
    missing = catalog.photos_missing_model(version.model_id)
    if not missing:
        return
    paths = catalog.photo_paths(missing[:_SAMPLE])
    f = Finding("version_vectors", "warning", f"indexed photos without the vectors of the active model version "
                f"{active}, so search and automatic tags miss them (repair re-projects them from their stored "
                "features, as the next search would)", count=len(missing), repairable=True,
                items=[str(paths[i]) for i in missing[:_SAMPLE] if i in paths])
    if repair:
        try:
            fill_missing_vectors(catalog, _base_engine(version), version)
            f.repaired = not catalog.photos_missing_model(version.model_id)
        except TaggerError as exc:
            f.message += f"; not repaired: {exc}"
    report.findings.append(f)


def _base_engine(version):
    """The model a version was trained on, without its ONNX session: re-projecting needs its class vectors and
    word space only."""
    from tagger.engine.core import Engine
    from tagger.engine.manifest import load_verified
    from tagger.paths import models_dir

    folder = models_dir() / version.base_model
    return Engine(folder, load_verified(folder), threads=1)


def _moved_photos(catalog: Catalog, report: DoctorReport, repair: bool) -> None:
    """Records at a path that is gone whose content is in the library at another path: a renamed library folder or
    a re-added parent left them, the user's tags on the dead record. Relinking is the indexer's job (it carries
    tags and labels); doctor says where they are."""
    roots = {r.id: r for r in catalog.roots()}
    present = {rid for rid, r in roots.items() if r.path.is_dir()}  # an unplugged disk proves nothing

    def exists(rid: int, key: bytes) -> bool:
        return os.path.lexists(os.fsencode(roots[rid].path) + b"/" + key)

    shared = [(pid, rid, bytes(key), content, status) for pid, rid, key, content, status in catalog.db.execute(
        """SELECT id, root_id, path_key, hash, status FROM photos WHERE status != 'failed' AND hash IN
           (SELECT hash FROM photos WHERE hash IS NOT NULL AND status != 'failed' GROUP BY hash HAVING COUNT(*) > 1)
           ORDER BY id""")]
    if not shared:
        return
    alive: dict[str, Path] = {}
    dead: list[tuple[int, Path, str]] = []
    for pid, rid, key, content, status in shared:
        if rid not in present:
            continue
        if status == "indexed" and exists(rid, key):
            alive.setdefault(content, roots[rid].absolute(key))
        else:
            dead.append((pid, roots[rid].absolute(key), content))
    moved = [(pid, path, alive[h]) for pid, path, h in dead if h in alive]
    if not moved:
        return
    tags = catalog.user_tags([pid for pid, _, _ in moved])
    items = [f"{old} -> {new}" + (f" ({len(tags[pid])} tag{'s' * (len(tags[pid]) != 1)})" if tags.get(pid) else "")
             for pid, old, new in moved]
    report.findings.append(Finding(
        "moved_photos", "warning" if tags else "info", "photos recorded at a path that is gone whose content is in "
        "the library at another path (a renamed or re-added folder); their tags are on the old record: index the "
        "library again (`tagger index FOLDER`) to relink them by content", count=len(moved), items=items[:_SAMPLE]))


def format_report(report: DoctorReport) -> str:
    lines = [f"catalog {report.catalog}: " + ("healthy" if report.healthy else "problems found")]
    lines.append(f"  checked: {', '.join(report.checks)}")
    for f in report.findings:
        state = " [repaired]" if f.repaired else (" [repairable: --repair]" if f.repairable else "")
        lines.append(f"  {f.severity}: {f.check}: {f.message} ({f.count}){state}")
        for item in f.items:
            lines.append(f"      {item}")
    if report.backups:
        lines.append("  backups (made before each schema upgrade):")
        lines += [f"      {b}" for b in report.backups]
    return "\n".join(lines)
