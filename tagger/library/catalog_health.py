"""Catalog checks and repairs that ``tagger doctor`` runs: integrity, orphan rows, index rebuilds.

A mixin of ``Catalog``; the decisions about what to repair live in ``tagger.library.doctor``.
"""

from __future__ import annotations


class Health:
    """Methods of ``tagger.library.catalog.Catalog`` (``self.db``, ``self.transaction()``, ``self.locate()``)."""

    # ------------------------------------------------------------------ health (tagger doctor)

    _PHOTO_CHILDREN = ("features", "embeddings", "auto_tags", "user_tags", "keyword_base", "keyword_conflicts",
                       "detections", "faces", "photo_text")

    def integrity_problems(self) -> list[str]:
        """SQLite's own check of every page and index ([] when healthy)."""
        rows = [r[0] for r in self.db.execute("PRAGMA integrity_check")]
        return [] if rows == ["ok"] else rows

    def orphan_rows(self) -> dict[str, int]:
        """Rows whose photo (or root) no longer exists, per table: debris a crash or an old bug could leave."""
        out = {t: self.db.execute(f"SELECT COUNT(*) FROM {t} "
                                  "WHERE photo_id NOT IN (SELECT id FROM photos)").fetchone()[0]
               for t in self._PHOTO_CHILDREN}
        out["photos"] = self.db.execute("SELECT COUNT(*) FROM photos WHERE root_id NOT IN (SELECT id FROM roots)"
                                        ).fetchone()[0]
        return {t: n for t, n in out.items() if n}

    def delete_orphan_rows(self) -> dict[str, int]:
        with self.transaction():
            out = {"photos": self.db.execute("DELETE FROM photos WHERE root_id NOT IN (SELECT id FROM roots)").rowcount}
            for t in self._PHOTO_CHILDREN:
                out[t] = self.db.execute(f"DELETE FROM {t} WHERE photo_id NOT IN (SELECT id FROM photos)").rowcount
        return {t: n for t, n in out.items() if n}

    def rebuild_indexes(self, vacuum: bool = False) -> None:
        """REINDEX rebuilds every index from its table (the repair for index-only corruption); VACUUM then rewrites
        the file from the tables (pages lost to the free list). Both are transactional: a kill changes nothing."""
        if self.read_only:
            self.transaction()  # raises the read-only error
        self.db.execute("REINDEX")
        if vacuum:
            self.db.execute("VACUUM")

    def photo_files(self, status: str = "indexed") -> list[tuple[int, int, bytes, str | None]]:
        """(id, root id, path key, content hash) of every photo with ``status``."""
        return [(i, r, bytes(k), h) for i, r, k, h in self.db.execute(
            "SELECT id, root_id, path_key, hash FROM photos WHERE status = ? ORDER BY id", [status])]

    def known_hashes(self) -> set[str]:
        """Content hashes of every photo row (any status: a gone photo may come back and reuse its thumbnail)."""
        return {h for (h,) in self.db.execute("SELECT DISTINCT hash FROM photos WHERE hash IS NOT NULL")}
