"""What the full-window viewer shows: which photo (the grid's order, frozen when the viewer opens), its facts and tags,
and its pixels, decoded off the GUI thread.

Opening shows the stored thumbnail at once (drawn at the original's size) and decodes the original on a thread of its
own pool; the next photo in the direction of travel is decoded after it, so flipping forward is instant. At most
``CACHE_SIZE`` originals are kept. A decode that arrives after the person moved on is kept only if it is one of the
photos around the one shown, and never drawn over it.

Tag edits go through the details controller (one set of rules: cleaning, the catalog's batch edit, sidecars, Undo);
the viewer makes the viewed photo the only selected one, so an edit there never reaches photos the person cannot see.
"""

from __future__ import annotations

import html
from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QStackedWidget, QWidget

from tagger.engine.exif_summary import exif_summary
from tagger.engine.imageio import ImageDecodeError, open_upright
from tagger.gui.dates import human_date
from tagger.gui.details_controller import DETAIL_TAGS, DetailsController
from tagger.gui.grid import PhotoGrid
from tagger.gui.services import readable_error
from tagger.gui.session import Session
from tagger.gui.tag_undo import TagUndo
from tagger.gui.viewer import PhotoViewer

CACHE_SIZE = 3  # decoded originals kept: the one shown, the one before and the one after


class _DecodeSignals(QObject):
    decoded = Signal(int, QImage, str)  # photo id, the upright original (null on failure), the reason it failed
    facts = Signal(int, object)  # photo id, ExifSummary


class DecodeTask(QRunnable):
    """Decodes one original upright at full size, and reads its EXIF summary (the header only)."""

    def __init__(self, photo_id: int, path: Path, signals: _DecodeSignals):
        super().__init__()
        self.photo_id, self.path, self.signals = photo_id, path, signals

    def run(self) -> None:
        try:
            summary = exif_summary(self.path)
            self.signals.facts.emit(self.photo_id, summary)
            try:
                img = open_upright(self.path)
                data = img.tobytes("raw", "RGB")
                image, reason = QImage(data, img.width, img.height, img.width * 3,
                                       QImage.Format.Format_RGB888).copy(), ""
            except ImageDecodeError as exc:
                image, reason = QImage(), exc.reason
            except MemoryError:
                image, reason = QImage(), "too large to show (out of memory)"
            except Exception as exc:  # never a crash in the viewer: say what went wrong
                image, reason = QImage(), readable_error(exc)
            self.signals.decoded.emit(self.photo_id, image, reason)
        except RuntimeError:  # the window closed while this decoded: nobody is left to tell
            pass


class ViewerController(QObject):
    notice = Signal(str, int)

    def __init__(self, session: Session, viewer: PhotoViewer, stack: QStackedWidget, grid: PhotoGrid,
                 details: DetailsController, parent: QObject | None = None, *, undo: TagUndo | None = None):
        super().__init__(parent)
        self.session, self.viewer, self.stack, self.grid, self.details = session, viewer, stack, grid, details
        self.pool = QThreadPool(self)  # its own threads: the grid's thumbnails and the details preview keep theirs
        self.pool.setMaxThreadCount(1)  # one original at a time, the one asked for first
        self.signals = _DecodeSignals(self)
        self.signals.decoded.connect(self.decoded)
        self.signals.facts.connect(self._facts_read)
        self.order: list[int] = []
        self.index = 0
        self.photo_id: int | None = None
        self._return_to: QWidget | None = None
        self._cache: OrderedDict[int, QImage] = OrderedDict()
        self._failed: dict[int, str] = {}
        self._pending: set[int] = set()
        self._exif: dict[int, object] = {}
        self._direction = 1
        viewer.step_requested.connect(self.step)
        viewer.jump_requested.connect(lambda last: self.go_to(len(self.order) - 1 if last else 0))
        viewer.back_requested.connect(self.close)
        viewer.user_tag_added.connect(self._add_tag)
        viewer.user_tag_removed.connect(self._remove_tag)
        if undo is not None:
            undo.watch(viewer.new_tag)  # Ctrl+Z in the empty tag box undoes, as in the details panel
            undo.undone.connect(lambda _ids: self._show_tags())

    def is_open(self) -> bool:
        return self.stack.currentWidget() is self.viewer

    def cached(self) -> list[int]:
        """The photos whose originals are decoded and kept (for tests and the curious)."""
        return list(self._cache)

    def current_photo(self) -> int | None:
        """What the Photo menu acts on: the photo in the viewer while it is open, else the grid's current one."""
        return self.photo_id if self.is_open() else self.grid.current_photo()

    def leave(self) -> int | None:
        """Back to the grid (when the viewer is open) for an action that changes it (Find similar); the photo that
        was on screen."""
        photo = self.current_photo()
        self.close()
        return photo

    # ------------------------------------------------------------------ opening, stepping, closing

    def open(self, photo_id: int | None) -> None:
        """Show ``photo_id`` full-window, stepping through the grid's photos in the order the grid shows them."""
        if photo_id is None or self.session.catalog is None or self.is_open():
            return  # Photo > Open (Ctrl+Return) while viewing: already open
        self.order = [r.photo_id for r in self.grid.model().rows()]
        if photo_id not in self.order:
            return
        self._return_to = self.stack.currentWidget()
        self.grid.select_photo(photo_id)  # the only one selected: the viewer's tag edits are for this photo alone
        self.stack.setCurrentWidget(self.viewer)
        self.viewer.canvas.setFocus(Qt.FocusReason.OtherFocusReason)
        self.go_to(self.order.index(photo_id))

    def step(self, delta: int) -> None:
        self.go_to(self.index + delta)

    def go_to(self, index: int) -> None:
        """Show the photo at ``index`` of the order (kept inside it: no wrapping)."""
        if not self.order:
            return
        index = max(0, min(len(self.order) - 1, index))
        if index != self.index:
            self._direction = 1 if index > self.index else -1
        self.index, self.photo_id = index, self.order[index]
        self.viewer.show_position(index, len(self.order))
        self._show_facts()
        self._show_tags()
        self._show_pixels()

    def close(self) -> None:
        """Back to the grid, the viewed photo selected and scrolled to."""
        if not self.is_open():
            return
        self.stack.setCurrentWidget(self._return_to or self.stack.widget(0))
        if self.photo_id is not None:
            self.grid.select_photo(self.photo_id)
        self.grid.setFocus(Qt.FocusReason.OtherFocusReason)
        self._cache.clear()  # originals are large: none are held while nobody looks at them
        self._failed.clear()

    # ------------------------------------------------------------------ pixels

    def _show_pixels(self) -> None:
        pid = self.photo_id
        natural = self._natural_size(pid)
        if pid in self._cache:
            self._cache.move_to_end(pid)
            self.viewer.show_image(self._cache[pid], natural, full_resolution=True)
            self._decode_neighbour()
        elif pid in self._failed:
            self.viewer.show_message(self._failed[pid])
            self._decode_neighbour()
        elif self._decode(pid):
            self.viewer.show_image(self._thumbnail(pid), natural, full_resolution=False)
        else:
            self.viewer.show_message("This photo is no longer in the library.")

    def _natural_size(self, photo_id: int) -> QSize | None:
        info = self.session.catalog.photo(photo_id) or {}
        width, height = info.get("width"), info.get("height")
        return QSize(int(width), int(height)) if width and height else None

    def _thumbnail(self, photo_id: int) -> QImage | None:
        """The stored thumbnail (a small JPEG, read at once) to show while the original decodes."""
        info = self.session.catalog.photo(photo_id) or {}
        digest = info.get("hash")
        if not digest:
            return None
        image = QImage(str(self.session.thumbnail_path(digest)))
        return None if image.isNull() else image

    def _decode(self, photo_id: int) -> bool:
        """Start decoding the original (unless it is decoded or under way); False when the catalog no longer has the
        photo (another Tagger removed its folder while it was on screen)."""
        if photo_id in self._pending or photo_id in self._cache or photo_id in self._failed:
            return True
        path = self.session.catalog.photo_paths([photo_id]).get(photo_id)
        if path is None:
            return False
        self._pending.add(photo_id)
        self.pool.start(DecodeTask(photo_id, path, self.signals))
        return True

    def _decode_neighbour(self) -> None:
        """Decode the photo the person will most likely see next (in the direction they are going)."""
        nxt = self.index + self._direction
        if 0 <= nxt < len(self.order):
            self._decode(self.order[nxt])

    def _wanted(self) -> set[int]:
        return set(self.order[max(0, self.index - 1):self.index + 2]) if self.is_open() else set()

    def decoded(self, photo_id: int, image: QImage, reason: str) -> None:
        """A decode finished: kept if it is around the photo shown, shown if it is that photo, dropped otherwise."""
        self._pending.discard(photo_id)
        if photo_id not in self._wanted():
            return  # the person moved on (or left the viewer)
        path = self.session.catalog.photo_paths([photo_id]).get(photo_id) if self.session.catalog else None
        if image.isNull():
            name = path.name if path else "this photo"
            self._failed[photo_id] = (f"Cannot show {name}: {reason or 'it could not be read'}.\n\n"
                                      "The file is left as it is; Photo > Open in default app may show it.")
        else:
            self._cache[photo_id] = image
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        if photo_id == self.photo_id:
            if image.isNull():
                self.viewer.show_message(self._failed[photo_id])
            else:
                self.viewer.show_image(image, QSize(image.width(), image.height()), full_resolution=True,
                                       keep_view=True)
            self._decode_neighbour()

    # ------------------------------------------------------------------ facts and tags

    def _facts_read(self, photo_id: int, summary) -> None:
        self._exif[photo_id] = summary
        if len(self._exif) > 50:
            self._exif.pop(next(iter(self._exif)))
        if photo_id == self.photo_id:
            self._show_facts()

    def _show_facts(self) -> None:
        pid, catalog = self.photo_id, self.session.catalog
        info = catalog.photo(pid) or {}
        path = catalog.photo_paths([pid]).get(pid)
        dims = f"{info.get('width')} × {info.get('height')}" if info.get("width") else ""
        size = info.get("size") or 0
        megabytes = f"{size / 1e6:.1f} MB" if size >= 1e6 else f"{size / 1e3:.0f} KB"
        lines = [path.name if path else "", human_date(info.get("taken_at")) or "unknown date",
                 " · ".join(v for v in (dims, megabytes, info.get("format") or "") if v)]
        summary = self._exif.get(pid)
        lines += summary.lines() if summary else []
        rich = [html.escape(t) for t in lines]
        if path is not None:
            rich.append(f"<span style='color:gray'>{html.escape(str(path.parent))}</span>")
        self.viewer.show_facts(pid, rich)

    def _show_tags(self) -> None:
        if self.photo_id is None or self.session.catalog is None:
            return
        library = self.session.local_library  # one photo's stored tags: cheap, on the GUI thread as in the details
        auto = library.tag_cloud([self.photo_id], limit=DETAIL_TAGS) if library is not None else []
        self.viewer.show_tags(self.session.catalog.user_tags([self.photo_id]).get(self.photo_id, []), auto)

    def _add_tag(self, photo_id: int, text: str) -> None:
        self.details.add_user_tag(photo_id, text)
        self._show_tags()

    def _remove_tag(self, photo_id: int, tag: str) -> None:
        self.details.remove_user_tag(photo_id, tag)
        self._show_tags()
