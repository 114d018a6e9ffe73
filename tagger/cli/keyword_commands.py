"""``tagger keywords``: keyword writing settings, export to XMP sidecars, keywords from files."""

from __future__ import annotations

import json
import sys
from typing import Any

from tagger.cli.shared import catalog_engine, open_catalog
from tagger.errors import UsageError


def write_sidecars(args, progress, catalog, photo_ids) -> None:
    """With keyword writing on, put these photos' tags into their XMP sidecars now; either way, say which keywords
    removed in Tagger the files still carry (other programs still show them)."""
    from tagger.library.keyword_sync import export_keywords, kept_in_files, load_settings

    settings = load_settings(catalog)
    if settings.enabled:
        # no engine here: automatic keywords written before are kept as they are (index and --export update them)
        report = export_keywords(catalog, photo_ids, settings=settings)
        for path, reason in report.failed:
            print(f"tagger: could not write the sidecar of {path}: {reason}", file=sys.stderr)
        for path, conflict in report.conflicts:
            print(f"tagger: {path}: {conflict.describe()}", file=sys.stderr)
    for note in kept_in_files(catalog, photo_ids, settings):
        print(f"tagger: {note}", file=sys.stderr)


def keyword_models(args, progress, catalog, settings, engine=None) -> list[str]:
    """Models whose automatic tags may be written: only needed (and the engine only loaded) with a threshold."""
    if settings.auto_threshold is None:
        return []
    engine = engine or catalog_engine(args, progress, catalog)
    return engine.active_model_ids


def keyword_settings(catalog):
    from tagger.library.keyword_sync import load_settings

    return load_settings(catalog)


def cmd_keywords(args, progress) -> int:
    from tagger.library.keyword_sync import KEEP, export_keywords, label_candidates, save_settings

    catalog = open_catalog(args)
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
            if (args.write or args.naming or threshold is not KEEP) else keyword_settings(catalog)
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
        report = export_keywords(catalog, ids, models=keyword_models(args, progress, catalog, settings),
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
        for path, conflict in report.conflicts:
            print(f"  {path}: {conflict.describe()}")
    if out["label_candidates"]:
        print("keywords from your files that could be training labels (photos):")
        print("  " + ", ".join(f"{c['keyword']} ({c['photos']})" for c in out["label_candidates"][:40]))
    return 0 if not out.get("export", {}).get("failed") else 1
