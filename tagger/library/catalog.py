"""The photo catalog: one SQLite file (via sqlite-utils), a versioned schema, migrations, WAL, atomic batches.

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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlite_utils

from tagger.paths import default_db_path


class CatalogError(RuntimeError):
    """The catalog cannot be used (newer schema, locked, damaged, unwritable); the message says what to do."""


def _script(conn: sqlite3.Connection, sql: str) -> None:
    """Run DDL statement by statement: ``executescript`` would COMMIT the migration's transaction half-way."""
    for statement in sql.split(";"):
        if statement.strip():
            conn.execute(statement)


def _migration_1(conn: sqlite3.Connection) -> None:
    _script(
        conn,
        """
        CREATE TABLE roots (
            id INTEGER PRIMARY KEY,
            path TEXT NOT NULL,
            path_bytes BLOB NOT NULL UNIQUE,
            added_at REAL NOT NULL
        );
        CREATE TABLE photos (
            id INTEGER PRIMARY KEY,
            root_id INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
            path_key BLOB NOT NULL,
            rel_path TEXT NOT NULL,
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            hash TEXT,
            width INTEGER,
            height INTEGER,
            format TEXT,
            taken_at TEXT,
            status TEXT NOT NULL CHECK (status IN ('indexed', 'failed', 'gone')),
            reason TEXT,
            indexed_at REAL NOT NULL,
            UNIQUE (root_id, path_key)
        );
        CREATE INDEX photos_hash ON photos(hash);
        CREATE INDEX photos_status ON photos(status);
        CREATE TABLE features (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            backbone TEXT NOT NULL,
            features BLOB NOT NULL,
            top_classes BLOB NOT NULL,
            top_probs BLOB NOT NULL,
            PRIMARY KEY (photo_id, backbone)
        ) WITHOUT ROWID;
        CREATE TABLE embeddings (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            vector BLOB NOT NULL,
            PRIMARY KEY (photo_id, model)
        ) WITHOUT ROWID;
        CREATE INDEX embeddings_model ON embeddings(model);
        CREATE TABLE auto_tags (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            model TEXT NOT NULL,
            tag TEXT NOT NULL,
            weight REAL NOT NULL,
            PRIMARY KEY (photo_id, model, tag)
        ) WITHOUT ROWID;
        CREATE TABLE user_tags (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            tag TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT 'user',
            added_at REAL NOT NULL,
            PRIMARY KEY (photo_id, tag)
        ) WITHOUT ROWID;
        CREATE INDEX user_tags_tag ON user_tags(tag);
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        """
    )


def _migration_2(conn: sqlite3.Connection) -> None:
    """Folder labels (retraining) and trained model versions."""
    _script(
        conn,
        """
        CREATE TABLE labels (
            id INTEGER PRIMARY KEY,
            root_id INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
            folder_key BLOB NOT NULL,
            label TEXT NOT NULL,
            added_at REAL NOT NULL,
            UNIQUE (root_id, folder_key)
        );
        CREATE TABLE model_versions (
            id INTEGER PRIMARY KEY,
            base_model TEXT NOT NULL,
            model TEXT NOT NULL UNIQUE,
            folder TEXT NOT NULL,
            labels TEXT NOT NULL,
            metrics TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        INSERT OR IGNORE INTO settings (key, value) VALUES ('active_version', '0')
        """,
    )


def _migration_3(conn: sqlite3.Connection) -> None:
    """Keywords from files (XMP/IPTC): the fingerprint of each photo's sidecars when its keywords were last read.

    NULL (every photo of an older catalog) means "never read", so the next index run reads the keywords of every
    known photo once (file read, no decoding)."""
    _script(conn, "ALTER TABLE photos ADD COLUMN sidecar_sig TEXT")


# Index i holds the migration from version i to i + 1. Append, never edit: every catalog ever written must migrate.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_migration_1, _migration_2, _migration_3]
SCHEMA_VERSION = len(MIGRATIONS)


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


@dataclass
class EmbeddingTable:
    """All indexed photos' vectors for one model, as contiguous arrays for brute-force search."""

    ids: np.ndarray  # (N,) int64 photo ids
    vectors: np.ndarray  # (N, D) float32 unit rows
    top_classes: np.ndarray  # (N, T) int16
    top_probs: np.ndarray  # (N, T) float32


MAX_LABEL_CHARS = 200


def clean_label(text: str) -> str:
    """One rule for every way a label comes in (CLI, GUI): spaces collapsed, not empty, not absurdly long."""
    label = " ".join(str(text).split())
    if not label:
        raise CatalogError("a label cannot be empty")
    if len(label) > MAX_LABEL_CHARS:
        raise CatalogError(f"a label is at most {MAX_LABEL_CHARS} characters")
    return label


def display_path(path_key: bytes) -> str:
    return path_key.decode("utf-8", errors="replace")


class Catalog:
    """A handle on one catalog file. Not shared between threads: open one per thread (SQLite's rule)."""

    def __init__(self, db: sqlite_utils.Database, path: Path):
        self.db = db
        self.path = path
        self.read_only = False  # opened from a read-only disk or file: reading works, every write is refused

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, path: Path | str | None = None, *, migrate: bool = True) -> Catalog:
        """Open (creating if needed) and bring the schema up to date; refuse a catalog from a newer Tagger."""
        path = Path(path) if path is not None else default_db_path()
        read_only = path.exists() and not _writable(path)
        try:
            if not read_only:
                path.parent.mkdir(parents=True, exist_ok=True)
            conn = _connect(path, read_only)
        except (OSError, sqlite3.Error) as exc:
            raise CatalogError(f"cannot open the catalog {path}: {exc}") from None
        try:
            conn.execute("PRAGMA foreign_keys = ON")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise CatalogError(
                    f"the catalog {path} was written by a newer Tagger (schema {version}, this one knows "
                    f"{SCHEMA_VERSION}); upgrade Tagger or use another --db. Nothing was changed."
                )
            if version == 0 and conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
                raise CatalogError(f"{path} is an SQLite database but not a Tagger catalog; use another --db. "
                                   "Nothing was changed.")
            if version < SCHEMA_VERSION and migrate and read_only:
                raise CatalogError(f"the catalog {path} needs an upgrade (schema {version} -> {SCHEMA_VERSION}) but "
                                   "is on a read-only disk or not writable; open it once where it can be written. "
                                   "Nothing was changed.")
            if version < SCHEMA_VERSION and migrate:
                if version > 0:
                    backup_catalog(conn, path, version)
                conn.execute("PRAGMA journal_mode = WAL")
                _migrate(conn, version)
            elif version == SCHEMA_VERSION:
                try:
                    conn.execute("PRAGMA journal_mode = WAL")
                except sqlite3.OperationalError:
                    pass  # read-only media: WAL cannot be enabled, reading still works
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise CatalogError(f"the catalog {path} is damaged or not a Tagger catalog ({exc})") from None
        except CatalogError:
            conn.close()
            raise
        catalog = cls(sqlite_utils.Database(conn), path)
        catalog.read_only = read_only
        return catalog

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

    def thumbnail_path(self, content_hash: str) -> Path:
        return self.thumbnail_dir / content_hash[:2] / f"{content_hash}.jpg"

    def transaction(self):
        """``with catalog.transaction():`` - one atomic unit (BEGIN IMMEDIATE … COMMIT, rollback on error)."""
        if self.read_only:
            raise CatalogError(f"the catalog {self.path} is on a read-only disk (or not writable): searching and "
                               "browsing work, changes cannot be saved")
        return _Transaction(self.db.conn)

    # ------------------------------------------------------------------ roots

    def add_root(self, path: Path | str) -> Root:
        resolved = Path(os.path.realpath(path))
        key = os.fsencode(resolved)
        row = self.db.execute("SELECT id FROM roots WHERE path_bytes = ?", [key]).fetchone()
        if row:
            return Root(row[0], resolved)
        with self.transaction():
            cur = self.db.execute("INSERT INTO roots (path, path_bytes, added_at) VALUES (?, ?, ?)",
                                  [display_path(key), key, time.time()])
        return Root(cur.lastrowid, resolved)

    def roots(self) -> list[Root]:
        return [Root(i, Path(os.fsdecode(b))) for i, b in self.db.execute("SELECT id, path_bytes FROM roots ORDER BY id")]

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
                if r.status == "indexed":
                    self._put_vectors(pid, r, backbone, model)
                else:
                    self.db.execute("DELETE FROM embeddings WHERE photo_id = ?", [pid])
                    self.db.execute("DELETE FROM features WHERE photo_id = ?", [pid])
                    self.db.execute("DELETE FROM auto_tags WHERE photo_id = ?", [pid])
                if r.keywords is not None or r.sidecar_sig is not None:
                    self.set_file_keywords(pid, r.keywords, r.sidecar_sig)
        return ids

    def _put_vectors(self, pid: int, r: PhotoRecord, backbone: str, model: str) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO features (photo_id, backbone, features, top_classes, top_probs) VALUES (?, ?, ?, ?, ?)",
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

    def mark_gone(self, photo_ids: Iterable[int]) -> int:
        ids = list(photo_ids)
        with self.transaction():
            for lo in range(0, len(ids), 500):
                chunk = ids[lo:lo + 500]
                self.db.execute(f"UPDATE photos SET status = 'gone', reason = 'file no longer exists' "
                                f"WHERE id IN ({','.join('?' * len(chunk))}) AND status != 'gone'", chunk)
        return len(ids)

    # ------------------------------------------------------------------ reading

    def embedding_table(self, model: str, backbone: str, photo_ids: Sequence[int] | None = None) -> EmbeddingTable:
        """Vectors of all indexed photos for ``model`` (optionally only ``photo_ids``), for brute-force search."""
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
        out_ids, blobs = [], []
        for chunk in _chunks(list(photo_ids), 500):
            for pid, blob in self.db.execute(
                f"SELECT photo_id, features FROM features WHERE backbone = ? AND photo_id IN ({','.join('?' * len(chunk))})",
                [backbone, *chunk],
            ):
                out_ids.append(pid)
                blobs.append(blob)
        if not blobs:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        return np.asarray(out_ids, np.int64), np.frombuffer(b"".join(blobs), np.float16).reshape(len(blobs), -1).astype(np.float32)

    def feature_chunks(self, backbone: str, photo_ids: Sequence[int] | None = None,
                       chunk: int = 10_000) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """(ids, (n, F) float32 features, (n, T) top classes, (n, T) probs) of indexed photos (all, or ``photo_ids``)
        in id order and in chunks, so a million-photo catalog is re-projected without holding it all in memory."""
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
            for part in _chunks(wanted[lo:lo + chunk], 500):
                rows += self.db.execute(sql.format(f"f.photo_id IN ({','.join('?' * len(part))})"),
                                        [backbone, *part]).fetchall()
            if rows:
                yield _feature_arrays(rows)

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
        for chunk in _chunks(list(photo_ids), 500):
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
        for chunk in _chunks(list(photo_ids), 500):
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
            cond += " AND status = ?"
            args.append(status)
        return [r[0] for r in self.db.execute(f"SELECT id FROM photos WHERE {cond} ORDER BY id", args)]

    def auto_tags(self, photo_ids: Sequence[int], model: str) -> dict[int, list[tuple[str, float]]]:
        out: dict[int, list[tuple[str, float]]] = {}
        for chunk in _chunks(list(photo_ids), 500):
            for pid, tag, w in self.db.execute(
                f"SELECT photo_id, tag, weight FROM auto_tags WHERE model = ? AND photo_id IN ({','.join('?' * len(chunk))}) "
                "ORDER BY photo_id, weight DESC", [model, *chunk]
            ):
                out.setdefault(pid, []).append((tag, w))
        return out

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
        for chunk in _chunks(list(photo_ids), 500):
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
        for chunk in _chunks(list(tags), 500):
            out += self.db.execute(
                f"SELECT u.photo_id, u.tag FROM user_tags u JOIN photos p ON p.id = u.photo_id "
                f"WHERE p.status = 'indexed' AND u.tag IN ({','.join('?' * len(chunk))}) ORDER BY u.photo_id, u.tag",
                chunk).fetchall()
        return [(int(p), t) for p, t in out]

    def user_tags(self, photo_ids: Sequence[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for chunk in _chunks(list(photo_ids), 500):
            for pid, tag in self.db.execute(
                f"SELECT photo_id, tag FROM user_tags WHERE photo_id IN ({','.join('?' * len(chunk))}) ORDER BY tag", chunk
            ):
                out.setdefault(pid, []).append(tag)
        return out

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

    # ------------------------------------------------------------------ health (tagger doctor)

    _PHOTO_CHILDREN = ("features", "embeddings", "auto_tags", "user_tags")

    def integrity_problems(self) -> list[str]:
        """SQLite's own check of every page and index ([] when healthy)."""
        rows = [r[0] for r in self.db.execute("PRAGMA integrity_check")]
        return [] if rows == ["ok"] else rows

    def orphan_rows(self) -> dict[str, int]:
        """Rows whose photo (or root) no longer exists, per table: debris a crash or an old bug could leave."""
        out = {t: self.db.execute(f"SELECT COUNT(*) FROM {t} WHERE photo_id NOT IN (SELECT id FROM photos)").fetchone()[0]
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


def _migrate(conn: sqlite3.Connection, version: int) -> None:
    """Apply each pending migration in its own transaction, bumping user_version with it."""
    for target in range(version + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[target - 1](conn)
            conn.execute(f"PRAGMA user_version = {target}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise


def _feature_arrays(rows: list) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n = len(rows)
    ids = np.fromiter((r[0] for r in rows), np.int64, n)
    feats = np.frombuffer(b"".join(r[1] for r in rows), np.float16).reshape(n, -1).astype(np.float32)
    classes = np.frombuffer(b"".join(r[2] for r in rows), np.int16).reshape(n, -1)
    probs = np.frombuffer(b"".join(r[3] for r in rows), np.float16).reshape(n, -1).astype(np.float32)
    return ids, feats, classes, probs


def _chunks(items: list, size: int) -> Iterator[list]:
    for lo in range(0, len(items), size):
        yield items[lo:lo + size]
