"""Commands about the model and its versions: info, build-model, label(s), train, models."""

from __future__ import annotations

import json
import os
import sys
import time

from tagger import __version__
from tagger.cli.shared import (
    catalog_engine,
    dist_version,
    json_default,
    load_engine,
    notice,
    open_catalog,
    sigint_stops,
)
from tagger.errors import UsageError
from tagger.paths import default_db_path


def cmd_info(args, progress) -> int:
    import platform

    import fasttext  # noqa: F401  (version below)
    import numpy
    import PIL

    from tagger.engine.cpu_variant import cpu_model_line
    from tagger.engine.runtime import onnxruntime_version, requested_providers

    engine = load_engine(args, progress)
    progress.close()
    info = {
        "tagger": __version__,
        "python": platform.python_version(),
        "onnxruntime": onnxruntime_version(),
        "numpy": numpy.__version__,
        "pillow": PIL.__version__,
        "fasttext": dist_version("fasttext-wheel"),
        "torch": dist_version("torch"),
        "providers_requested": requested_providers(),
        "provider": engine.runtime.provider,
        "device": engine.runtime.device,
        "cpu_model": cpu_model_line(engine),
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


def cmd_build_model(args, progress) -> int:
    from tagger.engine.model_store import ensure_model

    folder, manifest = ensure_model(args.backbone, args.word_space, rebuild=args.rebuild, progress=progress,
                                    notice=notice)
    progress.close()
    print(f"model {folder.name} ready in {folder}")
    print(f"  word space {manifest['word_space']['id']} ({manifest['word_space']['dim']}-d)")
    for name, digest in manifest["artefacts"].items():
        print(f"  {digest[:16]}  {name}")
    return 0


def cmd_label(args, progress) -> int:
    from tagger.library.catalog_common import clean_label

    catalog = open_catalog(args, create=True)
    if args.rename is not None:  # `--rename ""` is a mistake to refuse, not "no rename"
        if not args.label:
            raise UsageError("--rename needs the old LABEL: tagger label FOLDER OLD --rename NEW")
        n = catalog.rename_label(args.label, clean_label(args.rename))
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
    rows = open_catalog(args).labels()
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

    catalog = open_catalog(args)
    engine = catalog_engine(args, progress, catalog, threads=os.cpu_count())
    try:
        with sigint_stops("cancelling: the active model stays as it was…") as stop:
            report = train_version(catalog, engine, progress=progress, should_stop=stop)
    except Cancelled:
        progress.close()
        print("training cancelled; the active model is unchanged", file=sys.stderr)
        return 130
    except RetrainError as exc:
        raise UsageError(str(exc)) from None
    progress.close()
    if args.json:
        print(json.dumps(report.to_json(), indent=2, default=json_default))
    else:
        labels = ", ".join(f"{k} ({v})" for k, v in report.labels.items())
        print(f"version {report.version} is active: {len(report.labels)} labels: {labels}")
        after = report.val_acc_after
        print(f"accuracy on the labelled photos: {report.val_acc_before:.3f} untrained -> "
              + (f"{after:.3f} learnt (each photo scored by a model that had not seen it; "
                 f"{report.calibration.get('source', '')})" if after == after else
                 "learnt (one photo a label: nothing to hold out)"))
        print(f"{report.photos_reprojected} photos re-projected; "
              + ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items()))
    return 0


def cmd_models(args, progress) -> int:
    from tagger.engine.version import version_folder
    from tagger.training.retrain import use_version

    catalog = open_catalog(args)
    if args.use is not None:
        engine = load_engine(args, progress)
        from tagger.engine.version import VersionError

        try:
            use_version(catalog, engine, args.use, progress=progress)
        except VersionError as exc:
            raise UsageError(str(exc)) from None
        progress.close()
    rows = catalog.versions()
    if args.json:
        print(json.dumps([{**r, "folder": str(r["folder"]) if r["folder"] else None} for r in rows], indent=2,
                         default=json_default, ensure_ascii=False))
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
              f"{m.get('val_acc_after', 0):.3f}"
              + ("" if (version_folder(catalog.path, r["folder"]) / "manifest.json").is_file() else
                 "  [its folder is gone: it cannot be used; see `tagger doctor`]"))
    return 0
