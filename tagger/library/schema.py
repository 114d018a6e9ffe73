"""The catalog's schema as a list of migrations: version N of the schema is what the first N migrations build.

``PRAGMA user_version`` records how many have run. Migrations are appended, never edited, so every catalog ever
written can be brought up to date (tests open a catalog of each earlier version); each runs in its own transaction
with the version bump, so a kill during an upgrade leaves the catalog at the previous version, intact. The catalog
module backs the file up before the first pending migration runs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable


def _script(conn: sqlite3.Connection, sql: str) -> None:
    """Run DDL statement by statement: ``executescript`` would COMMIT the migration's transaction half-way. A trigger
    body holds semicolons of its own, so pieces are joined until SQLite says the statement is complete."""
    statement = ""
    for piece in sql.split(";"):
        statement += piece + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \n;"):
                conn.execute(statement)
            statement = ""
    if statement.strip(" \n;"):
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


def _migration_4(conn: sqlite3.Connection) -> None:
    """Keywords kept in step with other programs (three-way merge, see keyword_merge): per photo, the keywords the
    catalog and its files last agreed on, and the keywords both sides changed differently (conflicts, reported).

    The base starts as the keywords last read from the files; and every photo that had keywords or sidecars reads
    them once more, since hierarchical keywords (``Places|Italy|Rome``) were flattened to their leaf before."""
    _script(
        conn,
        """
        CREATE TABLE keyword_base (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            keyword TEXT NOT NULL,
            PRIMARY KEY (photo_id, keyword)
        ) WITHOUT ROWID;
        INSERT OR IGNORE INTO keyword_base (photo_id, keyword) SELECT photo_id, tag FROM user_tags WHERE source = 'xmp';
        CREATE TABLE keyword_conflicts (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            keyword TEXT NOT NULL,
            in_catalog TEXT NOT NULL,
            in_files TEXT NOT NULL,
            found_at REAL NOT NULL,
            PRIMARY KEY (photo_id, keyword)
        ) WITHOUT ROWID;
        UPDATE photos SET sidecar_sig = NULL
            WHERE sidecar_sig != '' OR id IN (SELECT photo_id FROM user_tags WHERE source = 'xmp')
        """,
    )


def _migration_5(conn: sqlite3.Connection) -> None:
    """What detectors found in a photo (issue 14): faces with their boxes, the text printed in it (searchable through
    SQLite's FTS5), and which detector looked at which content (``detections``), so a changed file, a new photo or a
    better detector is looked at again and a photo with nothing found is not looked at twice.

    Boxes are relative to the upright photo (0..1). ``photo_text_fts`` is an external-content FTS5 index kept in step
    with ``photo_text`` by triggers (also on the cascade when a photo row goes); ``photo_text_terms`` lists its words
    (for the one-letter-off matches a misread word needs). Older catalogs simply have no rows: the
    next index run looks at their photos from the stored thumbnails and evidence."""
    _script(
        conn,
        """
        CREATE TABLE detections (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            kind TEXT NOT NULL,
            model TEXT NOT NULL,
            hash TEXT,
            found INTEGER NOT NULL,
            at REAL NOT NULL,
            PRIMARY KEY (photo_id, kind)
        ) WITHOUT ROWID;
        CREATE TABLE faces (
            photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
            x REAL NOT NULL,
            y REAL NOT NULL,
            w REAL NOT NULL,
            h REAL NOT NULL,
            score REAL NOT NULL,
            landmarks BLOB
        );
        CREATE INDEX faces_photo ON faces(photo_id);
        CREATE TABLE photo_text (
            photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
            text TEXT NOT NULL,
            lines TEXT NOT NULL
        );
        CREATE VIRTUAL TABLE photo_text_fts USING fts5(
            text, content='photo_text', content_rowid='photo_id', tokenize='unicode61 remove_diacritics 2');
        CREATE VIRTUAL TABLE photo_text_terms USING fts5vocab(photo_text_fts, row);
        CREATE TRIGGER photo_text_ai AFTER INSERT ON photo_text BEGIN
            INSERT INTO photo_text_fts (rowid, text) VALUES (new.photo_id, new.text);
        END;
        CREATE TRIGGER photo_text_ad AFTER DELETE ON photo_text BEGIN
            INSERT INTO photo_text_fts (photo_text_fts, rowid, text) VALUES ('delete', old.photo_id, old.text);
        END;
        CREATE TRIGGER photo_text_au AFTER UPDATE ON photo_text BEGIN
            INSERT INTO photo_text_fts (photo_text_fts, rowid, text) VALUES ('delete', old.photo_id, old.text);
            INSERT INTO photo_text_fts (rowid, text) VALUES (new.photo_id, new.text);
        END
        """,
    )


# Index i holds the migration from version i to i + 1. Append, never edit: every catalog ever written must migrate.
MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [_migration_1, _migration_2, _migration_3, _migration_4,
                                                          _migration_5]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, version: int) -> None:
    """Apply each pending migration in its own transaction, bumping user_version with it."""
    for target in range(version + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # another process may have run this step while we waited for the write lock (many processes opening a
            # brand-new catalog at once): the version read inside the lock decides, never the one read before it
            if conn.execute("PRAGMA user_version").fetchone()[0] >= target:
                conn.execute("COMMIT")
                continue
            MIGRATIONS[target - 1](conn)
            conn.execute(f"PRAGMA user_version = {target}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
