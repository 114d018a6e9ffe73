"""The photo catalog: one SQLite file (``catalog_db``), a versioned schema, migrations, WAL, atomic batches.

Why these choices:
- Paths are stored relative to their library root as the exact OS bytes (``path_key``) plus a display string, so
  file names that are not valid UTF-8 survive, and a library can be moved by re-pointing its root.
- Backbone features and ImageNet evidence are keyed by backbone, word-space embeddings and automatic tags by model
  version: retraining re-projects stored features without decoding a single photo again.
- Every write happens in one transaction per batch and WAL mode is on, so a kill at any moment leaves the catalog as
  it was after the last committed batch.
- ``PRAGMA user_version`` is the schema version; a catalog from a newer Tagger is refused untouched.
"""

from __future__ import annotations

import glob
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tagger.errors import is_disk_full, user_message
from tagger.fileio import atomic_write_bytes
from tagger.library import schema
from tagger.library.catalog_common import CatalogError, chunks
from tagger.library.catalog_db import CatalogDb
from tagger.library.catalog_detections import Detected
from tagger.library.catalog_folders import LibraryFolders
from tagger.library.catalog_health import Health
from tagger.library.catalog_tags import UserTags
from tagger.library.catalog_training import LabelsAndVersions
from tagger.library.schema import SCHEMA_VERSION
from tagger.paths import default_db_path

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Root:
    id: int
    path: Path

    def absolute(self, path_key: bytes) -> Path:
        return Path(os.fsdecode(os.fsencode(self.path) + b"/" + path_key))


@dataclass(frozen=True)
class KnownFile:
    """What the indexer needs to decide, without decoding, whether a file changed."""

    id: int
    size: int
    mtime_ns: int
    status: str
    hash: str | None
    has_embedding: bool
    sidecar_sig: str | None = None  # fingerprint of its XMP sidecars when keywords were last read (None: never)


@dataclass
class PhotoRecord:
    """One file's outcome, written by the indexer: indexed with vectors, or failed with a reason."""

    root_id: int
    path_key: bytes
    size: int
    mtime_ns: int
    status: str  # 'indexed' or 'failed'
    hash: str | None = None
    reason: str | None = None
    width: int | None = None
    height: int | None = None
    format: str | None = None
    taken_at: str | None = None
    features: np.ndarray | None = None  # (F,) stored as float16
    top_classes: np.ndarray | None = None  # (T,) int16
    top_probs: np.ndarray | None = None  # (T,) stored as float16
    embedding: np.ndarray | None = None  # (D,) float32
    auto_tags: Sequence[tuple[str, float]] = ()
    # vectors and tags of the active trained version, written in the same transaction: (model, vector, tags)
    extra: Sequence[tuple[str, np.ndarray, Sequence[tuple[str, float]]]] = ()
    keywords: Sequence[str] | None = None  # from the file's XMP/IPTC and sidecars (None: leave 'xmp' tags alone)
    sidecar_sig: str | None = None  # see KnownFile.sidecar_sig
    faces: tuple[str, Sequence] | None = None  # (detector model id, faces found) when looked for during indexing


@dataclass
class EmbeddingTable:
    """All indexed photos' vectors for one model, as contiguous arrays for brute-force search."""

    ids: np.ndarray  # (N,) int64 photo ids
    vectors: np.ndarray  # (N, D) float32 unit rows
    top_classes: np.ndarray  # (N, T) int16
    top_probs: np.ndarray  # (N, T) float32


def display_path(path_key: bytes) -> str:
    return path_key.decode("utf-8", errors="replace")


class Catalog(UserTags, LabelsAndVersions, Health, LibraryFolders, Detected):
    """A handle on one catalog file. Not shared between threads: open one per thread (SQLite's rule)."""

    def __init__(self, db: CatalogDb, path: Path):
        self.db = db
        self.path = path
        self.read_only = False  # opened from a read-only disk or file: reading works, every write is refused
        self.read_only_reason = "is on a read-only disk (or not writable)"  # said when a write is refused

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, path: Path | str | None = None, *, migrate: bool = True) -> Catalog:
        """Open (creating if needed) and bring the schema up to date; refuse a catalog from a newer Tagger."""
        # absolute once, here: model versions and thumbnails are stored beside the catalog by path, and a relative
        # one would point elsewhere when the next command runs from another directory
        path = Path(path).absolute() if path is not None else default_db_path()
        read_only = path.exists() and not _writable(path)
        try:
            if not read_only:
                path.parent.mkdir(parents=True, exist_ok=True)
            conn = _connect(path, read_only)
        except (OSError, sqlite3.Error) as exc:
            raise CatalogError(f"cannot open the catalog {path}: {user_message(exc) or exc}") from None
        full = False
        try:
            cls._prepare(conn, path, read_only, migrate)
        except sqlite3.OperationalError as exc:
            conn.close()
            if read_only or not _no_room(exc):
                raise CatalogError(f"cannot open the catalog {path}: {user_message(exc)}") from None
            conn = cls._open_without_room(path, exc, migrate)
            full = True
        catalog = cls(CatalogDb(conn), path)
        catalog.read_only = read_only or full
        if full:
            catalog.read_only_reason = "is on a full disk"
        return catalog

    @classmethod
    def _open_without_room(cls, path: Path, first: sqlite3.OperationalError, migrate: bool) -> sqlite3.Connection:
        """Open a healthy catalog for reading on a full disk.

        Reading a WAL catalog that no other connection holds makes SQLite (re)build its shared-memory index in the
        ``-shm`` file, which takes disk blocks; on a full disk that fails with "disk I/O error" although nothing is
        wrong with the catalog. In exclusive locking mode SQLite keeps that index in memory instead, so reading needs
        no disk space at all. The price, another process waiting while this one reads, is paid only on a full disk,
        where nobody can write anyway; the catalog is opened read-only so a change fails clearly, before it starts."""
        try:
            conn = _connect(path, False)
        except (OSError, sqlite3.Error):
            raise CatalogError(f"cannot open the catalog {path}: {user_message(first)}") from None
        try:
            conn.execute("PRAGMA locking_mode = EXCLUSIVE")
            cls._prepare(conn, path, False, migrate=False, upgrade_refused="the disk is full" if migrate else None)
        except sqlite3.Error:
            conn.close()
            raise CatalogError(f"cannot open the catalog {path}: {user_message(first)}") from None
        return conn

    @staticmethod
    def _prepare(conn: sqlite3.Connection, path: Path, read_only: bool, migrate: bool,
                 upgrade_refused: str | None = None) -> None:
        """Check the schema version, migrate if asked, set WAL. Raises CatalogError (the connection closed) for a
        catalog that must not be used; lets sqlite3.OperationalError through (a full disk, a lock: not damage)."""
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            # the version and the tables in ONE read transaction: read apart, another process creating this catalog
            # could commit in between, and its fresh tables under "version 0" would read as some other program's db
            conn.execute("BEGIN")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                has_tables = bool(conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0])
            finally:
                if conn.in_transaction:  # SQLite may have ended it already (an I/O error on a full disk)
                    conn.execute("COMMIT")
            if version > SCHEMA_VERSION:
                raise CatalogError(
                    f"the catalog {path} was written by a newer Tagger (schema {version}, this one knows "
                    f"{SCHEMA_VERSION}); upgrade Tagger or use another --db. Nothing was changed."
                )
            if version == 0 and has_tables:
                raise CatalogError(f"{path} is an SQLite database but not a Tagger catalog; use another --db. "
                                   "Nothing was changed.")
            if version < SCHEMA_VERSION and migrate and read_only:
                raise CatalogError(f"the catalog {path} needs an upgrade (schema {version} -> {SCHEMA_VERSION}) but "
                                   "is on a read-only disk or not writable; open it once where it can be written. "
                                   "Nothing was changed.")
            if version < SCHEMA_VERSION and upgrade_refused:
                raise CatalogError(f"the catalog {path} needs to be created or upgraded (schema {version} -> "
                                   f"{SCHEMA_VERSION}) but {upgrade_refused}: free some space, then try again. "
                                   "Nothing was changed.")
            if version < SCHEMA_VERSION and migrate:
                if version > 0:
                    backup_catalog(conn, path, version)
                conn.execute("PRAGMA journal_mode = WAL")
                schema.migrate(conn, version)
            elif version == SCHEMA_VERSION:
                try:
                    conn.execute("PRAGMA journal_mode = WAL")
                except sqlite3.OperationalError:
                    pass  # read-only media: WAL cannot be enabled, reading still works
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.OperationalError:
            raise  # no room, locked, I/O: the caller decides; never "damaged"
        except sqlite3.DatabaseError as exc:  # SQLITE_CORRUPT, SQLITE_NOTADB
            conn.close()
            raise CatalogError(f"the catalog {path} is damaged or not a Tagger catalog ({exc})") from None
        except CatalogError:
            conn.close()
            raise

    def close(self) -> None:
        self.db.conn.close()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    @property
    def thumbnail_dir(self) -> Path:
        return self.path.parent / (self.path.stem + ".thumbnails")

    def held_files(self) -> frozenset[tuple[int, int]]:
        """(device, inode) of the catalog file and its -wal/-shm/-journal: the files this process holds through SQLite.

        POSIX drops every lock a process holds on a file when it closes ANY descriptor on that file, so reading one of
        these outside SQLite (a scanner sniffing file contents) silently unlocks this process's connections; another
        process may then take the WAL for unused and delete it, and later writes here are lost. Code that opens files
        in the library must skip these."""
        held = set()
        for name in ("", "-wal", "-shm", "-journal"):
            try:
                st = os.stat(f"{self.path}{name}")
            except OSError:
                continue
            held.add((st.st_dev, st.st_ino))
        return frozenset(held)

    def thumbnail_path(self, content_hash: str) -> Path:
        return self.thumbnail_dir / content_hash[:2] / f"{content_hash}.jpg"

    def save_thumbnail(self, content_hash: str, jpeg: bytes) -> bool:
        """Store a photo's thumbnail atomically (thumbnails are named by content, so a present one is never rewritten).
        Thumbnails are a cache: a full or read-only disk returns False instead of stopping the caller."""
        path = self.thumbnail_path(content_hash)
        if path.exists():
            try:
                os.utime(path)  # in use again: `doctor --repair` leaves a thumbnail touched within the hour alone
            except OSError:
                pass
            return True
        try:
            atomic_write_bytes(path, jpeg, fsync=False)
        except OSError:
            return False
        return True

    def transaction(self):
        """``with catalog.transaction():`` - one atomic unit (BEGIN IMMEDIATE … COMMIT, rollback on error)."""
        if self.read_only:
            raise CatalogError(f"the catalog {self.path} {self.read_only_reason}: searching and browsing work, "
                               "changes cannot be saved" + ("; free some space, then try again"
                                                            if "full" in self.read_only_reason else ""))
        return _Transaction(self.db.conn)

    # ------------------------------------------------------------------ roots

    def add_root(self, path: Path | str) -> Root:
        """The library folder for ``path``: an existing one that holds it, else a new one that takes in every library
        folder inside it (their rows, tags and labels), so no photo is ever reached through two library folders."""
        resolved = Path(os.path.realpath(path))
        key = os.fsencode(resolved)
        row = self.db.execute("SELECT id FROM roots WHERE path_bytes = ?", [key]).fetchone()
        if row:
            return Root(row[0], resolved)
        located = self.locate(resolved)
        if located is not None:
            return located[0]
        with self.transaction():
            cur = self.db.execute("INSERT INTO roots (path, path_bytes, added_at) VALUES (?, ?, ?)",
                                  [display_path(key), key, time.time()])
            for inner in self.roots():
                inner_b = os.fsencode(inner.path)
                if inner.id != cur.lastrowid and inner_b.startswith(key.rstrip(b"/") + b"/"):
                    self.merge_root(inner.id, cur.lastrowid, inner_b[len(key.rstrip(b"/")) + 1:])
        return Root(cur.lastrowid, resolved)

    def roots(self) -> list[Root]:
        return [Root(i, Path(os.fsdecode(b)))
                for i, b in self.db.execute("SELECT id, path_bytes FROM roots ORDER BY id")]

    def remove_root(self, root_id: int) -> None:
        with self.transaction():
            self.db.execute("DELETE FROM roots WHERE id = ?", [root_id])

    def locate(self, path: Path | str) -> tuple[Root, bytes] | None:
        """The library root containing ``path`` and the path relative to it (b'' for the root itself)."""
        target = os.fsencode(os.path.realpath(path))
        best = None
        for root in self.roots():
            rb = os.fsencode(root.path)
            if target == rb or target.startswith(rb.rstrip(b"/") + b"/"):
                if best is None or len(rb) > len(os.fsencode(best.path)):
                    best = root
        if best is None:
            return None
        rb = os.fsencode(best.path)
        return best, target[len(rb):].lstrip(b"/")

    # ------------------------------------------------------------------ indexer support

    def known_files(self, root_id: int, model: str) -> dict[bytes, KnownFile]:
        rows = self.db.execute(
            """SELECT p.id, p.path_key, p.size, p.mtime_ns, p.status, p.hash,
                      EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model = ?), p.sidecar_sig
               FROM photos p WHERE p.root_id = ?""",
            [model, root_id],
        )
        return {bytes(k): KnownFile(i, s, m, st, h, bool(e), sc) for i, k, s, m, st, h, e, sc in rows}

    def missing_by_hash(self, hashes: Iterable[str], root_ids: Sequence[int], seen: set[int]) -> dict[str, int]:
        """Photos with these contents whose files were not seen in this scan: candidates for a move."""
        hashes = list(set(hashes))
        out: dict[str, int] = {}
        for lo in range(0, len(hashes), 500):
            chunk = hashes[lo:lo + 500]
            marks = ",".join("?" * len(chunk))
            for pid, h, rid in self.db.execute(
                f"SELECT id, hash, root_id FROM photos WHERE hash IN ({marks}) AND status != 'failed'", chunk
            ):
                if pid not in seen and rid in root_ids and h not in out:
                    out[h] = pid
        return out

    def put_embeddings(self, photo_ids: Sequence[int], model: str, vectors: np.ndarray,
                       auto_tags: Sequence[Sequence[tuple[str, float]]] | None = None) -> None:
        """Vectors (and automatic tags) of a new model version for already indexed photos, in one transaction."""
        import numpy as np  # 0.1-0.2 s: not for commands that never read a vector
        with self.transaction():
            self.db.conn.executemany(
                "INSERT OR REPLACE INTO embeddings (photo_id, model, vector) VALUES (?, ?, ?)",
                [(int(p), model, np.asarray(v, np.float32).tobytes()) for p, v in zip(photo_ids, vectors)])
            if auto_tags is not None:
                self.db.conn.executemany("DELETE FROM auto_tags WHERE model = ? AND photo_id = ?",
                                         [(model, int(p)) for p in photo_ids])
                self.db.conn.executemany(
                    "INSERT INTO auto_tags (photo_id, model, tag, weight) VALUES (?, ?, ?, ?)",
                    [(int(p), model, t, float(w)) for p, tags in zip(photo_ids, auto_tags) for t, w in tags])

    def write_batch(self, records: Sequence[PhotoRecord], backbone: str, model: str) -> list[int]:
        """Insert or update each file's row and its vectors in ONE transaction; returns the photo ids."""
        now = time.time()
        ids = []
        with self.transaction():
            for r in records:
                row = self.db.execute(
                    """INSERT INTO photos (root_id, path_key, rel_path, size, mtime_ns, hash, width, height, format,
                                           taken_at, status, reason, indexed_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                       ON CONFLICT (root_id, path_key) DO UPDATE SET
                         size = excluded.size, mtime_ns = excluded.mtime_ns, hash = excluded.hash,
                         width = excluded.width, height = excluded.height, format = excluded.format,
                         taken_at = excluded.taken_at, status = excluded.status, reason = excluded.reason,
                         indexed_at = excluded.indexed_at
                       RETURNING id""",
                    [r.root_id, r.path_key, display_path(r.path_key), r.size, r.mtime_ns, r.hash, r.width, r.height,
                     r.format, r.taken_at, r.status, r.reason, now],
                ).fetchone()
                pid = row[0]
                ids.append(pid)
                self.forget_detections(pid)  # new content (or a failure): what was found in the old one is gone
                if r.status == "indexed":
                    self._put_vectors(pid, r, backbone, model)
                    if r.faces is not None:
                        self.put_faces(pid, r.faces[1], r.faces[0], r.hash)
                else:
                    self.db.execute("DELETE FROM embeddings WHERE photo_id = ?", [pid])
                    self.db.execute("DELETE FROM features WHERE photo_id = ?", [pid])
                    self.db.execute("DELETE FROM auto_tags WHERE photo_id = ?", [pid])
                if r.keywords is not None or r.sidecar_sig is not None:
                    self.set_file_keywords(pid, r.keywords, r.sidecar_sig)
        return ids

    def _put_vectors(self, pid: int, r: PhotoRecord, backbone: str, model: str) -> None:
        import numpy as np  # 0.1-0.2 s: not for commands that never read a vector
        self.db.execute(
            "INSERT OR REPLACE INTO features (photo_id, backbone, features, top_classes, top_probs) "
            "VALUES (?, ?, ?, ?, ?)",
            [pid, backbone, np.asarray(r.features, np.float16).tobytes(), np.asarray(r.top_classes, np.int16).tobytes(),
             np.asarray(r.top_probs, np.float16).tobytes()],
        )
        self.db.execute("INSERT OR REPLACE INTO embeddings (photo_id, model, vector) VALUES (?, ?, ?)",
                        [pid, model, np.asarray(r.embedding, np.float32).tobytes()])
        self.db.execute("DELETE FROM auto_tags WHERE photo_id = ? AND model = ?", [pid, model])
        self.db.conn.executemany("INSERT INTO auto_tags (photo_id, model, tag, weight) VALUES (?, ?, ?, ?)",
                                 [(pid, model, t, float(w)) for t, w in r.auto_tags])
        for extra_model, vector, tags in r.extra:
            self.db.execute("INSERT OR REPLACE INTO embeddings (photo_id, model, vector) VALUES (?, ?, ?)",
                            [pid, extra_model, np.asarray(vector, np.float32).tobytes()])
            self.db.execute("DELETE FROM auto_tags WHERE photo_id = ? AND model = ?", [pid, extra_model])
            self.db.conn.executemany("INSERT INTO auto_tags (photo_id, model, tag, weight) VALUES (?, ?, ?, ?)",
                                     [(pid, extra_model, t, float(w)) for t, w in tags])

    def move(self, photo_id: int, root_id: int, path_key: bytes, size: int, mtime_ns: int) -> None:
        """Re-point a photo whose file was moved or renamed: same row, so its tags and vectors stay."""
        with self.transaction():
            self.db.execute("DELETE FROM photos WHERE root_id = ? AND path_key = ? AND id != ?",
                            [root_id, path_key, photo_id])
            self.db.execute(
                """UPDATE photos SET root_id = ?, path_key = ?, rel_path = ?, size = ?, mtime_ns = ?,
                   status = 'indexed', reason = NULL WHERE id = ?""",
                [root_id, path_key, display_path(path_key), size, mtime_ns, photo_id],
            )

    def touch(self, photo_id: int, size: int, mtime_ns: int) -> None:
        """Same content, new mtime (a copy or `touch`): remember the new stat so the next run skips it."""
        with self.transaction():
            self.db.execute("UPDATE photos SET size = ?, mtime_ns = ?, status = 'indexed', reason = NULL WHERE id = ?",
                            [size, mtime_ns, photo_id])

    def mark_gone(self, photo_ids: Iterable[int], reason: str = "file no longer exists") -> int:
        ids = list(photo_ids)
        with self.transaction():
            for lo in range(0, len(ids), 500):
                chunk = ids[lo:lo + 500]
                self.db.execute(f"UPDATE photos SET status = 'gone', reason = ? "
                                f"WHERE id IN ({','.join('?' * len(chunk))}) AND status != 'gone'", [reason, *chunk])
        return len(ids)

    # ------------------------------------------------------------------ reading

    def embedding_table(self, model: str, backbone: str, photo_ids: Sequence[int] | None = None) -> EmbeddingTable:
        """Vectors of all indexed photos for ``model`` (optionally only ``photo_ids``), for brute-force search."""
        import numpy as np  # 0.1-0.2 s: not for commands that never read a vector
        sql = """SELECT e.photo_id, e.vector, f.top_classes, f.top_probs FROM embeddings e
                 JOIN photos p ON p.id = e.photo_id
                 JOIN features f ON f.photo_id = e.photo_id AND f.backbone = ?
                 WHERE e.model = ? AND p.status = 'indexed' ORDER BY e.photo_id"""
        rows = self.db.execute(sql, [backbone, model]).fetchall()
        if photo_ids is not None:
            wanted = set(photo_ids)
            rows = [r for r in rows if r[0] in wanted]
        if not rows:
            return EmbeddingTable(np.zeros(0, np.int64), np.zeros((0, 0), np.float32), np.zeros((0, 0), np.int16),
                                  np.zeros((0, 0), np.float32))
        ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
        vectors = np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(len(rows), -1)
        classes = np.frombuffer(b"".join(r[2] for r in rows), np.int16).reshape(len(rows), -1)
        probs = np.frombuffer(b"".join(r[3] for r in rows), np.float16).reshape(len(rows), -1).astype(np.float32)
        return EmbeddingTable(ids, vectors, classes, probs)

    def features(self, photo_ids: Sequence[int], backbone: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids found, (n, F) float32 features) for the given photos."""
        import numpy as np  # 0.1-0.2 s: not for commands that never read a vector
        out_ids, blobs = [], []
        for chunk in chunks(list(photo_ids), 500):
            for pid, blob in self.db.execute(
                "SELECT photo_id, features FROM features "
                f"WHERE backbone = ? AND photo_id IN ({','.join('?' * len(chunk))})",
                [backbone, *chunk],
            ):
                out_ids.append(pid)
                blobs.append(blob)
        if not blobs:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        return (np.asarray(out_ids, np.int64),
                np.frombuffer(b"".join(blobs), np.float16).reshape(len(blobs), -1).astype(np.float32))

    def feature_chunks(self, backbone: str, photo_ids: Sequence[int] | None = None,
                       chunk: int = 10_000) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """(ids, (n, F) float32 features, (n, T) top classes, (n, T) probs) of indexed photos (all, or ``photo_ids``)
        in id order and in chunks, so a million-photo catalog is re-projected without holding it all in memory."""
        import numpy as np  # 0.1-0.2 s: not for commands that never read a vector
        sql = """SELECT f.photo_id, f.features, f.top_classes, f.top_probs FROM features f
                 JOIN photos p ON p.id = f.photo_id WHERE f.backbone = ? AND p.status = 'indexed' AND {}
                 ORDER BY f.photo_id"""
        if photo_ids is None:
            last = -1
            while rows := self.db.execute(sql.format("f.photo_id > ?") + " LIMIT ?",
                                          [backbone, last, chunk]).fetchall():
                last = rows[-1][0]
                yield _feature_arrays(rows)
            return
        wanted = np.unique(np.asarray(photo_ids, np.int64)).tolist()
        for lo in range(0, len(wanted), chunk):
            rows = []
            for part in chunks(wanted[lo:lo + chunk], 500):
                rows += self.db.execute(sql.format(f"f.photo_id IN ({','.join('?' * len(part))})"),
                                        [backbone, *part]).fetchall()
            if rows:
                yield _feature_arrays(rows)

    def newest_first(self) -> list[tuple[int, str, str]]:
        """(id, content hash, file name) of every indexed photo, newest capture date first: the order people browse."""
        return [(pid, h, rel.rsplit("/", 1)[-1]) for pid, h, rel in self.db.execute(
            "SELECT id, hash, rel_path FROM photos WHERE status = 'indexed' "
            "ORDER BY COALESCE(taken_at, '') DESC, id DESC")]

    def indexed_ids(self) -> list[int]:
        return [r[0] for r in self.db.execute("SELECT id FROM photos WHERE status = 'indexed' ORDER BY id")]

    def photos_missing_model(self, model: str) -> list[int]:
        """Indexed photos with no vector for ``model`` (e.g. indexed while another version was active)."""
        return [r[0] for r in self.db.execute(
            """SELECT p.id FROM photos p WHERE p.status = 'indexed' AND NOT EXISTS
               (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id AND e.model = ?) ORDER BY p.id""", [model])]

    def lowest_auto_tag_weights(self, model: str, photo_ids: Sequence[int]) -> dict[int, float]:
        """Each photo's weakest stored automatic tag: the bar a trained label must clear to join its tags."""
        out: dict[int, float] = {}
        for chunk in chunks(list(photo_ids), 500):
            out.update(self.db.execute(
                f"SELECT photo_id, MIN(weight) FROM auto_tags WHERE model = ? "
                f"AND photo_id IN ({','.join('?' * len(chunk))}) GROUP BY photo_id", [model, *chunk]).fetchall())
        return out

    def drop_model(self, model: str) -> None:
        """Forget every vector and automatic tag of a model (an abandoned or deleted version)."""
        with self.transaction():
            self.db.execute("DELETE FROM embeddings WHERE model = ?", [model])
            self.db.execute("DELETE FROM auto_tags WHERE model = ?", [model])

    def photo(self, photo_id: int) -> dict | None:
        row = self.db.execute("SELECT * FROM photos WHERE id = ?", [photo_id]).fetchone()
        if row is None:
            return None
        cols = [d[0] for d in self.db.execute("SELECT * FROM photos LIMIT 0").description]
        return dict(zip(cols, row))

    def photo_paths(self, photo_ids: Sequence[int]) -> dict[int, Path]:
        roots = {r.id: r for r in self.roots()}
        out = {}
        for chunk in chunks(list(photo_ids), 500):
            for pid, rid, key in self.db.execute(
                f"SELECT id, root_id, path_key FROM photos WHERE id IN ({','.join('?' * len(chunk))})", chunk
            ):
                out[pid] = roots[rid].absolute(bytes(key))
        return out

    def find_photo(self, path: Path | str) -> int | None:
        loc = self.locate(path)
        if loc is None:
            return None
        root, key = loc
        row = self.db.execute("SELECT id FROM photos WHERE root_id = ? AND path_key = ?", [root.id, key]).fetchone()
        return row[0] if row else None

    def photos_under(self, path: Path | str, status: str | None = "indexed") -> list[int]:
        """Ids of photos inside a folder (recursively) or the one photo at ``path``."""
        loc = self.locate(path)
        if loc is None:
            return []
        root, key = loc
        cond, args = "root_id = ?", [root.id]
        if key:
            # path_key is BLOB: a prefix is a byte range [key/, key0) where '0' follows '/' in byte order
            cond += " AND (path_key = ? OR (path_key >= ? AND path_key < ?))"
            args += [key, key + b"/", key + b"0"]
        if status:
            # "+status": without statistics SQLite prefers the status index, which scans every indexed photo for
            # each folder (100 labels x 100k photos: seconds); the path range on (root_id, path_key) reads the folder
            cond += " AND +status = ?" if key else " AND status = ?"
            args.append(status)
        return [r[0] for r in self.db.execute(f"SELECT id FROM photos WHERE {cond} ORDER BY id", args)]

    def auto_tags(self, photo_ids: Sequence[int], model: str) -> dict[int, list[tuple[str, float]]]:
        out: dict[int, list[tuple[str, float]]] = {}
        for chunk in chunks(list(photo_ids), 500):
            for pid, tag, w in self.db.execute(
                "SELECT photo_id, tag, weight FROM auto_tags "
                f"WHERE model = ? AND photo_id IN ({','.join('?' * len(chunk))}) "
                "ORDER BY photo_id, weight DESC", [model, *chunk]
            ):
                out.setdefault(pid, []).append((tag, w))
        return out

    # ------------------------------------------------------------------ status

    def counts(self) -> dict[str, int]:
        out = {"indexed": 0, "failed": 0, "gone": 0}
        for status, n in self.db.execute("SELECT status, COUNT(*) FROM photos GROUP BY status"):
            out[status] = n
        return out

    def failures(self, limit: int | None = None) -> list[tuple[Path, str]]:
        roots = {r.id: r for r in self.roots()}
        sql = "SELECT root_id, path_key, reason FROM photos WHERE status = 'failed' ORDER BY root_id, path_key"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [(roots[rid].absolute(bytes(key)), reason or "") for rid, key, reason in self.db.execute(sql)]

    def get_setting(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
        return row[0] if row else default

    def set_setting(self, key: str, value: str) -> None:
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", [key, value])

class _Transaction:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self.outer = False

    def __enter__(self):
        if self.conn.in_transaction:  # nested: the outer transaction decides
            self.outer = True
            return self
        self.conn.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.outer:
            return False
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")
        return False


def _writable(path: Path) -> bool:
    """Whether SQLite can write the catalog: the file and its folder (journal, WAL) writable; a read-only mount
    answers no even to root (EROFS)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


_NO_ROOM = frozenset({"SQLITE_FULL", "SQLITE_IOERR_SHMSIZE", "SQLITE_IOERR_SHMOPEN", "SQLITE_IOERR_SHMMAP"})


def _no_room(exc: sqlite3.OperationalError) -> bool:
    """SQLite could not get disk space (or its -shm file) to open the catalog: a full disk, not a damaged file."""
    return is_disk_full(exc) or getattr(exc, "sqlite_errorname", None) in _NO_ROOM


def _connect(path: Path, read_only: bool) -> sqlite3.Connection:
    if not read_only:
        return sqlite3.connect(str(path), timeout=10.0, isolation_level=None, check_same_thread=False)
    # Read-only media: a WAL catalog needs its -shm file, which cannot be created there. Without a -wal file
    # everything is in the main file and nothing can change it, so SQLite may treat it as immutable.
    wal = Path(str(path) + "-wal")
    mode = "mode=ro" if wal.exists() and wal.stat().st_size else "mode=ro&immutable=1"
    uri = "file:" + urllib.parse.quote(os.fspath(path.absolute())) + "?" + mode
    return sqlite3.connect(uri, uri=True, timeout=10.0, isolation_level=None, check_same_thread=False)


def backup_catalog(conn: sqlite3.Connection, path: Path, version: int) -> Path:
    """Copy the catalog (consistently, through SQLite's backup API) next to itself before a migration, so an
    upgrade can always be undone: ``<name>.backup-schema<N>-<date>.db``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    dest = path.with_name(f"{path.stem}.backup-schema{version}-{stamp}.db")
    n = 1
    while dest.exists():
        n += 1
        dest = path.with_name(f"{path.stem}.backup-schema{version}-{stamp}-{n}.db")
    try:
        target = sqlite3.connect(str(dest))
        try:
            conn.backup(target)
        finally:
            target.close()
    except (OSError, sqlite3.Error) as exc:
        try:
            dest.unlink()
        except OSError:
            pass
        raise CatalogError(f"could not back up the catalog before upgrading it ({exc}); nothing was changed. "
                           "Free some disk space or make its folder writable.") from None
    return dest


def catalog_backups(path: Path) -> list[Path]:
    """Backups made before migrations, oldest first."""
    return sorted(path.parent.glob(f"{glob.escape(path.stem)}.backup-schema*.db"), key=lambda p: p.stat().st_mtime)


def _feature_arrays(rows: list) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    import numpy as np  # 0.1-0.2 s: not for commands that never read a vector
    n = len(rows)
    ids = np.fromiter((r[0] for r in rows), np.int64, n)
    feats = np.frombuffer(b"".join(r[1] for r in rows), np.float16).reshape(n, -1).astype(np.float32)
    classes = np.frombuffer(b"".join(r[2] for r in rows), np.int16).reshape(n, -1)
    probs = np.frombuffer(b"".join(r[3] for r in rows), np.float16).reshape(n, -1).astype(np.float32)
    return ids, feats, classes, probs



