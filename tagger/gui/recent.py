"""The recent-libraries list in the app's settings, read and written one way.

QSettings' INI format stores a one-element list as a plain string and gives it back as ``str``: iterating that gave
"/" and "t", "m", "p" as libraries. Every value read here is normalised to a list of existing catalog paths.
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings

KEY = "recent/catalogs"
RECENT_CATALOGS = 8


def recent_catalogs(settings: QSettings, *, existing: bool = True) -> list[str]:
    """Most recent first; a stored single string counts as one path; junk and (by default) vanished files dropped."""
    value = settings.value(KEY)
    items = [value] if isinstance(value, str) else list(value or [])
    out: list[str] = []
    for item in items:
        if isinstance(item, str) and item and item not in out and (not existing or os.path.isfile(item)):
            out.append(item)
    return out


def remember_catalog(settings: QSettings, path: Path) -> None:
    """Put ``path`` first (absolute), keep at most RECENT_CATALOGS; always stored as a list."""
    db = str(Path(path).absolute())
    recent = [db] + [p for p in recent_catalogs(settings, existing=False) if p != db]
    settings.setValue(KEY, recent[:RECENT_CATALOGS])
