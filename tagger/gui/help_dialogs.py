"""The Help menu's dialogs: every keyboard shortcut, what Tagger is and runs, and where its data lives.

The shortcuts are read off the window's own QActions and QShortcuts when the dialog opens, never typed into a list:
a key added to a menu shows up here without anyone remembering to document it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

import tagger
from tagger.gui.viewer import VIEWER_KEYS
from tagger.paths import models_dir, resource_path

# QShortcuts carry no text of their own: what the window's shortcut objects do, by key
SHORTCUT_NAMES = {"Esc": "Drop the selection, then clear the search"}
# keys handled by widgets rather than actions, said here so that the list is whole

WIDGET_KEYS = [("Enter the results (from the search box)", "Down / Page Down"),
               ("Open the photo in the viewer (in the grid)", "Enter / double-click"),
               ("Move and select (in the grid)", "Arrows, Shift+click, Ctrl+click"),
               ("Drop the selection, then clear the search", "Esc")] + VIEWER_KEYS


def _key_text(seq: QKeySequence) -> str:
    return seq.toString(QKeySequence.SequenceFormat.NativeText)


def shortcut_rows(window: QWidget) -> list[tuple[str, str]]:
    """(what, key) for every action and shortcut object of ``window`` that has a key, in menu order then creation
    order; an action's text loses its mnemonic "&"."""
    rows: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for act in window.findChildren(QAction):
        for seq in act.shortcuts():
            row = (act.text().replace("&&", "\0").replace("&", "").replace("\0", "&"), _key_text(seq))
            if not seq.isEmpty() and row not in seen:
                seen.add(row)
                rows.append(row)
    for sc in window.findChildren(QShortcut):
        key = _key_text(sc.key())
        if key:
            row = (SHORTCUT_NAMES.get(key, sc.whatsThis() or key), key)
            if row not in seen:
                seen.add(row)
                rows.append(row)
    return rows


class ShortcutsDialog(QDialog):
    def __init__(self, window: QWidget):
        super().__init__(window)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows(window) + WIDGET_KEYS
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["What", "Key"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for i, (what, key) in enumerate(rows):
            self.table.setItem(i, 0, QTableWidgetItem(what))
            self.table.setItem(i, 1, QTableWidgetItem(key))
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(520, 480)


def _licence_lines() -> str:
    """The bundled face detector's licence, from the file shipped beside it."""
    try:
        text = resource_path("faces/LICENSE").read_text(encoding="utf-8").strip().splitlines()
    except OSError:
        return "Face detector: RetinaFace (MobileNet-0.25), MIT licence."
    return "<br>".join(line for line in text[:3] if line.strip()) + "<br>Licence: MIT."


class AboutDialog(QDialog):
    """Version, the model and the device in use, and the licences of what ships inside Tagger."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.setWindowTitle("About Tagger")
        engine = getattr(window, "engine", None)
        if engine is None:
            model, provider = "still loading", "still loading"
        else:
            model = str(getattr(engine, "model_id", "?"))
            runtime = getattr(engine, "runtime", None)
            provider = (f"{runtime.device} ({runtime.provider})" if runtime is not None else "?")
        self.text = QLabel(
            f"<h2>Tagger {tagger.__version__}</h2><p>Find and tag your photos by meaning.</p>"
            f"<p><b>Model:</b> {model}<br><b>Runs on:</b> {provider}</p>"
            f"<p><b>Bundled models</b><br>{_licence_lines()}</p>")
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


def data_places(window: QWidget) -> list[tuple[str, Path]]:
    """(what, path) of everything Tagger keeps: the catalog, its thumbnails, the models and the settings file."""
    session = window.session
    catalog = session.catalog
    thumbs = catalog.thumbnail_dir if catalog is not None else session.db_path.parent / (
        session.db_path.stem + ".thumbnails")
    settings: QSettings = window.settings
    return [("Catalog", session.db_path), ("Thumbnails", thumbs), ("Models", models_dir()),
            ("Settings", Path(settings.fileName()))]


def open_folder(path: Path) -> bool:
    """Show ``path``'s folder (the folder itself when it is one) in the file manager."""
    folder = path if path.is_dir() else path.parent
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


class DataLocationsDialog(QDialog):
    """Where my data lives: each place with its path (selectable) and an Open folder button."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.setWindowTitle("Where my data lives")
        self.places = data_places(window)
        grid = QGridLayout()
        for i, (what, path) in enumerate(self.places):
            grid.addWidget(QLabel(f"<b>{what}</b>"), i, 0)
            shown = QLabel(str(path))
            shown.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            grid.addWidget(shown, i, 1)
            button = QPushButton("Open folder")
            button.clicked.connect(lambda _=False, p=path: open_folder(p))
            grid.addWidget(button, i, 2)
        grid.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Tagger never changes your photos; this is everything it keeps of its own."))
        layout.addLayout(grid)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
