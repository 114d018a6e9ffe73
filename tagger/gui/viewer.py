"""The full-window photo viewer page: the photo (fit to the window or at 100 %, panned by dragging), a bar with Back,
previous/next and "12 of 340", and a collapsible strip with the file's facts and the person's tags.

A widget only: it shows what :mod:`tagger.gui.viewer_controller` gives it and says what the person asked for through
signals. Zoom and pan are its own business (how the pixels are drawn, not what is shown), worked out by the small pure
functions below.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QImage, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPixmap, QWheelEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from tagger.gui.widgets import OwnTagsBox, TagCloud

ZOOM_STEP = 1.25
MIN_SCALE, MAX_SCALE = 0.02, 8.0
STRIP_WIDTH = 260


def fit_scale(image: QSize, area: QSize) -> float:
    """The scale that shows all of ``image`` in ``area``, never above 100 % (a small photo is not blown up)."""
    if image.isEmpty() or area.isEmpty():
        return 1.0
    return min(1.0, area.width() / image.width(), area.height() / image.height())


def clamp_offset(offset: QPointF, shown: QSize | tuple[float, float], area: QSize) -> QPointF:
    """Keep a panned image on screen: along an axis where it is smaller than the area it stays centred (offset 0),
    where it is larger its edges never come inside the area."""
    width, height = (shown.width(), shown.height()) if isinstance(shown, QSize) else shown

    def axis(value: float, size: float, room: float) -> float:
        slack = max(0.0, (size - room) / 2)
        return max(-slack, min(slack, value))

    return QPointF(axis(offset.x(), width, area.width()), axis(offset.y(), height, area.height()))


class PhotoCanvas(QWidget):
    """Draws one photo at the viewer's zoom. ``natural`` is the original's upright size: the stored thumbnail shown
    meanwhile is drawn at that size too, so the sharp original replaces it without a jump."""

    zoom_changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMinimumSize(200, 150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._pixmap = QPixmap()
        self._natural = QSize()
        self.full_resolution = False  # the original is shown (not the thumbnail standing in for it)
        self.message = ""
        self._fit = True
        self._zoom = 1.0  # when not fitted
        self._offset = QPointF()
        self._drag: QPointF | None = None

    # -- contents

    def show_image(self, image: QImage | None, natural: QSize | None, *, full_resolution: bool,
                   keep_view: bool = False) -> None:
        """Show ``image`` (None: nothing yet) as a photo of ``natural`` size; a new photo starts fitted, the original
        replacing its own thumbnail keeps the zoom and pan (``keep_view``)."""
        self._pixmap = QPixmap.fromImage(image) if image is not None and not image.isNull() else QPixmap()
        size = natural if natural is not None and not natural.isEmpty() else self._pixmap.size()
        self._natural = QSize(size)
        self.full_resolution = full_resolution and not self._pixmap.isNull()
        self.message = ""
        if not keep_view:
            self._fit, self._offset = True, QPointF()
        self.update()

    def show_message(self, text: str) -> None:
        self._pixmap, self.full_resolution, self.message = QPixmap(), False, text
        self.update()

    def image_size(self) -> tuple[int, int] | None:
        """The size of the pixels shown (the thumbnail's until the original arrives); None when none are."""
        return None if self._pixmap.isNull() else (self._pixmap.width(), self._pixmap.height())

    # -- zoom and pan

    def fitted(self) -> bool:
        return self._fit

    def scale(self) -> float:
        """Screen pixels per pixel of the original."""
        return fit_scale(self._natural, self.size()) if self._fit else self._zoom

    def offset(self) -> QPointF:
        """How far the photo's centre is panned from the canvas's centre."""
        return QPointF(self._offset)

    def fit(self) -> None:
        self._fit, self._offset = True, QPointF()
        self._changed()

    def actual_size(self) -> None:
        self.set_scale(1.0)

    def toggle_zoom(self) -> None:
        if self._fit:
            self.actual_size()
        else:
            self.fit()

    def zoom_by(self, factor: float) -> None:
        self.set_scale(self.scale() * factor)

    def set_scale(self, scale: float) -> None:
        old = self.scale()
        self._fit, self._zoom = False, max(MIN_SCALE, min(MAX_SCALE, scale))
        self._offset = self._offset * (self._zoom / old) if old else QPointF()
        self._changed()

    def _changed(self) -> None:
        self._offset = clamp_offset(self._offset, self._shown_size(), self.size())
        self.update()
        self.zoom_changed.emit()

    def _shown_size(self) -> tuple[float, float]:
        s = self.scale()
        return self._natural.width() * s, self._natural.height() * s

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag is not None:
            self._offset = clamp_offset(self._offset + event.position() - self._drag, self._shown_size(), self.size())
            self._drag = event.position()
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag = None
        self.unsetCursor()
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.toggle_zoom()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                self.zoom_by(ZOOM_STEP ** steps)
            event.accept()
        else:
            super().wheelEvent(event)

    def resizeEvent(self, event) -> None:
        self._offset = clamp_offset(self._offset, self._shown_size(), self.size())
        super().resizeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(24, 24, 24))
        if not self._pixmap.isNull():
            w, h = self._shown_size()
            centre = QPointF(self.width() / 2, self.height() / 2) + self._offset
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.scale() < 1.0 or not self.full_resolution)
            p.drawPixmap(QRectF(centre.x() - w / 2, centre.y() - h / 2, w, h), self._pixmap,
                         QRectF(self._pixmap.rect()))
        elif self.message:
            p.setPen(QColor(220, 220, 220))
            p.drawText(self.rect().adjusted(40, 40, -40, -40),
                       Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.message)
        p.end()


VIEWER_KEYS = [("Next photo (viewer)", "Right / Page Down / Space"),
               ("Previous photo (viewer)", "Left / Page Up / Backspace"),
               ("First / last photo (viewer)", "Home / End"),
               ("Fit / 100 % / toggle (viewer)", "F / 1 / Z"),
               ("Zoom in / out (viewer)", "+ / − / Ctrl+wheel"),
               ("Info strip (viewer)", "I"),
               ("Back to the grid (viewer)", "Esc")]


class PhotoViewer(OwnTagsBox, QWidget):
    """The viewer page. Keys: Right/Left and Page Down/Up step, Home/End jump, F fits, 1 shows 100 %, Z toggles,
    +/- zoom, I shows or hides the strip, Esc goes back (typing in the tag box keeps its own keys)."""

    step_requested = Signal(int)  # +1 next, -1 previous
    jump_requested = Signal(bool)  # True: the last photo, False: the first
    back_requested = Signal()
    user_tag_added = Signal(int, str)  # photo id, text as typed
    user_tag_removed = Signal(int, str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.photo_id: int | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        bar = QHBoxLayout()
        self.back_button = QPushButton("← Back")
        self.back_button.setToolTip("Back to the photos (Esc)")
        self.prev_button = QToolButton(text="◀")
        self.prev_button.setToolTip("Previous photo (Left)")
        self.next_button = QToolButton(text="▶")
        self.next_button.setToolTip("Next photo (Right)")
        self.counter = QLabel()
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("Fit to the window (F)")
        self.actual_button = QPushButton("100 %")
        self.actual_button.setToolTip("Actual pixels (1; Z toggles)")
        self.zoom_label = QLabel()
        self.info_button = QToolButton(text="Info")
        self.info_button.setCheckable(True)
        self.info_button.setChecked(True)
        self.info_button.setToolTip("Show or hide the photo's details and tags (I)")
        for w in (self.back_button, self.prev_button, self.counter, self.next_button):
            bar.addWidget(w)
        bar.addStretch(1)
        for w in (self.zoom_label, self.fit_button, self.actual_button, self.info_button):
            bar.addWidget(w)
        for w in (self.back_button, self.prev_button, self.next_button, self.fit_button, self.actual_button,
                  self.info_button):
            w.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys stay with the photo
        outer.addLayout(bar)

        body = QHBoxLayout()
        self.canvas = PhotoCanvas()
        body.addWidget(self.canvas, 1)
        self.strip = QWidget()
        self.strip.setFixedWidth(STRIP_WIDTH)
        side = QVBoxLayout(self.strip)
        side.setContentsMargins(6, 0, 0, 0)
        self.facts = QLabel()
        self.facts.setWordWrap(True)
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        self.facts.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        side.addWidget(self.facts)
        side.addWidget(QLabel("<b>Automatic tags</b>"))
        self.auto = TagCloud()  # click a word: back to the grid searching it (main_window)
        side.addWidget(self.auto, 2)
        side.addWidget(QLabel("<b>Your tags</b>"))
        self.user = QListWidget()
        side.addWidget(self.user, 1)
        row = QHBoxLayout()
        self.new_tag = QLineEdit()
        self.new_tag.setPlaceholderText("Add a tag…")
        self.remove_button = QPushButton("Remove")
        row.addWidget(self.new_tag, 1)
        row.addWidget(self.remove_button)
        side.addLayout(row)
        body.addWidget(self.strip)
        outer.addLayout(body, 1)

        self.back_button.clicked.connect(self.back_requested)
        self.prev_button.clicked.connect(lambda: self.step_requested.emit(-1))
        self.next_button.clicked.connect(lambda: self.step_requested.emit(1))
        self.fit_button.clicked.connect(self.canvas.fit)
        self.actual_button.clicked.connect(self.canvas.actual_size)
        self.info_button.toggled.connect(self.strip.setVisible)
        self.canvas.zoom_changed.connect(self._show_zoom)
        self.new_tag.returnPressed.connect(self._add)
        self.remove_button.clicked.connect(self._remove)

    # -- what the controller shows

    def show_position(self, index: int, count: int) -> None:
        """"12 of 340", and the step buttons only where there is a photo to step to."""
        self.counter.setText(f"{index + 1:,} of {count:,}" if count else "")
        self.prev_button.setEnabled(index > 0)
        self.next_button.setEnabled(index < count - 1)

    def show_facts(self, photo_id: int, lines: Sequence[str]) -> None:
        """The strip's facts, as rich text lines already escaped (the first one bold: the file name)."""
        self.photo_id = photo_id
        self.facts.setText("<br>".join(f"<b>{t}</b>" if i == 0 else t for i, t in enumerate(lines)))

    def show_tags(self, tags: Sequence[str], auto: Sequence = ()) -> None:
        """The person's tags (editable) and the automatic ones (TagWeight, strongest first)."""
        self.user.clear()
        self.user.addItems(list(tags))
        self.auto.set_tags(list(auto), placeholder="")

    def show_image(self, image: QImage | None, natural: QSize | None, *, full_resolution: bool,
                   keep_view: bool = False) -> None:
        self.canvas.show_image(image, natural, full_resolution=full_resolution, keep_view=keep_view)
        self._show_zoom()

    def show_message(self, text: str) -> None:
        self.canvas.show_message(text)
        self._show_zoom()

    def _show_zoom(self) -> None:
        shown = self.canvas.image_size() is not None
        self.zoom_label.setText(f"{round(self.canvas.scale() * 100)} %" if shown else "")

    # -- what the person asks for (adding and removing tags: OwnTagsBox)

    def event(self, event) -> bool:
        """Esc belongs to the viewer while it is shown: taken before the window's own Esc shortcut (which would drop
        the grid's selection), from the photo and from the tag box alike."""
        if event.type() == QEvent.Type.ShortcutOverride and event.key() == Qt.Key.Key_Escape:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """The viewer's keys (listed for Help > Keyboard shortcuts in VIEWER_KEYS: change both together)."""
        key, mods = event.key(), event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        canvas = self.canvas
        plain = mods in (Qt.KeyboardModifier.NoModifier, Qt.KeyboardModifier.ShiftModifier)
        actions = {
            Qt.Key.Key_Escape: self.back_requested.emit,
            Qt.Key.Key_Right: lambda: self.step_requested.emit(1),
            Qt.Key.Key_PageDown: lambda: self.step_requested.emit(1),
            Qt.Key.Key_Space: lambda: self.step_requested.emit(1),
            Qt.Key.Key_Left: lambda: self.step_requested.emit(-1),
            Qt.Key.Key_PageUp: lambda: self.step_requested.emit(-1),
            Qt.Key.Key_Backspace: lambda: self.step_requested.emit(-1),
            Qt.Key.Key_Home: lambda: self.jump_requested.emit(False),
            Qt.Key.Key_End: lambda: self.jump_requested.emit(True),
            Qt.Key.Key_F: canvas.fit,
            Qt.Key.Key_1: canvas.actual_size,
            Qt.Key.Key_Z: canvas.toggle_zoom,
            Qt.Key.Key_Plus: lambda: canvas.zoom_by(ZOOM_STEP),
            Qt.Key.Key_Equal: lambda: canvas.zoom_by(ZOOM_STEP),
            Qt.Key.Key_Minus: lambda: canvas.zoom_by(1 / ZOOM_STEP),
            Qt.Key.Key_I: self.info_button.toggle,
        }
        action = actions.get(Qt.Key(key)) if plain else None
        if action is None:
            super().keyPressEvent(event)
            return
        action()
        event.accept()
