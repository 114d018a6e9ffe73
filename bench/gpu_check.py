"""The CUDA path on a real GPU: does onnxruntime-gpu bind CUDA, give the CPU's outputs, and how fast is it?

    python bench/gpu_check.py --model models/<id> --sources DIR_OF_JPEGS [--n 256] [--json OUT.json]

Run on a machine with an NVIDIA GPU (docs/benchmarks.md, "GPU"). Everything is measured in one process, CPU and GPU
side by side, on the product's own code paths:

1. Binding: ``ModelRuntime.open`` with the runtime's default providers must bind ``CUDAExecutionProvider`` (the
   runtime silently falls back to the CPU when CUDA does not work, so the bound provider is what is checked).
2. Equality: the same decoded batch through the CPU and the CUDA session; max |difference| of features, embedding and
   logits (bar: <= 1e-3) and agreement of the top-1 / top-5 ImageNet classes.
3. Photos: N phone-like 12 MP JPEGs made from the sources by ``bench/_phone_photos.make_photo`` (the CPU benchmark's
   generator), held in memory and written once to a temporary folder.
4. Rates (images/s): decode only (``decode_photo``: draft decode, EXIF, network input, thumbnail) on all cores; the
   model alone on CUDA at batch 1 / 32 / 128 and on the CPU at batch 32; the product's embedding pipeline
   (``Engine.embed_files``: decode threads feeding the model) with the model on CUDA and on the CPU.
5. nvJPEG: ``torchvision.io.decode_jpeg(device="cuda")`` on the same 12 MP files, batched, plus an antialiased resize
   to the network size on the GPU, against the CPU draft decode's rate.
6. Faces: the RetinaFace detector on CUDA (batched) against the CPU on the photos' thumbnails: same faces, boxes
   within 1 px, and the rate of each.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _make(args: tuple[str, int]) -> bytes:
    from bench._phone_photos import make_photo

    source, index = args
    return make_photo(Path(source), 0, index)


def rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else float("nan")


def timed(fn, repeat: int = 3) -> float:
    """Best wall time of ``repeat`` calls (after the caller's warm-up)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def environment() -> dict:
    import onnxruntime as ort

    env = {"python": platform.python_version(), "onnxruntime": ort.__version__,
           "available_providers": ort.get_available_providers(), "cpus": os.cpu_count()}
    try:
        query = ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]
        env["gpu"] = subprocess.run(query, capture_output=True, text=True, timeout=20).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        env["gpu"] = f"nvidia-smi failed: {exc}"
    return env


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, required=True, help="a built model folder (manifest.json, model.onnx)")
    ap.add_argument("--sources", type=Path, required=True, help="JPEGs the 12 MP test photos are made from")
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    report: dict = {}

    try:  # the CUDA libraries onnxruntime-gpu needs, from the nvidia-* wheels torch already loads
        import onnxruntime as ort
        import torch  # noqa: F401
        if hasattr(ort, "preload_dlls"):
            ort.preload_dlls()
    except Exception as exc:  # a bench: say what failed and go on with what works
        log(f"preload: {type(exc).__name__}: {exc}")
    report["environment"] = environment()
    log(json.dumps(report["environment"]))

    from tagger.engine.core import Engine
    from tagger.engine.imageio import Preprocessing, decode_photo
    from tagger.engine.runtime import CPU, CUDA, ModelRuntime

    manifest = json.loads((args.model / "manifest.json").read_text())
    prep = Preprocessing.from_json(manifest["preprocessing"])
    onnx = args.model / "model.onnx"

    # 1. binding
    t = time.perf_counter()
    gpu = ModelRuntime.open(onnx)
    open_s = time.perf_counter() - t
    cpu = ModelRuntime.open(onnx, threads=os.cpu_count(), providers=[CPU])
    report["binding"] = {"bound_provider": gpu.provider, "cuda_bound": gpu.provider == CUDA,
                         "session_open_s": round(open_s, 2)}
    log(f"binding: {report['binding']}")

    # 1b. which graph each device runs: CUDA fp32, the CPU the int8 variant when the manifest vouches for it
    auto_gpu = ModelRuntime.open_model(args.model, manifest)
    auto_cpu = ModelRuntime.open_model(args.model, manifest, threads=os.cpu_count(), providers=[CPU])
    report["variants"] = {"cuda": [auto_gpu.provider, auto_gpu.variant], "cpu": [auto_cpu.provider, auto_cpu.variant],
                          "manifest_cpu_variant": manifest.get("cpu_variant", {}).get("passed")}
    log(f"variants: {report['variants']}")

    # 3. photos
    sources = sorted(args.sources.glob("*.jpg"))
    jobs = [(str(sources[i % len(sources)]), i) for i in range(args.n)]
    t = time.perf_counter()
    with ProcessPoolExecutor(max_workers=os.cpu_count()) as pool:
        blobs = list(pool.map(_make, jobs, chunksize=4))
    log(f"made {len(blobs)} 12 MP JPEGs in {time.perf_counter() - t:.1f} s ({sum(map(len, blobs)) / 1e6:.0f} MB)")
    tmp = Path(tempfile.mkdtemp(prefix="gpu_check_"))
    paths = []
    for i, data in enumerate(blobs):
        p = tmp / f"p{i:04d}.jpg"
        p.write_bytes(data)
        paths.append(p)

    # 4a. decode only, all cores
    workers = os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda b: decode_photo(b, prep), blobs[:workers]))  # warm
        t = time.perf_counter()
        decoded = list(pool.map(lambda b: decode_photo(b, prep), blobs))
        decode_s = time.perf_counter() - t
    t = time.perf_counter()
    for b in blobs[:16]:
        decode_photo(b, prep)
    one_core = rate(16, time.perf_counter() - t)
    pixels = np.stack([d.pixels for d in decoded])
    report["decode"] = {"workers": workers, "images_per_s": rate(len(blobs), decode_s),
                        "images_per_s_one_thread": one_core}
    log(f"decode: {report['decode']}")

    # 2. equality on real photos
    batch = pixels[:64]
    out_g, out_c = gpu.run(batch), cpu.run(batch)
    diffs = {k: float(np.max(np.abs(out_g[k] - out_c[k]))) for k in out_c}
    top1 = float(np.mean(out_g["logits"].argmax(1) == out_c["logits"].argmax(1)))
    top5 = float(np.mean([set(np.argsort(-g)[:5]) == set(np.argsort(-c)[:5])
                          for g, c in zip(out_g["logits"], out_c["logits"])]))
    report["equality"] = {"photos": len(batch), "max_abs_diff": diffs, "within_1e-3": max(diffs.values()) <= 1e-3,
                          "top1_agreement": top1, "top5_set_agreement": top5}
    log(f"equality: {report['equality']}")

    # 4b. model alone
    model_rates = {}
    for b in (1, 32, 128):
        x = np.ascontiguousarray(pixels[:b])
        gpu.run(x)
        reps = max(3, 256 // b)
        model_rates[f"cuda_batch{b}"] = rate(b * reps, timed(lambda x=x, reps=reps: [gpu.run(x) for _ in range(reps)]))
    x = np.ascontiguousarray(pixels[:32])
    cpu.run(x)
    model_rates["cpu_batch32"] = rate(32 * 2, timed(lambda: [cpu.run(x) for _ in range(2)], 2))
    if auto_cpu.variant == "int8":
        auto_cpu.run(x)
        model_rates["cpu_int8_batch32"] = rate(32 * 2, timed(lambda: [auto_cpu.run(x) for _ in range(2)], 2))
        q = auto_cpu.run(batch)
        report["int8_vs_fp32_top1_agreement"] = float(np.mean(q["logits"].argmax(1) == out_c["logits"].argmax(1)))
    report["model_only"] = model_rates
    log(f"model only: {model_rates}")

    # 4c. the product's pipeline (decode threads feeding the model)
    pipeline = {}
    for name, threads, providers in (("cuda", None, None), ("cpu", os.cpu_count(), [CPU])):
        engine = Engine(args.model, manifest, threads=threads)
        engine.__dict__["runtime"] = ModelRuntime.open(onnx, threads=threads, providers=providers)
        engine.embed_files(paths[:32], batch_size=32, workers=workers)  # warm
        for bs in (32, 128):
            t = time.perf_counter()
            emb = engine.embed_files(paths, batch_size=bs, workers=workers)
            pipeline[f"{name}_batch{bs}"] = rate(len(emb.ok), time.perf_counter() - t)
    pipeline["decode_only"] = report["decode"]["images_per_s"]
    pipeline["cuda_share_of_decode_only"] = round(max(pipeline["cuda_batch32"], pipeline["cuda_batch128"])
                                                  / pipeline["decode_only"], 3)
    report["pipeline"] = pipeline
    log(f"pipeline: {pipeline}")

    # 5. nvJPEG
    try:
        import torch
        import torch.nn.functional as F
        from torchvision.io import decode_jpeg

        tensors = [torch.frombuffer(bytearray(b), dtype=torch.uint8) for b in blobs]
        size = prep.input_size

        def gpu_decode(chunk: int = 32) -> None:
            for s in range(0, len(tensors), chunk):
                imgs = decode_jpeg(tensors[s:s + chunk], device="cuda")
                small = [F.interpolate(im[None].float(), size=(size, size), mode="bilinear", antialias=True)
                         for im in imgs]
                torch.cat(small)
            torch.cuda.synchronize()

        gpu_decode()
        secs = timed(gpu_decode, 2)
        report["nvjpeg"] = {"images_per_s": rate(len(blobs), secs), "torch": torch.__version__,
                            "cpu_draft_decode_images_per_s": report["decode"]["images_per_s"],
                            "note": "full 12 MP decode + GPU resize; the CPU path decodes at 1/8 scale (JPEG draft)"}
    except Exception as exc:
        report["nvjpeg"] = {"error": f"{type(exc).__name__}: {exc}"}
    log(f"nvjpeg: {report['nvjpeg']}")

    # 6. faces on the thumbnails
    try:
        from tagger.engine.faces import FaceDetector, model_path
        from tagger.engine.runtime import open_session

        thumbs = [np.asarray(d.small) for d in decoded[:128]]
        f_gpu = FaceDetector.open(threads=None)
        f_cpu = FaceDetector(open_session(model_path(), os.cpu_count(), [CPU]), CPU, 1)
        f_gpu.detect_many(thumbs[:8])
        res_g, res_c = f_gpu.detect_many(thumbs), f_cpu.detect_many(thumbs)
        same = sum(len(a) == len(b) for a, b in zip(res_g, res_c))
        box = lambda f, im: np.array([f.x, f.y, f.w, f.h]) * max(im.shape[:2])  # noqa: E731 - pixels of the thumb
        worst = max((float(np.max(np.abs(box(fa, im) - box(fb, im))))
                     for a, b, im in zip(res_g, res_c, thumbs) if len(a) == len(b) for fa, fb in zip(a, b)),
                    default=0.0)
        report["faces"] = {"provider": f_gpu.provider, "photos": len(thumbs), "same_face_count": same,
                           "faces_found": sum(map(len, res_c)), "max_box_diff_px": worst,
                           "cuda_images_per_s": rate(len(thumbs), timed(lambda: f_gpu.detect_many(thumbs), 2)),
                           "cpu_images_per_s": rate(len(thumbs), timed(lambda: f_cpu.detect_many(thumbs), 1))}
    except Exception as exc:
        report["faces"] = {"error": f"{type(exc).__name__}: {exc}"}
    log(f"faces: {report['faces']}")

    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text)
    ok = report["binding"]["cuda_bound"] and report["equality"]["within_1e-3"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
