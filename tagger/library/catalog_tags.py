"""Catalog queries about the user's own words on photos: tags typed in Tagger and keywords read from files.

A mixin of ``Catalog`` (it uses the catalog's connection and transactions); apart so the rules about the user's
words sit together as they grow.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from tagger.library.catalog_common import chunks


class UserTags:
    """Methods of ``tagger.library.catalog.Catalog`` (``self.db``, ``self.transaction()``, ``self.locate()``)."""

    # ------------------------------------------------------------------ user tags

    def add_user_tag(self, photo_id: int, tag: str, source: str = "user") -> None:
        with self.transaction():
            self.db.execute("INSERT OR IGNORE INTO user_tags (photo_id, tag, source, added_at) VALUES (?, ?, ?, ?)",
                            [photo_id, tag, source, time.time()])

    def remove_user_tag(self, photo_id: int, tag: str) -> bool:
        with self.transaction():
            cur = self.db.execute("DELETE FROM user_tags WHERE photo_id = ? AND tag = ?", [photo_id, tag])
        return cur.rowcount > 0

    def set_file_keywords(self, photo_id: int, keywords: Sequence[str] | None, sidecar_sig: str | None) -> None:
        """Make the photo's 'xmp' user tags equal the keywords its file and sidecars carry now.

        Only the 'xmp' source is touched: a tag the user added in Tagger is never replaced or removed, a keyword
        that left the file leaves the catalog. ``keywords`` None keeps the tags (they could not be read);
        ``sidecar_sig`` is remembered so an unchanged photo whose sidecar changed is noticed without decoding."""
        with self.transaction():
            if keywords is not None:
                now = {t.casefold(): t for t in keywords}
                have = {t.casefold(): (t, src) for t, src in self.db.execute(
                    "SELECT tag, source FROM user_tags WHERE photo_id = ?", [photo_id])}
                self.db.conn.executemany(
                    "DELETE FROM user_tags WHERE photo_id = ? AND tag = ? AND source = 'xmp'",
                    [(photo_id, t) for cf, (t, src) in have.items() if src == "xmp" and cf not in now])
                t0 = time.time()
                self.db.conn.executemany(
                    "INSERT OR IGNORE INTO user_tags (photo_id, tag, source, added_at) VALUES (?, ?, 'xmp', ?)",
                    [(photo_id, t, t0) for cf, t in now.items() if cf not in have])
            if sidecar_sig is not None:
                self.db.execute("UPDATE photos SET sidecar_sig = ? WHERE id = ?", [sidecar_sig, photo_id])

    def user_tags_with_source(self, photo_ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
        """(tag, source) per photo; source is 'user' (added in Tagger) or 'xmp' (read from the file's keywords)."""
        out: dict[int, list[tuple[str, str]]] = {}
        for chunk in chunks(list(photo_ids), 500):
            for pid, tag, source in self.db.execute(
                f"SELECT photo_id, tag, source FROM user_tags WHERE photo_id IN ({','.join('?' * len(chunk))}) "
                "ORDER BY tag", chunk
            ):
                out.setdefault(pid, []).append((tag, source))
        return out

    def user_tag_counts(self, source: str | None = None) -> list[tuple[str, int]]:
        """Each user tag (of one source, or all) with its number of indexed photos, most used first."""
        sql = ("SELECT u.tag, COUNT(*) FROM user_tags u JOIN photos p ON p.id = u.photo_id "
               "WHERE p.status = 'indexed'" + (" AND u.source = ?" if source else "") +
               " GROUP BY u.tag ORDER BY COUNT(*) DESC, u.tag")
        return [(t, n) for t, n in self.db.execute(sql, [source] if source else [])]

    def photos_tagged(self, tags: Sequence[str]) -> list[tuple[int, str]]:
        """(photo id, tag) of indexed photos carrying any of ``tags`` as a user tag (any source)."""
        out = []
        for chunk in chunks(list(tags), 500):
            out += self.db.execute(
                f"SELECT u.photo_id, u.tag FROM user_tags u JOIN photos p ON p.id = u.photo_id "
                f"WHERE p.status = 'indexed' AND u.tag IN ({','.join('?' * len(chunk))}) ORDER BY u.photo_id, u.tag",
                chunk).fetchall()
        return [(int(p), t) for p, t in out]

    def user_tags(self, photo_ids: Sequence[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for chunk in chunks(list(photo_ids), 500):
            for pid, tag in self.db.execute(
                f"SELECT photo_id, tag FROM user_tags WHERE photo_id IN ({','.join('?' * len(chunk))}) "
                "ORDER BY tag", chunk
            ):
                out.setdefault(pid, []).append(tag)
        return out
