"""Where a folder dialog opens."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths


def photo_start_folder() -> str:
    """The user's Pictures folder (where photos usually are), else their home: never the process's working
    directory, which for an app started from a menu or a shortcut is / or the install folder."""
    pictures = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation)
    if pictures and Path(pictures).is_dir():
        return pictures
    return str(Path.home())
