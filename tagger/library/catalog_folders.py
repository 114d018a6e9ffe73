"""Catalog queries about library folders (roots): re-pointing one, folding one into another, the rows the indexer may
recognise by content, and per-folder counts.

A mixin of ``Catalog``. Why folding exists: a photo must have one row, because the row is what carries the user's
tags, labels and keywords. When a library folder was renamed, or its parent was added as a library folder, the same
files would otherwise be reached through two roots; folding re-keys the rows of one root under the other and, where
both have a row for the same file, keeps the live row and carries the user's tags onto it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass
class FoldResult:
    """What ``merge_root`` did: rows re-keyed, rows folded into a twin (their tags carried), labels moved."""

    photos: int = 0
    merged: int = 0
    labels: int = 0

    def __iadd__(self, other: FoldResult) -> FoldResult:
        self.photos += other.photos
        self.merged += other.merged
        self.labels += other.labels
        return self


def _display(key: bytes) -> str:
    return key.decode("utf-8", errors="replace")


class LibraryFolders:
    """Methods of ``tagger.library.catalog.Catalog`` (``self.db``, ``self.transaction()``, ``self.roots()``)."""

    # ------------------------------------------------------------------ library folders (tagger folders)

    def set_root_path(self, root_id: int, path: Path | str) -> None:
        """Point a library folder at a new place (it was renamed or moved): every row, tag and label follows."""
        key = os.fsencode(os.path.realpath(path))
        with self.transaction():
            self.db.execute("UPDATE roots SET path = ?, path_bytes = ? WHERE id = ?", [_display(key), key, root_id])

    def merge_root(self, src_id: int, dst_id: int, prefix: bytes = b"") -> FoldResult:
        """Fold library folder ``src`` into ``dst``, its files now being at ``dst/prefix/...``, in ONE transaction.

        A row with a twin in ``dst`` (same path) is folded into the live one of the two (the twin, unless only this
        one is indexed), carrying the user's tags (any source) onto it. Labels move unless ``dst`` already labels
        that folder. ``src`` is then forgotten."""
        lead = prefix + b"/" if prefix else b""
        out = FoldResult()
        with self.transaction():
            for pid, key, status in self.db.execute(
                    "SELECT id, path_key, status FROM photos WHERE root_id = ? ORDER BY id", [src_id]).fetchall():
                target = lead + bytes(key)
                twin = self.db.execute("SELECT id, status FROM photos WHERE root_id = ? AND path_key = ?",
                                       [dst_id, target]).fetchone()
                if twin is not None:
                    keep, drop = (pid, twin[0]) if status == "indexed" and twin[1] != "indexed" else (twin[0], pid)
                    self.carry_user_tags(drop, keep)
                    self.db.execute("DELETE FROM photos WHERE id = ?", [drop])
                    out.merged += 1
                    out.photos += 1
                    if keep != pid:
                        continue
                else:
                    out.photos += 1
                self.db.execute("UPDATE photos SET root_id = ?, path_key = ?, rel_path = ? WHERE id = ?",
                                [dst_id, target, _display(target), pid])
            for lid, key in self.db.execute("SELECT id, folder_key FROM labels WHERE root_id = ?",
                                            [src_id]).fetchall():
                target = lead + bytes(key) if key else prefix
                if self.move_label(lid, dst_id, target):
                    out.labels += 1
            self.db.execute("DELETE FROM roots WHERE id = ?", [src_id])  # labels left behind (a clash) go with it
        return out

    def carry_user_tags(self, src_photo: int, dst_photo: int) -> int:
        """Copy a photo's user tags (with their source) onto another row; a tag it already has is kept as it is."""
        with self.transaction():
            return self.db.execute(
                "INSERT OR IGNORE INTO user_tags (photo_id, tag, source, added_at) "
                "SELECT ?, tag, source, added_at FROM user_tags WHERE photo_id = ?", [dst_photo, src_photo]).rowcount

    def move_label(self, label_id: int, root_id: int, folder_key: bytes) -> bool:
        """Re-point a label at another folder; False (nothing changed) when that folder already has a label."""
        with self.transaction():
            if self.db.execute("SELECT 1 FROM labels WHERE root_id = ? AND folder_key = ? AND id != ?",
                               [root_id, folder_key, label_id]).fetchone():
                return False
            self.db.execute("UPDATE labels SET root_id = ?, folder_key = ? WHERE id = ?",
                            [root_id, folder_key, label_id])
        return True

    def label_folders(self) -> list[tuple[int, int, bytes]]:
        """(label id, root id, folder key) of every label."""
        return [(i, r, bytes(k)) for i, r, k in self.db.execute("SELECT id, root_id, folder_key FROM labels")]

    def root_counts(self) -> dict[int, dict[str, int]]:
        """Per library folder: its photos by status and its labels."""
        out: dict[int, dict[str, int]] = {r.id: {"indexed": 0, "failed": 0, "gone": 0, "labels": 0}
                                          for r in self.roots()}
        for rid, status, n in self.db.execute("SELECT root_id, status, COUNT(*) FROM photos GROUP BY root_id, status"):
            out.setdefault(rid, {"indexed": 0, "failed": 0, "gone": 0, "labels": 0})[status] = n
        for rid, n in self.db.execute("SELECT root_id, COUNT(*) FROM labels GROUP BY root_id"):
            out.setdefault(rid, {"indexed": 0, "failed": 0, "gone": 0, "labels": 0})["labels"] = n
        return out

    def root_has_photos(self, root_id: int) -> bool:
        return self.db.execute("SELECT 1 FROM photos WHERE root_id = ? LIMIT 1", [root_id]).fetchone() is not None

    def sample_files(self, root_id: int, n: int) -> list[tuple[bytes, int, int, str]]:
        """Up to ``n`` indexed photos of a library folder, spread over it: (path key, size, mtime_ns, hash)."""
        return [(bytes(k), s, m, h) for k, s, m, h in self.db.execute(
            "SELECT path_key, size, mtime_ns, hash FROM photos WHERE root_id = ? AND status = 'indexed' "
            "AND hash IS NOT NULL ORDER BY random() LIMIT ?", [root_id, n])]

    def photos_elsewhere(self, root_id: int, model: str) -> list[tuple[int, int, bytes, str]]:
        """(id, root id, path key, hash) of the photos of every OTHER library folder that have ``model``'s vectors:
        a file that moved between library folders keeps its row when its content is one of these."""
        return [(i, r, bytes(k), h) for i, r, k, h in self.db.execute(
            """SELECT p.id, p.root_id, p.path_key, p.hash FROM photos p
               WHERE p.root_id != ? AND p.hash IS NOT NULL AND p.status != 'failed'
                 AND EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model = ?)""",
            [root_id, model])]
