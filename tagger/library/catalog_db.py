"""The catalog's database handle: the plain sqlite3 connection, sqlite-utils only when something asks for it.

Every query of the catalog is ``db.execute`` or ``db.conn``; importing sqlite-utils (click, dateutil, pluggy: 0.1-0.2
s) for that made every command, ``tagger status`` included, pay for helpers it never calls. The connection runs with
``isolation_level=None`` (no implicit transactions), so sqlite-utils' ``execute`` (commit an implicit transaction it
opened) does exactly what ``conn.execute`` does; anything else (``table_names()``, ``db["photos"]``) is handed to a
``sqlite_utils.Database`` on the same connection, created on first use.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite_utils


class CatalogDb:
    """``conn`` and ``execute`` without sqlite-utils; every other attribute from a lazily made sqlite-utils handle."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._full: sqlite_utils.Database | None = None

    def execute(self, sql: str, parameters: Sequence | dict[str, Any] | None = None) -> sqlite3.Cursor:
        return self.conn.execute(sql) if parameters is None else self.conn.execute(sql, parameters)

    @property
    def full(self) -> sqlite_utils.Database:
        """sqlite-utils on this connection (its table helpers), imported the first time one is wanted."""
        if self._full is None:
            import sqlite_utils

            self._full = sqlite_utils.Database(self.conn)
        return self._full

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.full, name)

    def __getitem__(self, table: str) -> Any:
        return self.full[table]
