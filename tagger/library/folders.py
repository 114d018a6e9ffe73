"""Library folders: list them with their state, remove one, relink one that was renamed or moved, and recognise a
renamed one when its new name is indexed.

Why: a library folder's rows carry the user's tags, labels and keywords. Renaming the folder on disk must not leave
them on rows that point at a path that no longer exists while a second, bare copy of every photo is indexed under
the new name. And a folder that cannot be listed right now (an unplugged disk, a permission) is *unavailable*: its
photos are kept exactly as they are, never taken for deleted.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tagger.errors import UsageError
from tagger.fileio import content_hash
from tagger.library.catalog import Catalog, Root
from tagger.library.catalog_folders import FoldResult

_SAMPLE = 32  # photos of a missing library folder looked for under a new one
_MATCH = 0.8  # share of them that must be there, same size and mtime, to call it a rename
_CHECKED = 2  # of those, read and compared by content
_MAX_SUBFOLDERS = 200  # a renamed folder is looked for in the new folder and its direct subfolders


@dataclass
class FolderInfo:
    path: Path
    available: bool
    reason: str  # why it is unavailable ('' when available)
    indexed: int = 0
    failed: int = 0
    gone: int = 0
    labels: int = 0

    def to_json(self) -> dict:
        return {"path": str(self.path), "available": self.available, "reason": self.reason, "indexed": self.indexed,
                "failed": self.failed, "gone": self.gone, "labels": self.labels}


def availability(folder: Path | str) -> tuple[bool, str]:
    """Whether a folder can be listed now, and if not why, in words a user can act on."""
    try:
        with os.scandir(folder) as it:
            next(it, None)
    except FileNotFoundError:
        return False, ("not found (an unplugged disk? if it was renamed or moved: "
                       "`tagger folders --relink OLD NEW`)")
    except NotADirectoryError:
        return False, "not a folder"
    except PermissionError:
        return False, "permission denied"
    except OSError as exc:
        return False, (exc.strerror or str(exc)).lower()
    return True, ""


def list_folders(catalog: Catalog) -> list[FolderInfo]:
    counts = catalog.root_counts()
    out = []
    for root in catalog.roots():
        available, reason = availability(root.path)
        out.append(FolderInfo(root.path, available, reason, **counts.get(root.id, {})))
    return out


def find_folder(catalog: Catalog, path: Path | str) -> Root:
    """The library folder named by ``path`` (as listed, or the same folder by another path)."""
    given = os.fsencode(os.path.abspath(path)).rstrip(b"/") or b"/"
    real = os.fsencode(os.path.realpath(path))
    for root in catalog.roots():
        if os.fsencode(root.path) in (given, real):
            return root
    listed = ", ".join(str(r.path) for r in catalog.roots()) or "none yet"
    raise UsageError(f"{path} is not a library folder (they are: {listed}); to leave a folder inside one out of the "
                     "library, name it in a .taggerignore file or use `tagger index --exclude`")


def remove_folder(catalog: Catalog, path: Path | str) -> tuple[Root, dict[str, int]]:
    """Forget a library folder and its photos' rows (tags, labels); the files themselves are never touched."""
    root = find_folder(catalog, path)
    counts = catalog.root_counts().get(root.id, {})
    catalog.remove_root(root.id)
    return root, counts


def relink_folder(catalog: Catalog, old: Path | str, new: Path | str) -> tuple[Root, Path, FoldResult]:
    """The library folder ``old`` is now at ``new``: re-point it, or fold it into the library folder that already
    holds ``new`` (keeping the live rows and carrying the user's tags and labels onto them)."""
    root = find_folder(catalog, old)
    target = Path(os.path.realpath(new))
    if not target.is_dir():
        raise UsageError(f"{new} is not a folder: give the place the library folder was moved to")
    old_b, new_b = os.fsencode(root.path), os.fsencode(target)
    if new_b == old_b:
        return root, target, FoldResult()
    if new_b.startswith(old_b.rstrip(b"/") + b"/"):
        raise UsageError(f"{new} is inside {root.path}: give the folder that now holds the library folder's files")
    with catalog.transaction():
        located = catalog.locate(target)
        if located is not None:
            result = catalog.merge_root(root.id, located[0].id, located[1])
        else:
            n = catalog.root_counts().get(root.id, {})
            result = FoldResult(photos=sum(n.get(s, 0) for s in ("indexed", "failed", "gone")),
                                labels=n.get("labels", 0))
            catalog.set_root_path(root.id, target)
            for inner in catalog.roots():  # library folders inside the new place join it, as add_root does
                inner_b = os.fsencode(inner.path)
                if inner.id != root.id and inner_b.startswith(new_b.rstrip(b"/") + b"/"):
                    result += catalog.merge_root(inner.id, root.id, inner_b[len(new_b.rstrip(b"/")) + 1:])
    return root, target, result


def adopt_renamed_folder(catalog: Catalog, root: Root) -> list[tuple[str, str]]:
    """When a new library folder (no rows yet) holds the files of a library folder that no longer exists, at the same
    relative paths with the same size and mtime (what a rename or move keeps), and a few of them have the recorded
    content, fold the old one into it: its rows, tags and labels live on and nothing is decoded again.

    Only a folder whose path is gone is a candidate; one that cannot be listed (permission) is unavailable, not
    renamed. Returns (old path, new path) for each one taken in."""
    if catalog.root_has_photos(root.id):
        return []
    missing = [r for r in catalog.roots() if r.id != root.id and _gone(r.path)]
    if not missing:
        return []
    base_b = os.fsencode(root.path)
    bases = [b""] + _subfolders(base_b)
    adopted = []
    for old in missing:
        sample = catalog.sample_files(old.id, _SAMPLE)
        if not sample:
            continue
        for base in bases:
            folder = base_b + (b"/" + base if base else b"")
            hits = [(folder + b"/" + key, h) for key, size, mtime, h in sample if _same_stat(folder + b"/" + key,
                                                                                            size, mtime)]
            if len(hits) >= max(1, math.ceil(_MATCH * len(sample))) and all(
                    _same_content(path, h) for path, h in hits[:_CHECKED]):
                catalog.merge_root(old.id, root.id, base)
                adopted.append((str(old.path), os.fsdecode(folder)))
                bases.remove(base)
                break
    return adopted


def carry_labels(catalog: Catalog, moves: Sequence[tuple[int, bytes, int, bytes]]) -> int:
    """Labels follow a labelled folder that was renamed or moved: when the folder is gone and every photo that was
    in it moved (``moves``: old root, old key, new root, new key) to one new folder, with the same paths below it,
    the label names that folder. A folder that already has a label keeps its own. Returns how many moved."""
    if not moves:
        return 0
    roots = {r.id: r for r in catalog.roots()}
    moved = 0
    for lid, rid, fkey in catalog.label_folders():
        root = roots.get(rid)
        if root is None or not root.path.is_dir() or os.path.lexists(os.fsencode(root.path) + b"/" + fkey):
            continue  # still there, or its library folder is unavailable: nothing to follow
        targets = set()
        for orid, okey, nrid, nkey in moves:
            if orid != rid or not (not fkey or okey.startswith(fkey + b"/")):
                continue
            rest = okey[len(fkey) + 1:] if fkey else okey
            if nkey == rest:
                targets.add((nrid, b""))
            elif nkey.endswith(b"/" + rest):
                targets.add((nrid, nkey[:-len(rest) - 1]))
            else:
                targets.add(None)  # the folder's photos were reorganised: no one place to follow
        if len(targets) == 1 and None not in targets:
            nrid, nkey = targets.pop()
            moved += catalog.move_label(lid, nrid, nkey)
    return moved


def _gone(path: Path) -> bool:
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False  # cannot tell (permission): unavailable, not gone
    return False


def _subfolders(folder: bytes) -> list[bytes]:
    try:
        with os.scandir(folder) as it:
            names = sorted(e.name for e in it if not e.name.startswith(b".") and e.is_dir(follow_symlinks=False))
    except OSError:
        return []
    return names[:_MAX_SUBFOLDERS]


def _same_stat(path: bytes, size: int, mtime_ns: int) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return st.st_size == size and st.st_mtime_ns == mtime_ns


def _same_content(path: bytes, digest: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return content_hash(fh.read()) == digest
    except OSError:
        return False
