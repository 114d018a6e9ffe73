"""``tagger``: the command line over the same core the GUI uses.

Every command accepts ``--db PATH`` (the catalog; default in the user data directory) so scripts can be written once,
even for commands that do not touch the catalog yet.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tagger import __version__
from tagger.engine.backbone_specs import BACKBONES, DEFAULT_BACKBONE
from tagger.paths import default_db_path


def _common(p: argparse.ArgumentParser, top: bool = False) -> None:
    # SUPPRESS on sub-commands so `tagger --db X cmd` and `tagger cmd --db X` both work
    p.add_argument("--db", type=Path, default=None if top else argparse.SUPPRESS, metavar="PATH",
                   help=f"catalog location (default: {default_db_path()})")


def _model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backbone", choices=sorted(BACKBONES), default=DEFAULT_BACKBONE,
                   help="ImageNet backbone (default: %(default)s; lite2 is slower, see README)")
    p.add_argument("--word-space", type=Path, default=None, metavar="BIN",
                   help="a fastText .bin to use instead of the default GloVe-derived word space")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tagger", description="Find and tag photos by meaning.")
    parser.add_argument("--version", action="version", version=f"tagger {__version__}")
    _common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("info", help="versions, execution provider, model and word-space ids")
    _common(p)
    _model_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("build-model", help="build the word space and the ONNX model (done on first use anyway)")
    _common(p)
    _model_options(p)
    p.add_argument("--rebuild", action="store_true", help="rebuild even if a verified model exists")

    p = sub.add_parser("eval", help="zero-shot accuracy on a folder-per-class data set, with baselines")
    _common(p)
    _model_options(p)
    p.add_argument("dir", type=Path, help="data set folder: one sub-folder per class")
    p.add_argument("--labels", type=Path, help="TSV folder<TAB>label text (default: folder name, '_' as space)")
    p.add_argument("--images", type=Path, help="restrict to the 'folder/file' paths listed in this file")
    p.add_argument("--train", type=Path, metavar="LIST",
                   help="train a temporary head on these 'folder/file' photos first (never touches your models)")
    p.add_argument("--split", type=Path, metavar="TSV",
                   help="label<TAB>seen|unseen: train on seen labels only, report seen/unseen hit@k and GZSL H")
    p.add_argument("--no-baselines", action="store_true", help="with --train: skip the seed recipes (faster)")
    p.add_argument("--embedding", choices=("word", "vgse", "both"),
                   help="with --train and --split: the same zero-shot classifier on word-vector, VGSE (visually "
                        "grounded, Xu et al. 2022) or concatenated class embeddings, side by side with word")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("index", help="index photo folders (incremental; Ctrl-C stops cleanly, the next run resumes)")
    _common(p)
    _model_options(p)
    p.add_argument("folders", nargs="+", type=Path, metavar="FOLDER")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--workers", type=int, default=None, help="decoding threads (default: one per core)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("search", help="find photos by free text")
    _common(p)
    _model_options(p)
    p.add_argument("text")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--folder", type=Path, help="only photos inside this folder")
    p.add_argument("--json", action="store_true", help="print a JSON list of {path, score}")

    p = sub.add_parser("similar", help="photos that look like PHOTO")
    _common(p)
    _model_options(p)
    p.add_argument("photo", type=Path)
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--folder", type=Path)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("tags", help="tag cloud of a photo or a folder")
    _common(p)
    _model_options(p)
    p.add_argument("target", type=Path, metavar="PHOTO|FOLDER")
    p.add_argument("--limit", type=int, default=30)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("tag", help="add or remove a user tag")
    _common(p)
    p.add_argument("photo", type=Path)
    p.add_argument("--add", action="append", default=[], metavar="WORD")
    p.add_argument("--remove", action="append", default=[], metavar="WORD")

    p = sub.add_parser("label", help="name a folder's photos for training (`tagger train` learns the label)")
    _common(p)
    p.add_argument("folder", type=Path)
    p.add_argument("label", nargs="?", help="any text: a word, a name, \"grandma's house\"")
    p.add_argument("--remove", action="store_true", help="forget this folder's label")
    p.add_argument("--rename", metavar="NEW", help="rename LABEL (every folder carrying it) to NEW")

    p = sub.add_parser("labels", help="labelled folders with their photo counts")
    _common(p)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("train", help="teach Tagger the labelled folders: a new model version, made active")
    _common(p)
    _model_options(p)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("models", help="trained model versions; --use N switches (0: untrained)")
    _common(p)
    _model_options(p)
    p.add_argument("--use", type=int, metavar="N", help="make version N active (0: the untrained model)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("status", help="counts, failures with reasons, model and execution provider")
    _common(p)
    _model_options(p)
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=50, help="failures to list (0: all)")

    p = sub.add_parser("keywords", help="keywords in XMP sidecars: writing on/off, export now, label candidates")
    _common(p)
    _model_options(p)
    p.add_argument("--write", choices=["on", "off"], help="write your tags to XMP sidecars from now on (default off)")
    p.add_argument("--auto-threshold", metavar="W", help="also write automatic tags of weight >= W (0..1); 'off'")
    p.add_argument("--naming", choices=["full", "stem"],
                   help="new sidecars: full = photo.jpg.xmp (digiKam, darktable; default), stem = photo.xmp")
    p.add_argument("--export", nargs="*", type=Path, metavar="PATH",
                   help="write sidecars now for these photos/folders (none given: the whole library)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("doctor", help="check the catalog (integrity, orphans, missing files, thumbnails)")
    _common(p)
    p.add_argument("--repair", action="store_true", help="repair what can be repaired safely")
    p.add_argument("--json", action="store_true")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return 0
    from tagger.progress import TqdmProgress

    for stream in (sys.stdout, sys.stderr):
        # a file name that is not UTF-8 reaches us as lone surrogates: print them as \udcXX (in JSON that is the
        # string escape json.loads turns back into the exact name) instead of dying with UnicodeEncodeError
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass
    try:
        with TqdmProgress() as progress:
            return COMMANDS[args.command](args, progress)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # known failures become one readable line, never a traceback
        from tagger.engine.manifest import IntegrityError
        from tagger.engine.model_store import ModelError
        from tagger.library.catalog import CatalogError
        from tagger.research.evaluate import DatasetError

        if isinstance(exc, (DatasetError, ModelError, IntegrityError, CatalogError, UsageError, OSError)):
            print(f"tagger: error: {exc}", file=sys.stderr)
            return 2
        import sqlite3

        if isinstance(exc, sqlite3.OperationalError):  # locked by another program, disk full, read-only disk
            print(f"tagger: error: the catalog cannot be used right now ({exc})", file=sys.stderr)
            return 2
        raise


def _notice(message: str) -> None:
    print(f"tagger: {message}", file=sys.stderr)


def _engine(args, progress, threads: int | None = None):
    from tagger.engine.core import Engine

    return Engine.load(args.backbone, args.word_space, progress=progress, notice=_notice, threads=threads)


def cmd_info(args, progress) -> int:
    import platform

    import fasttext  # noqa: F401  (version below)
    import numpy
    import PIL

    from tagger.engine.runtime import onnxruntime_version, requested_providers

    engine = _engine(args, progress)
    progress.close()
    info = {
        "tagger": __version__,
        "python": platform.python_version(),
        "onnxruntime": onnxruntime_version(),
        "numpy": numpy.__version__,
        "pillow": PIL.__version__,
        "fasttext": _dist_version("fasttext-wheel"),
        "torch": _dist_version("torch"),
        "providers_requested": requested_providers(),
        "provider": engine.runtime.provider,
        "device": engine.runtime.device,
        "model": engine.model_id,
        "model_dir": str(engine.folder),
        "backbone": engine.manifest["backbone"]["name"],
        "word_space": engine.word_space_id,
        "word_space_path": str(engine.word_space.path),
        "word_space_dim": engine.word_space.dim,
        "catalog": str(args.db or default_db_path()),
    }
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        width = max(map(len, info))
        for key, value in info.items():
            print(f"{key:<{width}}  {value}")
    return 0


def _dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def cmd_build_model(args, progress) -> int:
    from tagger.engine.model_store import ensure_model

    folder, manifest = ensure_model(args.backbone, args.word_space, rebuild=args.rebuild, progress=progress,
                                    notice=_notice)
    progress.close()
    print(f"model {folder.name} ready in {folder}")
    print(f"  word space {manifest['word_space']['id']} ({manifest['word_space']['dim']}-d)")
    for name, digest in manifest["artefacts"].items():
        print(f"  {digest[:16]}  {name}")
    return 0


def cmd_eval(args, progress) -> int:
    from tagger.research.evaluate import evaluate, read_dataset

    dataset = read_dataset(args.dir, args.labels, args.images)
    # evaluation sets are small photos: decoding is cheap and the model is the bottleneck, so it gets every core
    engine = _engine(args, progress, threads=os.cpu_count())
    if args.train or args.split:
        from tagger.research.evaluate import DatasetError, evaluate_trained, read_list, read_split

        if not args.train:
            raise DatasetError("--split needs --train (the photos to train the seen labels on)")
        if args.embedding:
            from tagger.research.evaluate_vgse import evaluate_embeddings, format_embedding_eval, kinds_for

            result = evaluate_embeddings(engine, dataset, read_list(args.train),
                                         read_split(args.split) if args.split else None,
                                         kinds=kinds_for(args.embedding), batch_size=args.batch_size, progress=progress)
            progress.close()
            print(json.dumps(result, indent=2, default=_json_default) if args.json else format_embedding_eval(result))
            return 0
        result = evaluate_trained(engine, dataset, read_list(args.train), read_split(args.split) if args.split else None,
                                  batch_size=args.batch_size, progress=progress, baselines=not args.no_baselines)
        progress.close()
        for f in result["failures"]:
            print(f"skipped {f['file']}: {f['reason']}", file=sys.stderr)
        print(json.dumps(result, indent=2, default=_json_default) if args.json else format_trained_eval(result))
        return 0
    result = evaluate(engine, dataset, batch_size=args.batch_size, progress=progress)
    progress.close()
    for f in result["failures"]:
        print(f"skipped {f['file']}: {f['reason']}", file=sys.stderr)
    if args.json:
        print(json.dumps(result, indent=2, default=_json_default))
    else:
        print(format_eval(result))
    return 0


def format_trained_eval(r: dict[str, Any]) -> str:
    cal, tr = r["calibration"], r["training"]
    lines = [
        f"{r['dataset']} ({r['protocol']}): trained on {r['n_train_images']} photos of {r['n_seen_labels']} labels, "
        f"evaluated on {r['n_images']} photos; candidates: all {r['n_labels']} labels ({r['n_unseen_labels']} unseen)",
        f"training: {tr['epochs_run']} epochs (best {tr['best_epoch']}), {tr['seconds']:.1f} s; validation accuracy "
        f"{tr['val_acc_before']:.3f} -> {tr['val_acc_after']:.3f} on {tr['n_val']} held-out photos",
        f"calibration: lam {cal['lam']}, gamma {cal['gamma']} ({cal['source']})",
        "",
        f"{'method':<22}{'hit@1':>8}{'hit@5':>8}{'seen@1':>8}{'unseen@1':>9}{'H':>7}",
    ]
    for name, m in [("tagger (trained)", r)] + list(r["baselines"].items()):
        h = m.get("H")
        lines.append(f"{name:<22}{m['hit@1']:>8.3f}{m['hit@5']:>8.3f}{m.get('seen_hit@1', float('nan')):>8.3f}"
                     f"{m.get('unseen_hit@1', float('nan')):>9.3f}" + (f"{h:>7.3f}" if h is not None else ""))
    return "\n".join(lines)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return str(obj)


def format_eval(r: dict[str, Any]) -> str:
    ks = (1, 2, 5, 10, 20)
    lines = [
        f"{r['dataset']}: {r['n_images']} images ({r['n_failed']} skipped), {r['n_labels']} labels "
        f"({r['n_imagenet_labels']} are ImageNet classes)",
        f"model {r['model']} on {r['provider']}; feature extraction {r['images_per_second']:.1f} images/s",
        "",
        f"{'method':<24}" + "".join(f"{'hit@' + str(k):>8}" for k in ks) + f"{'sim@3':>8}" + f"{'inet@1':>8}{'other@1':>8}",
    ]
    rows = [("tagger (default)", r)] + list(r["baselines"].items())
    for name, m in rows:
        lines.append(f"{name:<24}" + "".join(f"{m['hit@' + str(k)]:>8.3f}" for k in ks) + f"{m['similarity@3']:>8.3f}"
                     + f"{m['imagenet']['hit@1']:>8.3f}{m['non_imagenet']['hit@1']:>8.3f}")
    lines.append(f"{'random pairs (control)':<24}" + " " * 40 + f"{r['controls']['similarity@3_random_pairs']:>8.3f}")
    lines.append("")
    lines.append("example tags (default model):")
    for f, tags in r["example_tags"].items():
        lines.append(f"  {f}: {', '.join(tags)}")
    return "\n".join(lines)


def _catalog(args):
    from tagger.library.catalog import Catalog

    return Catalog.open(getattr(args, "db", None))


def cmd_index(args, progress) -> int:
    from tagger.library.indexer import Indexer

    catalog = _catalog(args)
    engine = _catalog_engine(args, progress, catalog)
    with _sigint_stops("stopping after the current batch (Ctrl-C again to abort now)…") as stop:
        for folder in args.folders:
            if not folder.is_dir():
                raise UsageError(f"{folder} is not a folder")
        indexer = Indexer(catalog, engine, batch_size=args.batch_size, workers=args.workers)
        from tagger.library.keyword_sync import load_settings, sidecar_writer

        indexer.on_indexed = sidecar_writer(
            catalog, _keyword_models(args, progress, catalog, load_settings(catalog), engine),
            on_failure=lambda path, why: print(f"tagger: could not write the sidecar of {path}: {why}", file=sys.stderr))
        stats = indexer.index(args.folders, progress=progress, should_stop=stop)
    progress.close()
    summary = {k: v for k, v in stats.__dict__.items()}
    summary["images_per_second"] = round(stats.images_per_second, 2)
    summary["counts"] = catalog.counts()
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print(f"{stats.scanned} photos found: {stats.new} new, {stats.changed} changed, {stats.unchanged} unchanged; "
              f"{stats.indexed} indexed, {stats.failed} failed, {stats.moved} moved, {stats.gone} gone "
              f"in {stats.seconds:.1f} s ({stats.images_per_second:.1f} images/s)")
        if stats.keywords:
            print(f"  keywords re-read for {stats.keywords} unchanged photos whose XMP sidecar changed")
        for folder, why in stats.skipped_dirs:
            print(f"  could not read folder {folder}: {why}")
        if stats.cancelled:
            print("stopped early: run the same command again to resume")
        c = summary["counts"]
        print(f"catalog: {c['indexed']} indexed, {c['failed']} failed, {c['gone']} gone  ({catalog.path})")
    return 130 if stats.cancelled else 0


@contextlib.contextmanager
def _sigint_stops(message: str):
    """The first Ctrl-C asks the job to stop cleanly (the yielded callable turns true), a second one aborts."""
    import signal

    requested = {"stop": False}

    def on_sigint(signum, frame):
        if requested["stop"]:
            raise KeyboardInterrupt
        requested["stop"] = True
        print("\n" + message, file=sys.stderr)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield lambda: requested["stop"]
    finally:
        signal.signal(signal.SIGINT, previous)


class UsageError(ValueError):
    """A command-line argument that cannot work (missing folder, photo not in the catalog)."""


def _library(args, progress):
    from tagger.library.search import Library

    catalog = _catalog(args)
    return Library(catalog, _catalog_engine(args, progress, catalog))


def _catalog_engine(args, progress, catalog, threads: int | None = None):
    """The engine with the catalog's active trained version (if any) switched on."""
    from tagger.training.retrain import activate_catalog_version

    engine = _engine(args, progress, threads)
    activate_catalog_version(catalog, engine, notice=_notice)
    return engine


def cmd_search(args, progress) -> int:
    lib = _library(args, progress)
    hits = lib.search(args.text, args.limit, args.folder)
    progress.close()
    if args.json:
        print(json.dumps([h.to_json() for h in hits], indent=2, ensure_ascii=False))
    else:
        if not hits:
            print("no photos indexed yet: run `tagger index FOLDER` first" if not len(lib.table().ids) else "no match")
        for h in hits:
            print(f"{h.score:7.3f}  {h.path}")
    return 0


def cmd_similar(args, progress) -> int:
    lib = _library(args, progress)
    try:
        hits = lib.similar(args.photo, args.limit, args.folder)
    except LookupError as exc:
        raise UsageError(str(exc)) from None
    progress.close()
    if args.json:
        print(json.dumps([h.to_json() for h in hits], indent=2, ensure_ascii=False))
    else:
        for h in hits:
            print(f"{h.score:7.3f}  {h.path}")
    return 0


def cmd_tags(args, progress) -> int:
    lib = _library(args, progress)
    catalog = lib.catalog
    target = args.target
    if target.is_dir():
        ids = catalog.photos_under(target)
        if not ids:
            raise UsageError(f"no indexed photos under {target}: run `tagger index` on it first")
    else:
        pid = catalog.find_photo(target)
        if pid is None:
            raise UsageError(f"{target} is not in the catalog: run `tagger index` on its folder first")
        ids = [pid]
    cloud = lib.tag_cloud(ids, args.limit)
    user: dict[str, int] = {}
    for tags in catalog.user_tags(ids).values():
        for t in tags:
            user[t] = user.get(t, 0) + 1
    progress.close()
    if args.json:
        print(json.dumps({"photos": len(ids), "tags": [t.to_json() for t in cloud],
                          "user_tags": [{"tag": t, "photos": n} for t, n in sorted(user.items())]},
                         indent=2, ensure_ascii=False))
    else:
        print(f"{len(ids)} photo(s)")
        print("automatic: " + ", ".join(f"{t.tag} ({t.weight:.2f})" for t in cloud))
        print("user:      " + (", ".join(f"{t}" + (f" ({n})" if len(ids) > 1 else "") for t, n in sorted(user.items()))
                               or "(none)"))
    return 0


def cmd_tag(args, progress) -> int:
    catalog = _catalog(args)
    pid = catalog.find_photo(args.photo)
    if pid is None:
        raise UsageError(f"{args.photo} is not in the catalog: run `tagger index` on its folder first")
    for word in args.add:
        word = " ".join(word.split())
        if word:
            catalog.add_user_tag(pid, word)
    for word in args.remove:
        if not catalog.remove_user_tag(pid, " ".join(word.split())):
            print(f"{args.photo} had no user tag {word!r}", file=sys.stderr)
    print(", ".join(catalog.user_tags([pid]).get(pid, [])) or "(no user tags)")
    _write_sidecars(args, progress, catalog, [pid])
    return 0


def _write_sidecars(args, progress, catalog, photo_ids) -> None:
    """With keyword writing on, put these photos' tags into their XMP sidecars now."""
    from tagger.library.keyword_sync import export_keywords, load_settings

    settings = load_settings(catalog)
    if not settings.enabled:
        return
    # no engine here: automatic keywords written before are kept as they are (index and --export update them)
    report = export_keywords(catalog, photo_ids, settings=settings)
    for path, reason in report.failed:
        print(f"tagger: could not write the sidecar of {path}: {reason}", file=sys.stderr)


def _keyword_models(args, progress, catalog, settings, engine=None) -> list[str]:
    """Models whose automatic tags may be written: only needed (and the engine only loaded) with a threshold."""
    if settings.auto_threshold is None:
        return []
    engine = engine or _catalog_engine(args, progress, catalog)
    version = getattr(engine, "version", None)
    return [engine.model_id] + ([version.model_id] if version is not None else [])


def cmd_status(args, progress) -> int:
    catalog = _catalog(args)
    counts = catalog.counts()
    failures = catalog.failures(None if args.limit == 0 else args.limit)
    info = {
        **counts,
        "catalog": str(catalog.path),
        "schema_version": catalog.schema_version,
        "roots": [str(r.path) for r in catalog.roots()],
        "failures": [{"path": str(p), "reason": r} for p, r in failures],
        "keyword_writing": _keyword_settings(catalog).to_json(),
    }
    engine = _catalog_engine(args, progress, catalog)
    progress.close()
    info["model"] = engine.model_id
    info["model_version"] = engine.version.number if engine.version else 0
    info["labels"] = len({row["label"] for row in catalog.labels()})
    info["provider"] = engine.runtime.provider
    info["device"] = engine.runtime.device
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
    else:
        print(f"catalog {info['catalog']} (schema {info['schema_version']})")
        print(f"  {counts['indexed']} indexed, {counts['failed']} failed, {counts['gone']} gone")
        trained = f", trained version {info['model_version']}" if info["model_version"] else ", untrained"
        print(f"  model {info['model']}{trained} on {info['provider']}")
        for r in info["roots"]:
            print(f"  library folder {r}")
        print(f"  keyword writing: {_keyword_settings(catalog).describe()}")
        if failures:
            print("failures:")
            for p, r in failures:
                print(f"  {p}: {r}")
    return 0


def cmd_label(args, progress) -> int:
    from tagger.library.catalog import clean_label

    catalog = _catalog(args)
    if args.rename:
        if not args.label:
            raise UsageError("--rename needs the old LABEL: tagger label FOLDER OLD --rename NEW")
        n = catalog.rename_label(args.label, args.rename)
        print(f"renamed {args.label!r} to {args.rename!r} on {n} folder(s); run `tagger train` to learn the new name")
        return 0 if n else 1
    if args.remove:
        if not catalog.remove_label(args.folder):
            raise UsageError(f"{args.folder} has no label")
        print(f"{args.folder}: label removed (run `tagger train` to update the model)")
        return 0
    if not args.label:
        raise UsageError("give a LABEL (or --remove)")
    if not args.folder.is_dir():
        raise UsageError(f"{args.folder} is not a folder")
    catalog.set_label(args.folder, args.label)
    label = clean_label(args.label)
    n = len(catalog.photos_under(args.folder))
    print(f"{args.folder}: {label!r} ({n} indexed photos)" + ("" if n else "; index the folder before training"))
    return 0


def cmd_labels(args, progress) -> int:
    rows = _catalog(args).labels()
    if args.json:
        print(json.dumps([{"label": r["label"], "folder": str(r["folder"]), "photos": r["photos"]} for r in rows],
                         indent=2, ensure_ascii=False))
    elif not rows:
        print("no labelled folders: `tagger label FOLDER LABEL`")
    else:
        for r in rows:
            print(f"{r['label']:<30} {r['photos']:>6} photos  {r['folder']}")
    return 0


def cmd_train(args, progress) -> int:
    from tagger.progress import Cancelled
    from tagger.training.retrain import RetrainError, train_version

    catalog = _catalog(args)
    engine = _catalog_engine(args, progress, catalog, threads=os.cpu_count())
    try:
        with _sigint_stops("cancelling: the active model stays as it was…") as stop:
            report = train_version(catalog, engine, progress=progress, should_stop=stop)
    except Cancelled:
        progress.close()
        print("training cancelled; the active model is unchanged", file=sys.stderr)
        return 130
    except RetrainError as exc:
        raise UsageError(str(exc)) from None
    progress.close()
    if args.json:
        print(json.dumps(report.to_json(), indent=2, default=_json_default))
    else:
        labels = ", ".join(f"{k} ({v})" for k, v in report.labels.items())
        print(f"version {report.version} is active: {len(report.labels)} labels: {labels}")
        print(f"held-out accuracy on the labels: {report.val_acc_before:.3f} before -> {report.val_acc_after:.3f} "
              f"after ({len(report.history)} epochs); calibration lam {report.calibration['lam']}, "
              f"gamma {report.calibration['gamma']} ({report.calibration['source']})")
        print(f"{report.photos_reprojected} photos re-projected; "
              + ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items()))
    return 0


def cmd_models(args, progress) -> int:
    from tagger.training.retrain import use_version

    catalog = _catalog(args)
    if args.use is not None:
        engine = _engine(args, progress)
        from tagger.training.versions import VersionError

        try:
            use_version(catalog, engine, args.use, progress=progress)
        except VersionError as exc:
            raise UsageError(str(exc)) from None
        progress.close()
    rows = catalog.versions()
    if args.json:
        print(json.dumps([{**r, "folder": str(r["folder"]) if r["folder"] else None} for r in rows], indent=2,
                         default=_json_default, ensure_ascii=False))
        return 0
    for r in rows:
        mark = "*" if r["active"] else " "
        if r["version"] == 0:
            print(f"{mark} 0  untrained (zero-shot ConSE)")
            continue
        m = r["metrics"]
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["created_at"]))
        print(f"{mark} {r['version']:<2} {when}  {len(r['labels'])} labels ({', '.join(r['labels'][:6])}"
              f"{', …' if len(r['labels']) > 6 else ''}); held-out accuracy {m.get('val_acc_before', 0):.3f} -> "
              f"{m.get('val_acc_after', 0):.3f}")
    return 0


def _keyword_settings(catalog):
    from tagger.library.keyword_sync import load_settings

    return load_settings(catalog)


def cmd_keywords(args, progress) -> int:
    from tagger.library.keyword_sync import KEEP, export_keywords, label_candidates, save_settings

    catalog = _catalog(args)
    threshold = KEEP
    if args.auto_threshold is not None:
        if args.auto_threshold.lower() in ("off", "none", ""):
            threshold = None
        else:
            try:
                threshold = float(args.auto_threshold)
            except ValueError:
                raise UsageError(f"--auto-threshold takes a weight between 0 and 1 or 'off', not "
                                 f"{args.auto_threshold!r}") from None
    try:
        settings = save_settings(catalog, enabled=None if args.write is None else args.write == "on",
                                 auto_threshold=threshold, naming=args.naming) \
            if (args.write or args.naming or threshold is not KEEP) else _keyword_settings(catalog)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    out: dict[str, Any] = {"keyword_writing": settings.to_json()}
    if args.export is not None:
        if args.export:
            ids = sorted({pid for target in args.export for pid in catalog.photos_under(target)})
            if not ids:
                raise UsageError("no indexed photos there: run `tagger index` first")
        else:
            ids = None
        report = export_keywords(catalog, ids, models=_keyword_models(args, progress, catalog, settings),
                                 settings=settings, progress=progress)
        out["export"] = report.to_json()
    out["label_candidates"] = [{"keyword": t, "photos": n} for t, n in label_candidates(catalog)]
    progress.close()
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0 if not out.get("export", {}).get("failed") else 1
    print(f"keyword writing: {settings.describe()}")
    if args.write == "on" and "export" not in out:
        print("  tags you change from now on are written; `tagger keywords --export` writes the ones you have now")
    if "export" in out:
        e = out["export"]
        print(f"exported {e['photos']} photos: {e['written']} sidecars written, {e['unchanged']} unchanged, "
              f"{e['missing']} files missing, {len(e['failed'])} failed")
        for f in e["failed"]:
            print(f"  {f['path']}: {f['reason']}")
    if out["label_candidates"]:
        print("keywords from your files that could be training labels (photos):")
        print("  " + ", ".join(f"{c['keyword']} ({c['photos']})" for c in out["label_candidates"][:40]))
    return 0 if not out.get("export", {}).get("failed") else 1


def cmd_doctor(args, progress) -> int:
    from tagger.library.doctor import diagnose, format_report

    report = diagnose(_catalog(args), repair=args.repair, progress=progress)
    progress.close()
    print(json.dumps(report.to_json(), indent=2, ensure_ascii=False) if args.json else format_report(report))
    return 0 if report.healthy else 1


COMMANDS = {"info": cmd_info, "build-model": cmd_build_model, "eval": cmd_eval, "index": cmd_index,
            "search": cmd_search, "similar": cmd_similar, "tags": cmd_tags, "tag": cmd_tag, "status": cmd_status,
            "label": cmd_label, "labels": cmd_labels, "train": cmd_train, "models": cmd_models,
            "keywords": cmd_keywords, "doctor": cmd_doctor}

if __name__ == "__main__":
    raise SystemExit(main())
