"""An int8 CPU variant of the Tagger model: build it, time it against fp32 and check its accuracy in the same run.

    python bench/quantize.py [--calibration 128] [--modes qdq-pc,qdq-pc-nodw,dynamic] [--limit 0] [--install] [--json]
    python bench/quantize.py --record [--remeasure]     # what model builds ship: resources/quantize/

Why: on 2 cores the model (about 10 ms a photo on one core in fp32) competes with decoding for the CPU. An int8 graph
is only worth shipping if it holds accuracy: Caltech-101 zero-shot hit@1 on the fixed test split (the default method
of tagger/research/evaluate.py: ConSE + WordNet affinity + CSLS hub correction) within ``--tolerance`` (0.005) of
fp32, measured here on the same decoded pixels.

1. Calibration: ``--calibration`` photos from Caltech's *train* split (one per class round-robin, never test photos),
   decoded exactly as the indexer decodes them.
2. Variants (``--modes``): static QDQ per-channel on every Conv and Gemm (``qdq-pc``), the same without the
   depthwise convolutions (``qdq-pc-nodw``: EfficientNet's depthwise layers quantize worst), without the first and
   last layers (``qdq-pc-ends``), per-tensor (``qdq-pt``), and dynamic quantization (``dynamic``). The ConSE head
   (softmax, top-T, the embedding) is never quantized.
3. Speed: ms a photo at the indexer's batch (32) and at batch 1, with ORT 1 and 2 intra-op threads; min of repeats.
4. Accuracy: hit@1 (and hit@5) of every variant on the test split, from the same pixels.
5. ``--record``: the product's mode (``INT8_MODE``) only, quantized exactly as a model build does it (from the
   shipped ``resources/quantize/ranges.json``, no photos), and its sha256 and accuracy added to
   ``resources/quantize/verified.json`` under the fp32 graph's sha256: a build that makes those bytes is trusted.
6. ``--install``: the most faithful (ImageNet top-1 agreement with fp32) of the passing variants within 15 % of the
   fastest is written as ``model.int8.onnx`` next to the model and
   recorded in its manifest (``cpu_variant``: file, mode, measured hit@1 of both, passed), which is what
   ``tagger.engine.runtime.cpu_variant_file`` reads; a variant that misses the tolerance is recorded as not passed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tagger.engine.core import Engine  # noqa: E402
from tagger.engine.cpu_variant import (  # noqa: E402
    HEAD_OPS,
    INT8_MODE,
    INT8_NAME,
    RANGES_RESOURCE,
    VERIFIED_RESOURCE,
    graph_fingerprint,
    quantize_static_int8,
    record_cpu_variant,
)
from tagger.engine.imageio import iter_batches  # noqa: E402
from tagger.engine.runtime import CPU, open_session  # noqa: E402
from tagger.engine.scoring import LabelSet, hits_at, top_classes  # noqa: E402
from tagger.fileio import sha256_file  # noqa: E402

TOLERANCE = 0.005


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def read_split(caltech: Path, name: str) -> list[str]:
    return [ln.strip() for ln in (caltech / name).read_text(encoding="utf-8").splitlines() if ln.strip()]


def decode_all(paths: list[Path], prep, workers: int = 2) -> tuple[list[int], np.ndarray]:
    ok, chunks = [], []
    for batch in iter_batches(paths, prep, 64, workers):
        ok.extend(batch.indices)
        chunks.append(batch.pixels)
    return ok, np.concatenate(chunks)


def calibration_files(caltech: Path, n: int) -> list[Path]:
    """``n`` train photos, round-robin over the classes so every class is represented."""
    by_class: dict[str, list[str]] = {}
    for f in read_split(caltech, "train.txt"):
        by_class.setdefault(f.split("/", 1)[0], []).append(f)
    out: list[Path] = []
    depth = 0
    while len(out) < n:
        added = False
        for files in by_class.values():
            if depth < len(files) and len(out) < n:
                out.append(caltech / files[depth])
                added = True
        if not added:
            break
        depth += 1
    return out


def quantize(fp32: Path, out: Path, mode: str, calib: np.ndarray, ranges: Path) -> None:
    """Static modes go through the product's own quantizer (tagger/engine/cpu_variant.py), so what is measured here is
    what a build makes; the activation ranges are measured once into ``ranges`` and read back by every later mode."""
    if mode != "dynamic":
        quantize_static_int8(fp32, out, mode, ranges, None if ranges.is_file() else calib)
        return
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
        import onnx

        exclude = [n.name for n in onnx.load(str(pre)).graph.node if n.op_type in HEAD_OPS]
        quantize_dynamic(str(pre), str(out), per_channel=True, weight_type=QuantType.QInt8,
                         op_types_to_quantize=["Conv", "Gemm", "MatMul"], nodes_to_exclude=exclude)


def run_all(session, pixels: np.ndarray, batch: int = 64) -> dict[str, np.ndarray]:
    names = [o.name for o in session.get_outputs()]
    outs: dict[str, list] = {n: [] for n in names}
    for i in range(0, len(pixels), batch):
        for n, v in zip(names, session.run(None, {"pixels": pixels[i:i + batch]})):
            outs[n].append(v)
    return {n: np.concatenate(v) for n, v in outs.items()}


def zero_shot(engine: Engine, out: dict[str, np.ndarray], labels: list[str], truth: np.ndarray) -> dict[str, float]:
    """The default method of tagger/research/evaluate.py on these outputs: hit@1 and hit@5 over the distinct labels."""
    idx, p = top_classes(out["logits"], engine.top_t)
    lset = LabelSet.build(labels, engine.word_space.text_vectors(labels), engine.class_vectors, True)
    scores = lset.scores(out["embedding"], idx, p, True)
    h = hits_at(scores, truth, (1, 5))
    top1_agree = float(np.mean(np.argmax(out["logits"], 1) == out.get("_ref_top1", np.argmax(out["logits"], 1))))
    return {"hit@1": round(h[1], 4), "hit@5": round(h[5], 4), "imagenet_top1_agreement": round(top1_agree, 4)}


def speed(path: Path, pixels: np.ndarray, batch: int, threads: int, repeat: int) -> float:
    session = open_session(path, threads, [CPU])
    x = np.ascontiguousarray(pixels[:batch])
    session.run(None, {"pixels": x})
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        session.run(None, {"pixels": x})
        times.append(time.perf_counter() - start)
    return round(min(times) / batch * 1000.0, 3)


def record_verified(fp32: Path, int8: Path, row: dict, base: dict, test_photos: int, calibration: int,
                    tolerance: float) -> dict:
    """Add this fp32 graph's entry to resources/quantize/verified.json: the sha256 a build must reproduce to be trusted,
    and the accuracy measured for exactly those bytes."""
    import onnxruntime

    path = ROOT / "resources" / VERIFIED_RESOURCE
    data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    data["about"] = ("fp32 graph fingerprint (tagger.engine.cpu_variant.graph_fingerprint: sha256 without doc strings "
                     "and metadata) -> the int8 graph a build makes from ranges.json and what it measured; written by "
                     "bench/quantize.py --record")
    entry = {"int8_fingerprint": graph_fingerprint(int8), "mode": INT8_MODE, "fp32_hit@1": base["hit@1"],
             "int8_hit@1": row["hit@1"], "fp32_hit@5": base["hit@5"], "int8_hit@5": row["hit@5"],
             "passed": bool(base["hit@1"] - row["hit@1"] <= tolerance), "tolerance": tolerance,
             "test_photos": test_photos, "calibration_photos": calibration,
             "speedup_batch32_1thread": row["speedup_b32_t1"], "onnxruntime": onnxruntime.__version__,
             "recorded": time.strftime("%Y-%m-%d")}
    data.setdefault("models", {})[graph_fingerprint(fp32)] = entry
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return entry


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--caltech", type=Path, default=ROOT.parent / "shared" / "data" / "caltech101")
    ap.add_argument("--calibration", type=int, default=128)
    ap.add_argument("--modes", default="qdq-pc,qdq-pc-nodw,dynamic")
    ap.add_argument("--limit", type=int, default=0, help="test photos (0: the whole test split)")
    ap.add_argument("--tolerance", type=float, default=TOLERANCE)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "quantize")
    ap.add_argument("--install", action="store_true", help="write the best passing variant into the model folder")
    ap.add_argument("--record", action="store_true",
                    help=f"measure {INT8_MODE} as a model build makes it and record it in resources/quantize/")
    ap.add_argument("--remeasure", action="store_true",
                    help="with --record: measure and ship new ranges (then re-record every model in verified.json)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    engine = Engine.load()
    fp32 = engine.folder / engine.manifest["onnx"]["file"]
    args.out.mkdir(parents=True, exist_ok=True)
    log("decoding calibration and test photos ...")
    _, calib = decode_all(calibration_files(args.caltech, args.calibration), engine.prep)
    test = read_split(args.caltech, "test.txt")
    if args.limit:
        test = test[:: max(1, len(test) // args.limit)][: args.limit]
    folder_labels = {}
    for line in (args.caltech / "labels.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        if "\t" in line:
            folder, label = line.split("\t")[:2]
            folder_labels[folder] = label
    ok, pixels = decode_all([args.caltech / f for f in test], engine.prep)
    label_of = [folder_labels.get(test[i].split("/", 1)[0], test[i].split("/", 1)[0]) for i in ok]
    labels = sorted(set(label_of))
    truth = np.array([labels.index(x) for x in label_of], np.int64)

    variants = {"fp32": fp32}
    ranges = args.out / "ranges.json"
    ranges.unlink(missing_ok=True)  # measured afresh from this run's calibration photos ...
    shipped = ROOT / "resources" / RANGES_RESOURCE
    if args.record and shipped.is_file() and not args.remeasure:
        # ... except when recording another model: the shipped ranges serve every entry of verified.json, so
        # measuring them again (any changed bit) would void the entries already recorded
        ranges.write_text(shipped.read_text(encoding="utf-8"), encoding="utf-8")
    modes = [INT8_MODE] if args.record else [m for m in args.modes.split(",") if m]
    for mode in modes:
        path = args.out / f"model.{mode}.onnx"
        log(f"quantizing: {mode} ...")
        start = time.perf_counter()
        quantize(fp32, path, mode, calib, ranges)
        log(f"  {time.perf_counter() - start:.1f} s")
        variants[mode] = path
    if args.record:
        # what a build makes: the shipped ranges (read back, no photos) quantizing the same fp32 graph
        shipped.parent.mkdir(parents=True, exist_ok=True)
        if args.remeasure or not shipped.is_file():
            shipped.write_text(ranges.read_text(encoding="utf-8"), encoding="utf-8")
        built = args.out / "model.build.onnx"
        quantize_static_int8(fp32, built, INT8_MODE, shipped)
        log(f"  built from the shipped ranges: {sha256_file(built)} (from the photos: {sha256_file(path)})")
        variants[INT8_MODE] = built

    rows = {}
    ref_top1 = None
    for name, path in variants.items():
        log(f"measuring {name} ...")
        session = open_session(path, 2, [CPU])
        out = run_all(session, pixels)
        if ref_top1 is None:
            ref_top1 = np.argmax(out["logits"], 1)
        out["_ref_top1"] = ref_top1
        acc = zero_shot(engine, out, labels, truth)
        speeds = {f"b{b}_t{t}": statistics.median([speed(path, pixels, b, t, args.repeat)]) for b in (32, 1)
                  for t in (1, 2)}
        rows[name] = {"file": str(path), "bytes": path.stat().st_size, **acc, "ms_per_photo": speeds}
        log(f"  {rows[name]}")
    base = rows["fp32"]
    for name, r in rows.items():
        r["hit@1_delta"] = round(r["hit@1"] - base["hit@1"], 4)
        r["passed"] = name == "fp32" or base["hit@1"] - r["hit@1"] <= args.tolerance
        r["speedup_b32_t1"] = round(base["ms_per_photo"]["b32_t1"] / r["ms_per_photo"]["b32_t1"], 2)
    candidates = [n for n, r in rows.items() if n != "fp32"]
    passing = [n for n in candidates if rows[n]["passed"] and rows[n]["speedup_b32_t1"] > 1.0]
    # the most faithful of the variants within 15 % of the fastest: timings on a shared machine are noisy, and a
    # variant that also keeps the ImageNet top-1 and hit@5 is worth a few percent of speed
    fastest = min((rows[n]["ms_per_photo"]["b32_t1"] for n in passing), default=0.0)
    near = [n for n in passing if rows[n]["ms_per_photo"]["b32_t1"] <= 1.15 * fastest]
    chosen = max(near, key=lambda n: (rows[n]["imagenet_top1_agreement"], rows[n]["hit@5"])) if near else None
    best_any = min(candidates, key=lambda n: base["hit@1"] - rows[n]["hit@1"]) if candidates else None
    result = {"test_photos": len(ok), "calibration_photos": len(calib), "tolerance": args.tolerance,
              "variants": rows, "chosen": chosen}
    if args.record:
        r = rows[INT8_MODE]
        result["recorded"] = record_verified(fp32, variants[INT8_MODE], r, base, len(ok), len(calib), args.tolerance)
    if args.install and (chosen or best_any):
        pick = chosen or best_any
        r = rows[pick]
        manifest = record_cpu_variant(engine.folder, Path(r["file"]), mode=pick, hit1=r["hit@1"],
                                      fp32_hit1=base["hit@1"], passed=bool(chosen), test_photos=len(ok),
                                      speedup=r["speedup_b32_t1"])
        result["installed"] = {"file": str(engine.folder / INT8_NAME), "cpu_variant": manifest["cpu_variant"]}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{len(ok)} Caltech test photos, {len(calib)} calibration photos, tolerance {args.tolerance}")
        print(f"{'variant':<14}{'hit@1':>7}{'delta':>8}{'hit@5':>7}{'agree':>7}"
              f"{'b32t1':>8}{'b32t2':>8}{'b1t1':>8}{'b1t2':>8}{'x':>6}  passed")
        for n, r in rows.items():
            ms = r["ms_per_photo"]
            print(f"{n:<14}{r['hit@1']:>7.4f}{r['hit@1_delta']:>+8.4f}{r['hit@5']:>7.4f}"
                  f"{r['imagenet_top1_agreement']:>7.3f}{ms['b32_t1']:>8.2f}{ms['b32_t2']:>8.2f}{ms['b1_t1']:>8.2f}"
                  f"{ms['b1_t2']:>8.2f}{r['speedup_b32_t1']:>6.2f}  {r['passed']}")
        print(f"chosen: {chosen}" + (f"; installed {result['installed']}" if "installed" in result else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
