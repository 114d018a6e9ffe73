"""Keeping the main window on its screen: at first start and when a geometry saved on a bigger monitor is restored,
the window (with its frame and status bar) is shrunk and moved into the screen's available area."""

from __future__ import annotations

from PySide6.QtCore import QMargins, QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

# the frame a window manager adds (a title bar, borders) until the window is shown and its real frame is known
FRAME_ALLOWANCE = QMargins(8, 32, 8, 8)


def fit_rect(inner: QRect, frame: QMargins, room: QRect) -> QRect:
    """The window's client rectangle ``inner``, shrunk and then moved as little as needed, so that it and its
    ``frame`` lie inside ``room`` (a screen's available geometry)."""
    width = max(1, min(inner.width(), room.width() - frame.left() - frame.right()))
    height = max(1, min(inner.height(), room.height() - frame.top() - frame.bottom()))
    left = max(room.left() + frame.left(), min(inner.left(), room.right() - frame.right() - width + 1))
    top = max(room.top() + frame.top(), min(inner.top(), room.bottom() - frame.bottom() - height + 1))
    return QRect(left, top, width, height)


def centered(size: QSize, room: QRect) -> QRect:
    """A rectangle of ``size`` in the middle of ``room`` (a first start: no place remembered)."""
    rect = QRect(0, 0, size.width(), size.height())
    rect.moveCenter(room.center())
    return rect


def available_room(window: QWidget) -> QRect | None:
    """The available geometry (without task bars and docks) of the screen the window is on; None without one."""
    screen = QGuiApplication.screenAt(window.geometry().center()) or window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        return None
    room = screen.availableGeometry()
    return None if room.isEmpty() else room


def frame_margins(window: QWidget) -> QMargins:
    """The window's frame as the window manager drew it, or a typical one while it is not known yet."""
    frame, inner = window.frameGeometry(), window.geometry()
    if not window.isVisible() or frame == inner:
        return QMargins(FRAME_ALLOWANCE)
    return QMargins(inner.left() - frame.left(), inner.top() - frame.top(), frame.right() - inner.right(),
                    frame.bottom() - inner.bottom())


def fit_window(window: QWidget, wanted: QSize | None = None) -> None:
    """Bring the window inside its screen's available area; ``wanted``: a first start's size, centred."""
    if window.windowState() & (Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen):
        return  # the window manager keeps those on their screen
    room = available_room(window)
    if room is None:
        if wanted is not None:
            window.resize(wanted)
        return
    inner = centered(wanted, room) if wanted is not None else window.geometry()
    fitted = fit_rect(inner, frame_margins(window), room)
    if fitted != window.geometry():
        window.setGeometry(fitted)
