"""Catalog rows for training: folders the user named (labels) and the trained model versions.

A mixin of ``Catalog``; the training flow (``tagger.training.retrain``) is the main user.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from tagger.library.catalog_common import CatalogError, clean_label


class LabelsAndVersions:
    """Methods of ``tagger.library.catalog.Catalog`` (``self.db``, ``self.transaction()``, ``self.locate()``)."""

    # ------------------------------------------------------------------ labels (folders the user named)

    def set_label(self, folder: Path | str, label: str) -> None:
        """Name a folder (recursively): its photos teach Tagger ``label`` at the next training."""
        label = clean_label(label)
        loc = self.locate(folder)
        if loc is None:
            raise CatalogError(f"{folder} is not inside a library folder: index it first")
        root, key = loc
        with self.transaction():
            self.db.execute(
                "INSERT INTO labels (root_id, folder_key, label, added_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (root_id, folder_key) DO UPDATE SET label = excluded.label",
                [root.id, key, label, time.time()])

    def remove_label(self, folder: Path | str) -> bool:
        loc = self.locate(folder)
        if loc is None:
            return False
        root, key = loc
        with self.transaction():
            cur = self.db.execute("DELETE FROM labels WHERE root_id = ? AND folder_key = ?", [root.id, key])
        return cur.rowcount > 0

    def rename_label(self, old: str, new: str) -> int:
        """Rename a label on every folder that carries it; returns how many folders changed."""
        new = clean_label(new)
        with self.transaction():
            return self.db.execute("UPDATE labels SET label = ? WHERE label = ?", [new, old]).rowcount

    def labels(self) -> list[dict]:
        """Each labelled folder with its label and how many indexed photos it holds."""
        roots = {r.id: r for r in self.roots()}
        out = []
        for lid, rid, key, label in self.db.execute(
                "SELECT id, root_id, folder_key, label FROM labels ORDER BY label, id"):
            folder = roots[rid].absolute(bytes(key)) if key else roots[rid].path
            out.append({"id": lid, "label": label, "folder": folder, "photos": len(self.photos_under(folder))})
        return out

    def labelled_photos(self) -> list[tuple[int, str]]:
        """(photo id, label) of every indexed photo under a labelled folder; the deepest labelled folder wins."""
        roots = {r.id: r for r in self.roots()}
        best: dict[int, tuple[int, str]] = {}
        for rid, key, label in self.db.execute("SELECT root_id, folder_key, label FROM labels"):
            folder = roots[rid].absolute(bytes(key)) if key else roots[rid].path
            depth = len(bytes(key))
            for pid in self.photos_under(folder):
                if pid not in best or depth > best[pid][0]:
                    best[pid] = (depth, label)
        return sorted((pid, label) for pid, (_, label) in best.items())

    # ------------------------------------------------------------------ model versions

    def add_version(self, number: int, base_model: str, model: str, folder: Path, labels: Sequence[str],
                    metrics: dict, activate: bool = True) -> int:
        """Record a finished version and (by default) make it the active one, in ONE transaction: the last step of
        training, so a kill before it leaves the previous model active and a kill after it leaves the new one."""
        import json

        with self.transaction():
            cur = self.db.execute(
                "INSERT INTO model_versions (id, base_model, model, folder, labels, metrics, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [number, base_model, model, str(folder), json.dumps(list(labels)), json.dumps(metrics), time.time()])
            if activate:
                self.db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES ('active_version', ?)",
                                [str(cur.lastrowid)])
        return cur.lastrowid

    def next_version(self) -> int:
        return int(self.db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM model_versions").fetchone()[0])

    def version_models(self) -> set[str]:
        """Model ids of every recorded version (anything else stored under a trained id is an abandoned run)."""
        return {r[0] for r in self.db.execute("SELECT model FROM model_versions")}

    def stored_models(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT DISTINCT model FROM embeddings")}

    def versions(self) -> list[dict]:
        import json

        active = self.active_version()
        out = [{"version": 0, "model": None, "base_model": None, "folder": None, "labels": [], "metrics": {},
                "created_at": None, "active": active == 0}]
        for vid, base, model, folder, labels, metrics, created in self.db.execute(
                "SELECT id, base_model, model, folder, labels, metrics, created_at FROM model_versions ORDER BY id"):
            out.append({"version": vid, "model": model, "base_model": base, "folder": Path(folder),
                        "labels": json.loads(labels), "metrics": json.loads(metrics), "created_at": created,
                        "active": vid == active})
        return out

    def active_version(self) -> int:
        return int(self.get_setting("active_version", "0") or 0)

    def use_version(self, version: int) -> None:
        """Switch the active model version (0: the untrained model); one row, one transaction."""
        if version != 0 and not self.db.execute("SELECT 1 FROM model_versions WHERE id = ?", [version]).fetchone():
            raise CatalogError(f"there is no model version {version} (see `tagger models`)")
        self.set_setting("active_version", str(version))
