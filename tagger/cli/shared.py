"""What every command needs: common options, opening the catalog and the engine, Ctrl-C handling, notices."""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
from pathlib import Path
from typing import Any

from tagger.engine.backbone_specs import BACKBONES, DEFAULT_BACKBONE
from tagger.errors import UsageError
from tagger.paths import default_db_path


def add_common_options(p: argparse.ArgumentParser, top: bool = False) -> None:
    # SUPPRESS on sub-commands so `tagger --db X cmd` and `tagger cmd --db X` both work
    p.add_argument("--db", type=Path, default=None if top else argparse.SUPPRESS, metavar="PATH",
                   help=f"catalog location (default: {default_db_path()})")


def add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backbone", choices=sorted(BACKBONES), default=DEFAULT_BACKBONE,
                   help="ImageNet backbone (default: %(default)s; lite2 is slower, see README)")
    p.add_argument("--word-space", type=Path, default=None, metavar="BIN",
                   help="a fastText .bin to use instead of the default GloVe-derived word space")


def notice(message: str) -> None:
    print(f"tagger: {message}", file=sys.stderr)


def load_engine(args, progress, threads: int | None = None):
    from tagger.engine.core import Engine

    return Engine.load(args.backbone, args.word_space, progress=progress, notice=notice, threads=threads)


def open_catalog(args, *, create: bool = False):
    """The catalog ``--db`` names. Only commands that add to a library create one: a mistyped ``--db`` given to
    ``status`` or ``search`` must not look like an empty library."""
    from tagger.library.catalog import Catalog

    path = Path(getattr(args, "db", None) or default_db_path())
    if not create and not path.exists():
        raise UsageError(f"there is no catalog at {path}: check --db, or create one with `tagger index FOLDER` "
                         "(with the same --db)")
    return Catalog.open(path)


def at_least(minimum: int):
    """An argparse type: an integer no smaller than ``minimum`` (``--limit -3`` is refused, not a traceback)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {minimum} or more, not {value}")
        return value

    parse.__name__ = f"integer >= {minimum}"
    return parse


@contextlib.contextmanager
def sigint_stops(message: str):
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


def open_library(args, progress):
    from tagger.library.search import Library

    catalog = open_catalog(args)
    return Library(catalog, catalog_engine(args, progress, catalog))


def catalog_engine(args, progress, catalog, threads: int | None = None):
    """The engine with the catalog's active trained version (if any) switched on."""
    from tagger.library.active_version import activate_catalog_version  # not via training: 50 ms of imports

    engine = load_engine(args, progress, threads)
    activate_catalog_version(catalog, engine, notice=notice)
    return engine


def json_default(obj: Any) -> Any:
    if isinstance(obj, float) and math.isnan(obj):
        return None
    return str(obj)


def dist_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"
