"""``tagger doctor``: check a catalog's health and repair what can be repaired without risk.

Checked: SQLite's integrity check; rows left without their photo (orphans); library folders that are not there
(an unplugged disk); indexed photos whose file is gone; thumbnails no photo uses (and temporary files a killed run
left); indexed photos without a thumbnail; labels naming folders that no longer exist.

Repaired with ``repair=True``, and only these, because each keeps every piece of the user's work: index-only
corruption (REINDEX rebuilds indexes from the tables), orphan rows (nothing can reach them), photos whose file is
gone while their library folder is present (marked gone, tags kept, exactly what the next ``index`` would do),
unused thumbnails (a cache), missing thumbnails (re-made from the photo when its content is unchanged). Anything
else is reported with what to do; damaged tables point to the backups taken before each migration.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tagger import fileio
from tagger.library.catalog import Catalog, catalog_backups

_THUMB_NAME = re.compile(r"^[0-9a-f]{32}\.jpg$")
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
        report.findings.append(Finding("read_only", "warning", "the catalog is on a read-only disk: nothing can be "
                                       "repaired here"))
        repair = False
    for name, check in (("integrity", _integrity), ("orphan_rows", _orphan_rows), ("files", _files),
                        ("thumbnails", _thumbnails), ("labels", _labels)):
        report.checks.append(name)
        if progress:
            progress(f"checking {name}", len(report.checks), 5)
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
        for sub in sorted(folder.iterdir()):
            if not sub.is_dir() or len(sub.name) != 2:
                continue
            for p in sorted(sub.iterdir()):
                if p.name.endswith(".tmp") and p.is_file():
                    orphans.append(p)  # a write a killed run left half done
                elif _THUMB_NAME.match(p.name) and p.stem not in known:
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
