"""The details panel of the selected photo: its facts (how many faces were found), the text printed in it, automatic
tags and an upright preview decoded off the GUI thread; the person's own tags (added or removed on EVERY selected photo
in one catalog edit, undoable, then written to the sidecars when keyword writing is on); Open and Show in folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QThreadPool, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPixmap

from tagger.gui.grid import PhotoGrid
from tagger.gui.keywords_controller import KeywordsController
from tagger.gui.services import ImageSignals, PreviewTask, readable_error
from tagger.gui.session import Session
from tagger.gui.tag_undo import TagUndo
from tagger.gui.widgets import DetailsPanel
from tagger.library.catalog_tags import TagEdit
from tagger.library.tag_text import clean_tag

PREVIEW_SIDE = 900  # pixels: sharp in a large panel, quick to decode
DETAIL_TAGS = 20


class DetailsController(QObject):
    notice = Signal(str, int)

    def __init__(self, session: Session, panel: DetailsPanel, grid: PhotoGrid, keywords: KeywordsController,
                 parent: QObject | None = None, *, undo: TagUndo | None = None):
        super().__init__(parent)
        self.session, self.panel, self.grid, self.keywords, self.undo = session, panel, grid, keywords, undo
        if undo is not None:
            undo.watch(panel.new_tag)
            undo.undone.connect(lambda _ids: self.show_selected())
        self.preview_signals = ImageSignals()
        self.preview_signals.loaded.connect(self._preview_loaded)
        panel.user_tag_added.connect(self.add_user_tag)
        panel.user_tag_removed.connect(self.remove_user_tag)
        panel.open_requested.connect(self.open_photo)
        panel.reveal_requested.connect(self.reveal_photo)

    def show_selected(self) -> None:
        """The current photo while anything is selected; an empty panel otherwise."""
        self.show(self.grid.current_photo() if self.grid.selected_ids() else None)

    def show(self, photo_id: int | None) -> None:
        catalog = self.session.catalog
        if photo_id is None or catalog is None:
            self.panel.show_photo(None)
            return
        info = catalog.photo(photo_id) or {}
        path = catalog.photo_paths([photo_id]).get(photo_id)
        library = self.session.local_library
        auto = library.tag_cloud([photo_id], limit=DETAIL_TAGS) if library is not None else []
        # one photo's rows by its id (indexed), on the GUI thread like its tags
        faces = len(catalog.faces([photo_id]).get(photo_id, []))
        if not faces and not catalog.looked_at(photo_id, "faces"):
            faces = None  # not looked for yet (indexed before faces were, or --no-people): say nothing
        printed = "\n".join(line.text for line in catalog.printed_text([photo_id]).get(photo_id, []))
        self.panel.show_photo(photo_id, info, path, auto, catalog.user_tags([photo_id]).get(photo_id, []),
                              faces=faces, printed=printed)
        if path is not None:
            QThreadPool.globalInstance().start(PreviewTask(photo_id, path, PREVIEW_SIDE, self.preview_signals))

    def _preview_loaded(self, key, image) -> None:
        if key == self.panel.photo_id:  # the selection may have moved on while it decoded
            self.panel.set_preview(QPixmap.fromImage(image) if not image.isNull() else None)

    # ------------------------------------------------------------------ the person's own tags

    def add_user_tag(self, photo_id: int, text: str) -> bool:
        """Add the tag to every selected photo (just ``photo_id`` when it is not among them). True once it is in the
        catalog; a failure (locked, full or read-only disk) is said, never swallowed."""
        try:
            tag = clean_tag(text)
        except ValueError:
            return False  # nothing but spaces: nothing to add
        return self._edit(photo_id, [tag], [], f"add “{tag}”")

    def remove_user_tag(self, photo_id: int, tag: str) -> bool:
        """Remove the tag from every selected photo that has it (just ``photo_id`` when it is not selected)."""
        return self._edit(photo_id, [], [tag], f"remove “{tag}”")

    def _targets(self, photo_id: int) -> list[int]:
        """The panel shows the current photo of the selection, and an edit there means the whole selection."""
        selected = self.grid.selected_ids()
        return selected if photo_id in selected else [photo_id]

    def _edit(self, photo_id: int, add: list[str], remove: list[str], what: str) -> bool:
        ids = self._targets(photo_id)
        try:
            edit = self.session.catalog.edit_user_tags(ids, add, remove)
        except Exception as exc:  # shown to the user: the edit did not happen
            self.notice.emit(f"Could not {what}: {readable_error(exc)}", 15000)
            self.show(photo_id)
            return False
        self.keywords.write(edit.changed_ids)
        self.show(photo_id)
        done = _describe(edit, add, remove)
        if self.undo is not None and edit.changed_ids:
            self.undo.push(edit, done)
            self.notice.emit(self.undo.offer(done), 15000)
        else:
            self.notice.emit(done[:1].upper() + done[1:], 8000)
        return True

    # ------------------------------------------------------------------ the file

    def open_photo(self, photo_id: int | None) -> None:
        path = self._path(photo_id)
        if path is not None and not QDesktopServices.openUrl(QUrl.fromLocalFile(str(path))):
            self.notice.emit(f"No app is set to open {path.name}: choose one for this kind of file in your system's "
                             "settings, or view it here with Photo > Open.", 10000)

    def reveal_photo(self, photo_id: int | None) -> None:
        path = self._path(photo_id)
        if path is None:
            return
        if sys.platform == "darwin":
            QProcess.startDetached("open", ["-R", str(path)])
        elif sys.platform.startswith("win"):
            QProcess.startDetached("explorer", [f"/select,{path}"])
        else:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent)))

    def _path(self, photo_id: int | None) -> Path | None:
        catalog = self.session.catalog
        if photo_id is None or catalog is None:
            return None
        path = catalog.photo_paths([photo_id]).get(photo_id)
        if path is None or not path.exists():
            self.notice.emit(f"the file is gone: {path}", 8000)
            return None
        return path


def _describe(edit: TagEdit, add: list[str], remove: list[str]) -> str:
    """What an edit did, counted for real: "added “beach” to 2 photos (1 already had it)"."""
    def photos(n: int) -> str:
        return f"{n} photo{'' if n == 1 else 's'}"

    total = len(edit.photo_ids)
    added, removed = edit.added_per_tag(), edit.removed_per_tag()
    parts = []
    for tag in add:
        n = added.get(tag, 0)
        parts.append(f"added “{tag}” to {photos(n)}" + (f" ({total - n} already had it)" if n < total else ""))
    for tag in remove:
        n = removed.get(tag, 0)
        parts.append(f"removed “{tag}” from {photos(n)}"
                     + (f" ({total - n} did not have it)" if n < total else ""))
    return ", ".join(parts)
