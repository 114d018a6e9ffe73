"""A small QPainter line chart of a training run: loss per epoch (left scale) and held-out accuracy (right scale).

PySide6-Essentials has no QtCharts; two lines, two scales and a legend are all the retraining panel needs.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

LOSS_COLOR = QColor("#2e86c1")
ACC_COLOR = QColor("#d35400")
BEFORE_COLOR = QColor("#7f8c8d")


class TrainingChart(QWidget):
    """Training loss and validation accuracy per epoch, drawn as points arrive (``add_epoch``)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.points: list[dict] = []  # history rows: {"epoch", "loss", "val_loss", "val_acc"}
        self.before: float | None = None  # held-out accuracy of the untrained model, drawn dashed once known
        self.setMinimumSize(240, 150)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(360, 190)

    def clear(self) -> None:
        self.points, self.before = [], None
        self.update()

    def add_epoch(self, row: dict) -> None:
        self.points.append(dict(row))
        self.update()

    def set_history(self, rows: list[dict], before: float | None = None) -> None:
        self.points, self.before = [dict(r) for r in rows], before
        self.update()

    def set_before(self, accuracy: float | None) -> None:
        self.before = None if accuracy is None or math.isnan(accuracy) else float(accuracy)
        self.update()

    # ------------------------------------------------------------------ painting

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), self.palette().base())
        font = QFont(self.font())
        font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
        p.setFont(font)
        fm = p.fontMetrics()
        left, right, top, bottom = fm.horizontalAdvance("0.000") + 22, fm.horizontalAdvance("100%") + 22, \
            fm.height() + 10, 2 * fm.height() + 10
        plot = QRectF(left, top, max(10, self.width() - left - right), max(10, self.height() - top - bottom))
        text_color = self.palette().text().color()
        grid = QColor(text_color)
        grid.setAlpha(40)

        epochs = max(2, max((int(r["epoch"]) for r in self.points), default=0))
        scale = LossScale([float(r["loss"]) for r in self.points if _finite(r.get("loss"))])

        def x_of(epoch: float) -> float:
            return plot.left() + (epoch - 1) / (epochs - 1) * plot.width()

        def y_loss(v: float) -> float:
            return plot.bottom() - scale.fraction(v) * plot.height()

        def y_acc(v: float) -> float:
            return plot.bottom() - min(1.0, max(0.0, v)) * plot.height()

        # grid and the two y scales: loss on the left (its own ticks), accuracy (0-100%) on the right
        for value, text in scale.ticks():
            y = y_loss(value)
            p.setPen(LOSS_COLOR)
            p.drawLine(QPointF(plot.left() - 3, y), QPointF(plot.left(), y))
            p.drawText(QRectF(0, y - fm.height() / 2, left - 6, fm.height()),
                       Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, text)
        for i in range(5):
            frac = i / 4
            y = plot.bottom() - frac * plot.height()
            p.setPen(QPen(grid, 1))
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            p.setPen(ACC_COLOR)
            p.drawText(QRectF(plot.right() + 6, y - fm.height() / 2, right - 6, fm.height()),
                       Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, f"{frac:.0%}")
        p.setPen(QPen(text_color, 1))
        p.drawRect(plot)
        for epoch in _ticks(epochs):
            x = x_of(epoch)
            p.drawLine(QPointF(x, plot.bottom()), QPointF(x, plot.bottom() + 3))
            p.drawText(QRectF(x - 20, plot.bottom() + 3, 40, fm.height()), Qt.AlignmentFlag.AlignHCenter, str(epoch))
        p.drawText(QRectF(plot.left(), plot.bottom() + fm.height() + 2, plot.width(), fm.height()),
                   Qt.AlignmentFlag.AlignHCenter, "epoch")
        p.save()  # vertical axis titles
        p.setPen(LOSS_COLOR)
        p.translate(fm.height() / 2 + 1, plot.center().y())
        p.rotate(-90)
        p.drawText(QRectF(-plot.height() / 2, -fm.height() / 2, plot.height(), fm.height()),
                   Qt.AlignmentFlag.AlignCenter, "training loss" + (" (log)" if scale.log else ""))
        p.restore()
        p.save()
        p.setPen(ACC_COLOR)
        p.translate(self.width() - fm.height() / 2 - 1, plot.center().y())
        p.rotate(90)
        p.drawText(QRectF(-plot.height() / 2, -fm.height() / 2, plot.height(), fm.height()),
                   Qt.AlignmentFlag.AlignCenter, "held-out accuracy")
        p.restore()

        if self.before is not None:
            pen = QPen(BEFORE_COLOR, 1.5, Qt.PenStyle.DashLine)
            p.setPen(pen)
            y = y_acc(self.before)
            p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
        self._line(p, [(x_of(r["epoch"]), y_loss(float(r["loss"]))) for r in self.points if _finite(r.get("loss"))],
                   LOSS_COLOR)
        self._line(p, [(x_of(r["epoch"]), y_acc(float(r["val_acc"]))) for r in self.points
                       if _finite(r.get("val_acc"))], ACC_COLOR)
        self._legend(p, QRectF(plot.left(), 2, plot.width(), fm.height() + 4))
        if not self.points:
            p.setPen(QColor(text_color.red(), text_color.green(), text_color.blue(), 120))
            p.drawText(plot, Qt.AlignmentFlag.AlignCenter, "the curve appears here while training")
        p.end()

    @staticmethod
    def _line(p: QPainter, xy: list[tuple[float, float]], color: QColor) -> None:
        if not xy:
            return
        path = QPainterPath(QPointF(*xy[0]))
        for x, y in xy[1:]:
            path.lineTo(x, y)
        p.setPen(QPen(color, 2))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(path)
        p.setBrush(color)
        for x, y in xy:
            p.drawEllipse(QPointF(x, y), 2.5, 2.5)
        p.setBrush(Qt.BrushStyle.NoBrush)

    def _legend(self, p: QPainter, box: QRectF) -> None:
        entries = [("training loss", LOSS_COLOR, Qt.PenStyle.SolidLine),
                   ("held-out accuracy", ACC_COLOR, Qt.PenStyle.SolidLine)]
        if self.before is not None:
            entries.append(("before training", BEFORE_COLOR, Qt.PenStyle.DashLine))
        fm = p.fontMetrics()
        x = box.left()
        for text, color, style in entries:
            y = box.center().y()
            p.setPen(QPen(color, 2, style))
            p.drawLine(QPointF(x, y), QPointF(x + 16, y))
            p.setPen(self.palette().text().color())
            p.drawText(QRectF(x + 20, box.top(), fm.horizontalAdvance(text) + 4, box.height()),
                       Qt.AlignmentFlag.AlignVCenter, text)
            x += 20 + fm.horizontalAdvance(text) + 14


class LossScale:
    """The loss axis: linear from 0, or logarithmic when the loss falls by more than 20× (it usually does: the first
    epoch's loss would otherwise squash every later one onto the axis)."""

    def __init__(self, losses: list[float]):
        positive = [v for v in losses if v > 0]
        self.log = bool(positive) and len(positive) == len(losses) and max(positive) > 20 * min(positive)
        if self.log:
            self.lo = math.floor(math.log10(min(positive)))
            self.hi = max(self.lo + 1, math.ceil(math.log10(max(positive))))
        else:
            self.top = _nice_ceiling(max(losses, default=1.0))

    def fraction(self, v: float) -> float:
        """Where ``v`` sits between the bottom (0) and the top (1) of the plot."""
        if self.log:
            f = (math.log10(max(v, 10.0 ** self.lo)) - self.lo) / (self.hi - self.lo)
        else:
            f = v / self.top
        return min(1.0, max(0.0, f))

    def ticks(self) -> list[tuple[float, str]]:
        if self.log:
            step = max(1, math.ceil((self.hi - self.lo) / 5))
            return [(10.0 ** e, _fmt(10.0 ** e)) for e in range(self.lo, self.hi + 1, step)]
        parts = 4 if f"{self.top:.0e}"[0] in "12" else 2  # round labels: 0.25 0.5 0.75 1, or 0 2.5 5
        return [(self.top * i / parts, _fmt(self.top * i / parts)) for i in range(parts + 1)]


def _finite(v) -> bool:
    return v is not None and math.isfinite(float(v))


def _nice_ceiling(v: float) -> float:
    """The next 1, 2 or 5 times a power of ten at or above ``v``: round numbers on the loss scale."""
    if v <= 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 5, 10):
        if v <= m * mag + 1e-12:
            return m * mag
    return 10 * mag


def _fmt(v: float) -> str:
    return f"{v:.0f}" if v >= 10 or v == 0 else f"{v:.2g}" if v >= 0.001 else f"{v:.0e}"


def _ticks(epochs: int) -> list[int]:
    step = max(1, math.ceil(epochs / 8))
    ticks = list(range(1, epochs + 1, step))
    if ticks[-1] != epochs:
        if epochs - ticks[-1] < step / 2 and len(ticks) > 1:
            ticks.pop()  # the last label would overlap its neighbour
        ticks.append(epochs)
    return ticks
