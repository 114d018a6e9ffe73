"""The left sidebar: the person's tags, the folder tree and the date timeline (years expanding to months), one tab
each, and the chip over the grid that shows the folder / date filter with a × to drop it. Presentation only: the
browse controller fills the trees and applies what is clicked."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QLabel, QTabWidget, QTreeView, QWidget

REMOVE_LINK = "remove:"


def _tree(model: QStandardItemModel, tip: str) -> QTreeView:
    view = QTreeView()
    view.setModel(model)
    view.setHeaderHidden(True)
    view.setUniformRowHeights(True)  # fast with thousands of folders
    view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    view.setToolTip(tip)
    return view


class BrowseSidebar(QTabWidget):
    """Tags | Folders | Dates, left of the grid."""

    def __init__(self, tags: QWidget):
        super().__init__()
        self.setDocumentMode(True)
        self.folder_model = QStandardItemModel(self)
        self.date_model = QStandardItemModel(self)
        self.folders = _tree(self.folder_model, "Click a folder to show its photos (with its sub-folders'); click it "
                                                "again to show every folder")
        self.dates = _tree(self.date_model, "Click a year or a month to show the photos taken then; click it again "
                                            "to show every date")
        self.addTab(tags, "Tags")
        self.addTab(self.folders, "Folders")
        self.addTab(self.dates, "Dates")


class FilterChip(QLabel):
    """"Folder: trip/day1 ×  Date: March 2019 ×" over the grid; hidden while no folder or date is chosen."""

    removed = Signal(str)  # "folder" or "taken"

    def __init__(self):
        super().__init__()
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse
                                     | Qt.TextInteractionFlag.LinksAccessibleByKeyboard)
        self.linkActivated.connect(lambda href: self.removed.emit(href[len(REMOVE_LINK):]))
        self.setToolTip("Only the photos of this folder or date are shown; × shows them all again")
        self.hide()

    def show_filter(self, folder: str, taken: str) -> None:
        """The folder and the date kept (either may be ""), each with its ×."""
        chips = [f"{kind}: <span style='background:#e4eef9'>&nbsp;{html.escape(text)} "
                 f"<a href='{REMOVE_LINK}{key}' style='text-decoration:none'>×</a>&nbsp;</span>"
                 for kind, key, text in (("Folder", "folder", folder), ("Date", "taken", taken)) if text]
        self.setText(" &nbsp;".join(chips))
        self.setVisible(bool(chips))
