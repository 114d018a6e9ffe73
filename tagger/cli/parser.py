"""The ``tagger`` argument parser: one small function per command, so each command's flags read together."""

from __future__ import annotations

import argparse
from pathlib import Path

from tagger import __version__
from tagger.cli.shared import add_common_options, add_model_options, at_least


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tagger", description="Find and tag photos by meaning.")
    parser.add_argument("--version", action="version", version=f"tagger {__version__}")
    add_common_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_info(sub)
    _add_build_model(sub)
    _add_eval(sub)
    _add_index(sub)
    _add_search(sub)
    _add_similar(sub)
    _add_tags(sub)
    _add_tag(sub)
    _add_label(sub)
    _add_labels(sub)
    _add_train(sub)
    _add_models(sub)
    _add_status(sub)
    _add_keywords(sub)
    _add_doctor(sub)
    _add_folders(sub)
    return parser


def _add_info(sub) -> None:
    p = sub.add_parser("info", help="versions, execution provider, model and word-space ids")
    add_common_options(p)
    add_model_options(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _add_build_model(sub) -> None:
    p = sub.add_parser("build-model", help="build the word space and the ONNX model (done on first use anyway)")
    add_common_options(p)
    add_model_options(p)
    p.add_argument("--rebuild", action="store_true", help="rebuild even if a verified model exists")


def _add_eval(sub) -> None:
    p = sub.add_parser("eval", help="zero-shot accuracy on a folder-per-class data set, with baselines")
    add_common_options(p)
    add_model_options(p)
    p.add_argument("dir", type=Path, help="data set folder: one sub-folder per class")
    p.add_argument("--labels", type=Path, help="TSV folder<TAB>label text (default: folder name, '_' as space)")
    p.add_argument("--images", type=Path, help="restrict to the 'folder/file' paths listed in this file")
    p.add_argument("--train", type=Path, metavar="LIST",
                   help="fit a temporary label scorer on these 'folder/file' photos first (never touches your models)")
    p.add_argument("--split", type=Path, metavar="TSV",
                   help="label<TAB>seen|unseen: train on seen labels only, report seen/unseen hit@k and GZSL H")
    p.add_argument("--shots", type=at_least(1), metavar="K",
                   help="with --train: train on K photos per label drawn from LIST (few-shot), several seeded draws")
    p.add_argument("--draws", type=at_least(1), default=5, metavar="N",
                   help="with --shots: how many seeded draws (default 5); figures are mean and spread over them")
    p.add_argument("--seed", type=at_least(0), default=0, help="with --train: seed of the fits and draws (default 0)")
    p.add_argument("--no-baselines", action="store_true",
                   help="with --train: skip the residual head and the seed recipes (faster; nearest-class-mean and "
                        "logistic regression always run)")
    p.add_argument("--embedding", choices=("word", "vgse", "both"),
                   help="with --train and --split: the same zero-shot classifier on word-vector, VGSE (visually "
                        "grounded, Xu et al. 2022) or concatenated class embeddings, side by side with word")
    p.add_argument("--batch-size", type=at_least(1), default=32)
    p.add_argument("--json", action="store_true", help="print one JSON object")


def _add_index(sub) -> None:
    p = sub.add_parser("index", help="index photo folders (incremental; Ctrl-C stops cleanly, the next run resumes)")
    add_common_options(p)
    add_model_options(p)
    p.add_argument("folders", nargs="+", type=Path, metavar="FOLDER")
    p.add_argument("--batch-size", type=at_least(1), default=32)
    p.add_argument("--workers", type=at_least(1), default=None, help="decoding threads (default: one per core)")
    p.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                   help="leave out files and folders: a name (`*.psd`, `Trash`) or a path from the folder "
                        "(`2019/raw`); repeatable. To leave them out for good, put the globs in a .taggerignore file")
    p.add_argument("--no-people", action="store_true",
                   help="do not look for faces in this run (photos not looked at are looked at by a later run)")
    p.add_argument("--no-text", action="store_true",
                   help="do not read printed text in this run (it is read only where text is likely)")
    p.add_argument("--json", action="store_true")


def _add_search(sub) -> None:
    p = sub.add_parser("search", help="find photos by free text, by your tags, or both",
                       description="Photos carrying a tag, keyword or label the text names come first, then those "
                                   "the model finds; matches are listed before weaker results.")
    add_common_options(p)
    add_model_options(p)
    p.add_argument("text", nargs="?", default="", help="what to look for (may be left out with --tag)")
    p.add_argument("--tag", action="append", default=[], metavar="WORD",
                   help="only photos carrying this tag, keyword (any level) or label; repeat: all of them")
    p.add_argument("--limit", type=at_least(1), default=20)
    p.add_argument("--folder", type=Path, help="only photos inside this folder")
    p.add_argument("--matches-only", action="store_true", help="list only the photos that match")
    p.add_argument("--people", action="store_true", help="only photos with a face in them")
    p.add_argument("--json", action="store_true",
                   help="print a JSON list of {path, score, id, match, why}: score is the relevance (0..1, one "
                        "scale for every query), match whether it clears the line (0.5)")


def _add_similar(sub) -> None:
    p = sub.add_parser("similar", help="photos that look like PHOTO")
    add_common_options(p)
    add_model_options(p)
    p.add_argument("photo", type=Path)
    p.add_argument("--limit", type=at_least(1), default=20)
    p.add_argument("--folder", type=Path)
    p.add_argument("--json", action="store_true")


def _add_tags(sub) -> None:
    p = sub.add_parser("tags", help="tag cloud of a photo or a folder")
    add_common_options(p)
    add_model_options(p)
    p.add_argument("target", type=Path, metavar="PHOTO|FOLDER")
    p.add_argument("--limit", type=at_least(1), default=30)
    p.add_argument("--json", action="store_true")


def _add_tag(sub) -> None:
    p = sub.add_parser("tag", help="add or remove your own tags on photos and folders (all in one go, or none)")
    add_common_options(p)
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH",
                   help="indexed photos, and folders (every indexed photo inside, sub-folders too)")
    p.add_argument("--add", action="append", default=[], metavar="WORD", help="a tag to add (repeatable)")
    p.add_argument("--remove", action="append", default=[], metavar="WORD", help="a tag to remove (repeatable)")
    p.add_argument("--json", action="store_true", help="print the counts as one JSON object")


def _add_label(sub) -> None:
    p = sub.add_parser("label", help="name a folder's photos for training (`tagger train` learns the label)")
    add_common_options(p)
    p.add_argument("folder", type=Path)
    p.add_argument("label", nargs="?", help="any text: a word, a name, \"grandma's house\"")
    p.add_argument("--remove", action="store_true", help="forget this folder's label")
    p.add_argument("--rename", metavar="NEW", help="rename LABEL (every folder carrying it) to NEW")


def _add_labels(sub) -> None:
    p = sub.add_parser("labels", help="labelled folders with their photo counts")
    add_common_options(p)
    p.add_argument("--json", action="store_true")


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="teach Tagger the labelled folders: a new model version, made active")
    add_common_options(p)
    add_model_options(p)
    p.add_argument("--json", action="store_true")


def _add_models(sub) -> None:
    p = sub.add_parser("models", help="trained model versions; --use N switches (0: untrained)")
    add_common_options(p)
    add_model_options(p)
    p.add_argument("--use", type=at_least(0), metavar="N", help="make version N active (0: the untrained model)")
    p.add_argument("--json", action="store_true")


def _add_status(sub) -> None:
    p = sub.add_parser("status", help="counts, failures with reasons, model and execution provider")
    add_common_options(p)
    add_model_options(p)
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=at_least(0), default=50, help="failures to list (0: all)")
    p.add_argument("--verbose", action="store_true",
                   help="also load the model and say which execution provider runs it (slower; --json always does)")


def _add_keywords(sub) -> None:
    p = sub.add_parser("keywords", help="keywords in XMP sidecars: writing on/off, export now, label candidates")
    add_common_options(p)
    add_model_options(p)
    p.add_argument("--write", choices=["on", "off"], help="write your tags to XMP sidecars from now on (default off)")
    p.add_argument("--auto-threshold", metavar="W", help="also write automatic tags of weight >= W (0..1); 'off'")
    p.add_argument("--naming", choices=["full", "stem"],
                   help="new sidecars: full = photo.jpg.xmp (digiKam, darktable; default), stem = photo.xmp")
    p.add_argument("--export", nargs="*", type=Path, metavar="PATH",
                   help="write sidecars now for these photos/folders (none given: the whole library)")
    p.add_argument("--json", action="store_true")


def _add_doctor(sub) -> None:
    p = sub.add_parser("doctor", help="check the catalog (integrity, orphans, missing files, thumbnails)")
    add_common_options(p)
    p.add_argument("--repair", action="store_true", help="repair what can be repaired safely")
    p.add_argument("--json", action="store_true")


def _add_folders(sub) -> None:
    p = sub.add_parser("folders", help="library folders: list them, remove one, relink one that was renamed or moved")
    add_common_options(p)
    action = p.add_mutually_exclusive_group()
    action.add_argument("--remove", type=Path, metavar="FOLDER",
                        help="forget a library folder and its photos' tags and labels (the files are not touched)")
    action.add_argument("--relink", type=Path, nargs=2, metavar=("OLD", "NEW"),
                        help="the library folder OLD is now at NEW: its photos, tags and labels follow")
    p.add_argument("--json", action="store_true")
