"""Library > New library… and Open library…: choose where a new catalog goes, or an existing one to open.

A chosen file is checked before anything switches to it, read-only (a photo or a text file someone picked is never
written to): an SQLite file with Tagger's ``photos`` table. Anything else is said in a dialog and the library open
until now stays open.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

SQLITE_HEADER = b"SQLite format 3\x00"
FILTER = "Tagger libraries (*.db);;All files (*)"


def catalog_problem(path: Path) -> str | None:
    """Why ``path`` cannot be opened as a Tagger library, in words; None when it can. Opens nothing for writing."""
    try:
        with open(path, "rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except OSError as exc:
        return f"“{path.name}” cannot be read ({exc.strerror or exc}). Check that it exists and you may read it."
    if header != SQLITE_HEADER:
        return (f"“{path.name}” is not a Tagger library. Choose the .db file Tagger made (Help > Where my data "
                "lives shows the one open now), or use Library > New library… to start one.")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'photos'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"“{path.name}” could not be read as a library ({exc}). It may be damaged or in use."
    if not found:
        return (f"“{path.name}” is a database, but not a Tagger library. Choose the .db file Tagger made, or use "
                "Library > New library… to start one.")
    return None


def open_library(window: QWidget) -> bool:
    """Ask for an existing catalog and open it (the library view, or the welcome page if it has no folders)."""
    start = str(window.session.db_path.parent)
    name, _ = QFileDialog.getOpenFileName(window, "Open library", start, FILTER)
    if not name:
        return False
    path = Path(name)
    problem = catalog_problem(path)
    if problem is not None:
        QMessageBox.warning(window, "Not a Tagger library", problem)
        return False
    window.reopen_catalog(path)
    return True


def new_library(window: QWidget) -> bool:
    """Ask where a new catalog goes and open it empty: the welcome page asks for its first photo folder. Choosing
    an existing library opens it instead; choosing any other existing file is refused (it is never overwritten)."""
    start = str(window.session.db_path.parent / "library.db")
    name, _ = QFileDialog.getSaveFileName(window, "New library", start, FILTER,
                                          options=QFileDialog.Option.DontConfirmOverwrite)
    if not name:
        return False
    path = Path(name)
    if path.suffix == "":
        path = path.with_suffix(".db")
    if path.exists():
        problem = catalog_problem(path)
        if problem is not None:
            QMessageBox.warning(window, "Choose another name",
                                f"{problem}\n\nTagger does not overwrite it: choose a new file name.")
            return False
    window.reopen_catalog(path)
    return True
