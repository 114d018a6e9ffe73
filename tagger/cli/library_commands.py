"""Commands over the photo library: index, search, similar, tags, tag, status, doctor, folders."""

from __future__ import annotations

import json
import sys

from tagger.cli.keyword_commands import keyword_models, keyword_settings, write_sidecars
from tagger.cli.shared import catalog_engine, open_catalog, open_library, sigint_stops
from tagger.errors import UsageError


def cmd_index(args, progress) -> int:  # the one command that creates a catalog
    from tagger.library.indexer import Indexer

    catalog = open_catalog(args, create=True)
    engine = catalog_engine(args, progress, catalog)
    with sigint_stops("stopping after the current batch (Ctrl-C again to abort now)…") as stop:
        for folder in args.folders:
            if not folder.is_dir():
                raise UsageError(f"{folder} is not a folder")
        indexer = Indexer(catalog, engine, batch_size=args.batch_size, workers=args.workers, exclude=args.exclude,
                          people=not args.no_people, text=not args.no_text)
        from tagger.library.keyword_sync import load_settings, sidecar_writer

        indexer.on_indexed = sidecar_writer(
            catalog, keyword_models(args, progress, catalog, load_settings(catalog), engine),
            on_failure=lambda path, why: print(f"tagger: could not write the sidecar of {path}: {why}",
                                               file=sys.stderr))
        stats = indexer.index(args.folders, progress=progress, should_stop=stop)
    progress.close()
    summary = {k: v for k, v in stats.__dict__.items()}
    summary["images_per_second"] = round(stats.images_per_second, 2)
    summary["counts"] = catalog.counts()
    summary["keyword_conflicts"] = len(catalog.keyword_conflicts())
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print(f"{stats.scanned} photos found: {stats.new} new, {stats.changed} changed, {stats.unchanged} unchanged; "
              f"{stats.indexed} indexed, {stats.failed} failed, {stats.moved} moved, {stats.gone} gone "
              f"in {stats.seconds:.1f} s ({stats.images_per_second:.1f} images/s)")
        looked = ([f"looked for faces in {stats.faces} photo(s) indexed before"] if stats.faces else []) + (
            [f"read the text of {stats.texts} photo(s) where text was likely"] if stats.texts else [])
        if looked:
            print("  " + "; ".join(looked))
        if stats.keywords:
            print(f"  keywords re-read for {stats.keywords} unchanged photos whose XMP sidecar changed")
        if summary["keyword_conflicts"]:
            print(f"  {summary['keyword_conflicts']} keyword(s) changed both in Tagger and in another program, left "
                  "as each side has them: `tagger status` lists them")
        for old, new in stats.relinked:
            print(f"  library folder {old} is now {new}: its photos, tags and labels follow")
        if stats.excluded:
            print(f"  left out by name: {stats.excluded} files or folders (editor backups and temp files, "
                  ".taggerignore, --exclude)")
        for folder, why in stats.skipped_dirs:
            print(f"  could not read folder {folder}: {why} (unavailable: its photos are kept as they were)")
        if stats.thumbnails_failed:
            n = stats.thumbnails_failed
            print(f"  {n} thumbnail{'s' if n > 1 else ''} could not be written (a full disk?): free some space, then "
                  "`tagger doctor --repair` makes them")
        if stats.cancelled:
            print("stopped early: run the same command again to resume")
        c = summary["counts"]
        print(f"catalog: {c['indexed']} indexed, {c['failed']} failed, {c['gone']} gone  ({catalog.path})")
    return 130 if stats.cancelled else 0


WHY_SAID = {"tag": "tag", "label": "label", "faces": "faces", "text": "text in the photo"}


def cmd_search(args, progress) -> int:
    args.tag = [t for t in (" ".join(str(w).split()) for w in args.tag) if t]  # `--tag ""` filters nothing
    if not args.text.strip() and not args.tag and not args.people:  # blank text finds nothing: not worth exit 2
        progress.close()
        print("[]" if args.json else "nothing to search for: give some words, --tag WORD or --people")
        return 0
    lib = open_library(args, progress)
    result = lib.find(args.text, args.limit, args.folder, args.tag, people=args.people)
    progress.close()
    hits = [h for h in result.hits if h.match] if args.matches_only else result.hits
    if args.json:
        print(json.dumps([h.to_json() for h in hits], indent=2, ensure_ascii=False))
        return 0
    if not len(lib.table().ids):
        print("no photos indexed yet: run `tagger index FOLDER` first")
        return 0
    what = " and ".join(filter(None, [repr(args.text.strip()) if args.text.strip() else "",
                                      ", ".join(f"tag {t!r}" for t in result.tags),
                                      "a face" if args.people else ""]))
    if result.matches:
        print(f"{result.matches} {'photos match' if result.matches != 1 else 'photo matches'} {what} "
              f"(of {result.considered} searched)")
    else:
        print(f"no photo matches {what}" + (f"; try: {', '.join(result.suggestions)}" if result.suggestions else ""))
    weaker_shown = False
    for h in hits:
        if not h.match and not weaker_shown:
            print("weaker results:")
            weaker_shown = True
        print(f"{h.score:7.3f}  {h.path}" + (f"  ({WHY_SAID[h.why]})" if h.match and h.why in WHY_SAID else ""))
    return 0


def cmd_similar(args, progress) -> int:
    lib = open_library(args, progress)
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
    lib = open_library(args, progress)
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
    faces = catalog.faces(ids) if len(ids) == 1 else {}
    printed = catalog.printed_text(ids) if len(ids) == 1 else {}
    text = "\n".join(line.text for lines in printed.values() for line in lines)
    progress.close()
    if args.json:
        out = {"photos": len(ids), "tags": [t.to_json() for t in cloud],
               "user_tags": [{"tag": t, "photos": n} for t, n in sorted(user.items())]}
        if len(ids) == 1:
            out["faces"] = [{k: round(v, 4) for k, v in vars(f).items()} for fs in faces.values() for f in fs]
            out["text"] = text
        print(json.dumps(out, indent=2, ensure_ascii=False))
    else:
        print(f"{len(ids)} photo(s)")
        print("automatic: " + ", ".join(f"{t.tag} ({t.weight:.2f})" for t in cloud))
        print("user:      " + (", ".join(f"{t}" + (f" ({n})" if len(ids) > 1 else "") for t, n in sorted(user.items()))
                               or "(none)"))
        if faces:
            print(f"faces:     {sum(len(f) for f in faces.values())}")
        if text:
            print("text:      " + " / ".join(text.splitlines())[:300])
    return 0


def cmd_tag(args, progress) -> int:
    """Add and remove tags on photos and whole folders in one catalog transaction: a bad path refuses all of it."""
    add, remove = (list(dict.fromkeys(t for t in map(_tidy, words) if t)) for words in (args.add, args.remove))
    if not add and not remove:
        raise UsageError("nothing to do: say --add WORD and/or --remove WORD (each may be repeated; blank words "
                         "are ignored)")
    both = [t for t in add if t in remove]
    if both:
        raise UsageError(f"{both[0]!r} is both added and removed: give it to --add or to --remove, not both")
    catalog = open_catalog(args)
    ids = [pid for path in args.paths for pid in _indexed_photos(catalog, path)]
    edit = catalog.edit_user_tags(ids, add, remove)
    write_sidecars(args, progress, catalog, edit.changed_ids)
    progress.close()
    if args.json:
        print(json.dumps(edit.to_json(), indent=2, ensure_ascii=False))
        return 0
    print(_describe_edit(edit, add, remove))
    for word in remove:
        if word not in edit.removed_per_tag():
            print(f"tagger: none of the {len(edit.photo_ids)} photo(s) had the user tag {word!r}", file=sys.stderr)
    if len(edit.photo_ids) == 1:
        pid = edit.photo_ids[0]
        print("tags: " + (", ".join(catalog.user_tags([pid]).get(pid, [])) or "(no user tags)"))
    return 0


def _tidy(word: str) -> str:
    """The tag as stored (``clean_tag``), or '' for one of nothing but spaces: nothing to add or remove."""
    from tagger.library.tag_text import clean_tag

    try:
        return clean_tag(word)
    except ValueError:
        return ""


def _indexed_photos(catalog, path) -> list[int]:
    """The indexed photo at ``path``, or every indexed photo under the folder ``path``; UsageError naming it when
    there is none (checked for every path before anything changes)."""
    ids = catalog.photos_under(path)
    if ids:
        return ids
    if path.is_dir():
        raise UsageError(f"no indexed photos in {path}: run `tagger index` on it first (nothing was changed)")
    if path.exists():
        raise UsageError(f"{path} is not an indexed photo: run `tagger index` on its folder first "
                         "(nothing was changed)")
    raise UsageError(f"{path} does not exist and is not in the catalog: check the path, or run `tagger index` on "
                     "its folder first (nothing was changed)")


def _describe_edit(edit, add: list[str], remove: list[str]) -> str:
    """One line of real counts: 'added 'beach' to 12 photos, removed 'old' from 3 photos (of 57 photos)'."""
    def photos(n: int) -> str:
        return f"{n} photo{'' if n == 1 else 's'}"

    added, removed = edit.added_per_tag(), edit.removed_per_tag()
    parts = [f"added {t!r} to {photos(added.get(t, 0))}" for t in add]
    parts += [f"removed {t!r} from {photos(removed.get(t, 0))}" for t in remove]
    return ", ".join(parts) + f" (of {photos(len(edit.photo_ids))})"


def cmd_status(args, progress) -> int:
    catalog = open_catalog(args)
    counts = catalog.counts()
    failures = catalog.failures(None if args.limit == 0 else args.limit)
    info = {
        **counts,
        "catalog": str(catalog.path),
        "schema_version": catalog.schema_version,
        "roots": [str(r.path) for r in catalog.roots()],
        "failures": [{"path": str(p), "reason": r} for p, r in failures],
        "keyword_writing": keyword_settings(catalog).to_json(),
        "keyword_conflicts": [{"path": str(p), **c.to_json()} for _, p, c in catalog.keyword_conflicts()],
        "detections": catalog.detection_counts(),
    }
    recorded = None if args.json or args.verbose else _model_on_record(args, catalog)
    if recorded is not None:  # what the model is, from its manifest and the catalog: no runtime loaded (issue 16)
        info["model"], info["model_version"] = recorded
    else:
        engine = catalog_engine(args, progress, catalog)
        info["model"] = engine.model_id
        info["model_version"] = engine.version.number if engine.version else 0
        info["provider"] = engine.runtime.provider
        info["device"] = engine.runtime.device
        from tagger.engine.cpu_variant import cpu_model_line

        info["cpu_model"] = cpu_model_line(engine)
    progress.close()
    info["labels"] = len({row["label"] for row in catalog.labels()})
    if args.json:
        print(json.dumps(info, indent=2, ensure_ascii=False))
    else:
        print(f"catalog {info['catalog']} (schema {info['schema_version']})")
        print(f"  {counts['indexed']} indexed, {counts['failed']} failed, {counts['gone']} gone")
        trained = f", trained version {info['model_version']}" if info["model_version"] else ", untrained"
        provider = f" on {info['provider']}" if "provider" in info else ""
        print(f"  model {info['model']}{trained}{provider}")
        if "cpu_model" in info:
            print(f"  CPU model: {info['cpu_model']}")
        d = info["detections"]
        print(f"  faces in {d['photos_with_faces']} photos ({d['looked_for_faces']} looked at); printed text in "
              f"{d['photos_with_text']} photos")
        for r in info["roots"]:
            print(f"  library folder {r}")
        print(f"  keyword writing: {keyword_settings(catalog).describe()}")
        for _, p, c in catalog.keyword_conflicts():
            print(f"  keyword conflict in {p}: {c.describe()}")
        if failures:
            print("failures:")
            for p, r in failures:
                print(f"  {p}: {r}")
    return 0


def _model_on_record(args, catalog) -> tuple[str, int] | None:
    """(model id, active version number) read from the built model's manifest and the catalog's version record,
    without hashing the model files or starting onnxruntime (~0.5 s of a ~0.6 s `status`); None when either is not
    plainly there (not built yet, a folder gone, a user's word space): then the engine is loaded, and says why."""
    from tagger.engine.manifest import IntegrityError, read_manifest
    from tagger.engine.model_store import DEFAULT_TOP_T, model_folder
    from tagger.engine.version import version_folder
    from tagger.engine.wordspace_build import DEFAULT_WORD_SPACE_ID

    if args.word_space is not None:
        return None
    folder = model_folder(args.backbone, DEFAULT_WORD_SPACE_ID, DEFAULT_TOP_T)
    try:
        read_manifest(folder)
    except IntegrityError:
        return None
    number = catalog.active_version()
    if number:
        row = next((v for v in catalog.versions() if v["version"] == number), None)
        if row is None or not (version_folder(catalog.path, row["folder"]) / "manifest.json").is_file():
            return None
    return folder.name, number


def cmd_doctor(args, progress) -> int:
    from tagger.library.doctor import diagnose, format_report

    report = diagnose(open_catalog(args), repair=args.repair, progress=progress)
    progress.close()
    print(json.dumps(report.to_json(), indent=2, ensure_ascii=False) if args.json else format_report(report))
    return 0 if report.healthy else 1


def cmd_folders(args, progress) -> int:
    from tagger.library.folders import list_folders, relink_folder, remove_folder

    catalog = open_catalog(args)
    progress.close()
    if args.remove is not None:
        root, n = remove_folder(catalog, args.remove)
        photos = sum(n.get(s, 0) for s in ("indexed", "failed", "gone"))
        print(f"removed library folder {root.path}: {photos} photos and {n.get('labels', 0)} labels forgotten "
              "(the files are not touched)")
        return 0
    if args.relink is not None:
        root, new, done = relink_folder(catalog, *args.relink)
        merged = f", {done.merged} of them folded into the copy already indexed there" if done.merged else ""
        print(f"relinked library folder {root.path} to {new}: {done.photos} photos{merged}, {done.labels} labels "
              "follow; run `tagger index` on it to bring it up to date")
        return 0
    folders = list_folders(catalog)
    if args.json:
        print(json.dumps([f.to_json() for f in folders], indent=2, ensure_ascii=False))
    elif not folders:
        print("no library folders yet: `tagger index FOLDER` adds one")
    for f in [] if args.json else folders:
        state = "" if f.available else f"  UNAVAILABLE: {f.reason}; its photos are kept"
        print(f"{f.path}: {f.indexed} indexed, {f.failed} failed, {f.gone} gone, {f.labels} labels{state}")
    return 0
