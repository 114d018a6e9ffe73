"""Catalog queries about what detectors found in the photos: faces (boxes) and printed text (searchable).

A mixin of ``Catalog`` (it uses the catalog's connection and transactions). ``detections`` records, per photo and
kind ("faces", "text"), which detector looked at which content and how much it found, so a photo is looked at once
per content and detector: a changed file (new hash), a new photo or a better detector (new model id) is looked at
again, a photo where nothing was found is not. Boxes are relative to the upright photo (0..1).
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tagger.library.catalog_common import chunks

FACES = "faces"
TEXT = "text"
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class StoredFace:
    """A face as the catalog keeps it (the engine's ``Face`` without its landmarks)."""

    x: float
    y: float
    w: float
    h: float
    score: float


@dataclass(frozen=True)
class StoredLine:
    """A line of printed text as the catalog keeps it (the engine's ``TextLine``)."""

    text: str
    box: tuple[float, float, float, float]
    score: float
    angle: float = 0.0  # degrees from horizontal


class Detected:
    """Faces and printed text in the catalog (mixed into ``Catalog``)."""

    def put_faces(self, photo_id: int, faces: Sequence, model: str, content_hash: str | None) -> None:
        """Replace a photo's faces with what ``model`` found in content ``content_hash`` (inside the caller's
        transaction when there is one). ``faces``: objects with x, y, w, h, score and optionally landmarks."""
        import numpy as np  # 0.1-0.2 s: not for commands that never write a face

        self.db.execute("DELETE FROM faces WHERE photo_id = ?", [photo_id])
        self.db.conn.executemany(
            "INSERT INTO faces (photo_id, x, y, w, h, score, landmarks) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(photo_id, float(f.x), float(f.y), float(f.w), float(f.h), float(f.score),
              np.asarray(getattr(f, "landmarks", ()) or (), np.float32).tobytes() or None) for f in faces])
        self._looked(photo_id, FACES, model, content_hash, len(faces))

    def put_text(self, photo_id: int, lines: Sequence, model: str, content_hash: str | None) -> None:
        """Replace a photo's printed text with the lines ``model`` read (none: looked at, nothing read)."""
        self.db.execute("DELETE FROM photo_text WHERE photo_id = ?", [photo_id])
        if lines:
            self.db.execute(
                "INSERT INTO photo_text (photo_id, text, lines) VALUES (?, ?, ?)",
                [photo_id, "\n".join(line.text for line in lines),
                 json.dumps([[line.text, *[round(float(v), 5) for v in line.box], round(float(line.score), 4),
                              round(float(getattr(line, "angle", 0.0)), 2)] for line in lines], ensure_ascii=False)])
        self._looked(photo_id, TEXT, model, content_hash, len(lines))

    def _looked(self, photo_id: int, kind: str, model: str, content_hash: str | None, found: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO detections (photo_id, kind, model, hash, found, at) "
                        "VALUES (?, ?, ?, ?, ?, ?)", [photo_id, kind, model, content_hash, found, time.time()])

    def forget_detections(self, photo_id: int) -> None:
        """A photo's content changed: what was found in the old one no longer holds."""
        for table in ("faces", "photo_text", "detections"):
            self.db.execute(f"DELETE FROM {table} WHERE photo_id = ?", [photo_id])

    def not_looked_at(self, kind: str, model: str, root_ids: Sequence[int] | None = None) -> list[int]:
        """Indexed photos (of ``root_ids``, or all) that ``model`` has not looked at for ``kind`` in their present
        content, oldest first (resumable: each photo is recorded as it is done)."""
        roots = "" if root_ids is None else f" AND p.root_id IN ({','.join(str(int(r)) for r in root_ids) or 'NULL'})"
        return [r[0] for r in self.db.execute(
            """SELECT p.id FROM photos p LEFT JOIN detections d ON d.photo_id = p.id AND d.kind = ?
               WHERE p.status = 'indexed' AND (d.photo_id IS NULL OR d.model != ? OR d.hash IS NOT p.hash)"""
            + roots + " ORDER BY p.id", [kind, model])]

    def looked_at(self, photo_id: int, kind: str) -> bool:
        """Whether a detector looked at the photo's present content for ``kind`` ("faces": 0 faces then means none)."""
        return self.db.execute(
            "SELECT 1 FROM detections d JOIN photos p ON p.id = d.photo_id "
            "WHERE d.photo_id = ? AND d.kind = ? AND d.hash IS p.hash", [photo_id, kind]).fetchone() is not None

    def looked_at_photos(self, kind: str, photo_ids: Sequence[int] | None = None) -> set[int]:
        """``looked_at`` for many photos at once (all when None): the ids a detector looked at in present content."""
        sql = ("SELECT d.photo_id FROM detections d JOIN photos p ON p.id = d.photo_id "
               "WHERE d.kind = ? AND d.hash IS p.hash")
        if photo_ids is None:
            return {r[0] for r in self.db.execute(sql, [kind])}
        out: set[int] = set()
        for part in chunks(list(photo_ids), 500):
            out |= {r[0] for r in self.db.execute(sql + f" AND d.photo_id IN ({','.join('?' * len(part))})",
                                                  [kind, *part])}
        return out

    def photo_hashes(self, photo_ids: Sequence[int]) -> list[tuple[int, str | None]]:
        """(photo id, content hash) of the given photos that are still in the catalog."""
        out: list[tuple[int, str | None]] = []
        for part in chunks(list(photo_ids), 500):
            out += self.db.execute(f"SELECT id, hash FROM photos WHERE id IN ({','.join('?' * len(part))})",
                                   part).fetchall()
        return out

    def faces(self, photo_ids: Sequence[int] | None = None) -> dict[int, list[StoredFace]]:
        """Faces of the given photos (all photos with faces when None), biggest first."""
        out: dict[int, list[StoredFace]] = {}
        sql = "SELECT photo_id, x, y, w, h, score FROM faces"
        groups: Iterable = [None] if photo_ids is None else chunks(list(photo_ids), 500)
        for part in groups:
            where = "" if part is None else f" WHERE photo_id IN ({','.join('?' * len(part))})"
            for pid, x, y, w, h, s in self.db.execute(sql + where, [] if part is None else list(part)):
                out.setdefault(pid, []).append(StoredFace(x, y, w, h, s))
        for faces in out.values():
            faces.sort(key=lambda f: -f.w * f.h)
        return out

    def printed_text(self, photo_ids: Sequence[int] | None = None) -> dict[int, list[StoredLine]]:
        """The lines read in the given photos (all photos with text when None), in reading order."""
        out: dict[int, list[StoredLine]] = {}
        groups: Iterable = [None] if photo_ids is None else chunks(list(photo_ids), 500)
        for part in groups:
            where = "" if part is None else f" WHERE photo_id IN ({','.join('?' * len(part))})"
            for pid, lines in self.db.execute("SELECT photo_id, lines FROM photo_text" + where,
                                              [] if part is None else list(part)):
                out[pid] = [StoredLine(str(t), (x, y, w, h), s, *rest) for t, x, y, w, h, s, *rest in json.loads(lines)]
        return out

    def photos_printing(self, text: str, limit: int = 100_000) -> dict[int, float]:
        """Photos whose printed text holds every word of ``text`` (case and accents ignored), with a relevance
        rank (FTS5's bm25: lower is better, negated here so that higher is better)."""
        words = _WORD.findall(text.lower())[:16]
        if not words:
            return {}
        query = " ".join('"' + w.replace('"', '""') + '"' for w in words)  # every word, each a quoted token
        try:
            rows = self.db.execute(
                "SELECT rowid, bm25(photo_text_fts) FROM photo_text_fts WHERE photo_text_fts MATCH ? "
                "ORDER BY bm25(photo_text_fts) LIMIT ?", [query, limit]).fetchall()
        except Exception:  # a query FTS5 cannot parse finds nothing rather than failing the search
            return {}
        return {int(pid): -float(rank) for pid, rank in rows}

    def printed_words_like(self, word: str, limit: int = 8) -> list[str]:
        """Words printed in some photo that are one edit (a letter changed, added or dropped) from ``word``: what the
        reader may have made of it ("fisgaivule" read as "fsgaivule"). Most frequent first."""
        w = word.lower()
        try:
            rows = self.db.execute("SELECT term, cnt FROM photo_text_terms WHERE length(term) BETWEEN ? AND ?",
                                   [len(w) - 1, len(w) + 1]).fetchall()
        except sqlite3.OperationalError:  # no text index in this catalog (yet): nothing is near
            return []
        near = [(t, n) for t, n in rows if t != w and _one_edit(w, t)]
        return [t for t, _ in sorted(near, key=lambda tn: -tn[1])[:limit]]

    def detection_counts(self) -> dict[str, int]:
        """How many indexed photos were looked at and how many have faces / printed text (``tagger status``)."""
        row = self.db.execute(
            """SELECT
                 (SELECT COUNT(*) FROM detections WHERE kind = 'faces'),
                 (SELECT COUNT(DISTINCT photo_id) FROM faces),
                 (SELECT COUNT(*) FROM faces),
                 (SELECT COUNT(*) FROM detections WHERE kind = 'text'),
                 (SELECT COUNT(*) FROM photo_text)""").fetchone()
        return dict(zip(("looked_for_faces", "photos_with_faces", "faces", "looked_for_text", "photos_with_text"),
                        row))


def _one_edit(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with one letter changed, added or dropped."""
    if len(a) > len(b):
        a, b = b, a
    if len(b) - len(a) > 1:
        return False
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i + 1:] == b[i + 1:] if len(a) == len(b) else a[i:] == b[i + 1:]
