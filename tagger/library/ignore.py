"""Which files in a library folder are never photos, whatever their content: editors' backups and temp files, what
the user excludes (``tagger index --exclude GLOB``, ``.taggerignore`` files), and the catalog's own files.

Why by name: Tagger also recognises photos by content, and an editor's backup IS a photo by content. exiftool keeps
the original as ``photo.jpg_original`` next to the edited ``photo.jpg``; taken for a photo, it was matched by content
to the photo's old row and took the user's tag with it. These names are never the user's photos, so they are never
opened. A catalog kept inside its photo folder is skipped too: its thumbnails are JPEGs, and indexing them made a
thumbnail of each thumbnail, one generation more every run.

Rules (both for ``--exclude`` and for the lines of a ``.taggerignore``): a glob without ``/`` matches a file or folder
name at any depth (``*.psd``, ``Trash``); a glob with ``/`` matches the path from the folder holding the
``.taggerignore`` (for ``--exclude``: from the library folder; an absolute path inside it works too), e.g.
``2019/raw``; a trailing ``/`` matches folders only. Matching ignores case, like the photo extensions. ``#`` starts a
comment line. An excluded folder is not walked at all.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

IGNORE_FILE = b".taggerignore"

# what editors and file managers leave beside photos: exiftool's backups (photo.jpg_original) and its temp files,
# generic backups (.bak, name~), Emacs lock files (.#name), temp files, macOS AppleDouble files (._name), partial
# downloads
EDITOR_LEFTOVERS = ("*_original", "*.bak", "*~", ".#*", "*.tmp", "._*", "*_exiftool_tmp", "*.part")
_LEFTOVER = re.compile("|".join(fnmatch.translate(g) for g in EDITOR_LEFTOVERS).encode(), re.IGNORECASE | re.DOTALL)
# a Tagger catalog's companions: `<name>.thumbnails/`, `<name>.models/`, `<name>.backup-schema<N>-<date>.db`,
# `<name>.train.lock` (its -wal/-shm are the indexer's own concern: Catalog.held_files)
_CATALOG_DIR = re.compile(rb"^(.+)\.(thumbnails|models)$", re.DOTALL)
_CATALOG_FILE = re.compile(rb"^.+\.(backup-schema\d+-.*\.db|train\.lock)$", re.DOTALL)


def is_editor_leftover(name: bytes) -> bool:
    """True for the names editors give backups and temp files (``photo.jpg_original``, ``photo.jpg~``, ...)."""
    return _LEFTOVER.match(name) is not None


@dataclass(frozen=True)
class _Glob:
    base: bytes  # folder (relative to the library folder) the glob is anchored at; b'' = the library folder
    pattern: re.Pattern[bytes]
    anchored: bool  # matches the path from ``base`` (the glob had a '/'), else any name
    dirs_only: bool

    def matches(self, rel: bytes, name: bytes, is_dir: bool) -> bool:
        if self.dirs_only and not is_dir:
            return False
        if self.base:
            if not rel.startswith(self.base + b"/"):
                return False  # a .taggerignore speaks for its own folder and below only
            rel = rel[len(self.base) + 1:]
        return self.pattern.match(rel if self.anchored else name) is not None


def _compile(glob: str, base: bytes) -> _Glob | None:
    text = glob.strip()
    if not text or text.startswith("#"):
        return None
    while text.startswith("./"):
        text = text[2:]
    dirs_only = text.endswith("/")
    text = text.rstrip("/")
    anchored = "/" in text
    text = text.lstrip("/")
    if not text:
        return None
    pattern = re.compile(fnmatch.translate(text).encode("utf-8", "surrogateescape"), re.IGNORECASE | re.DOTALL)
    return _Glob(base, pattern, anchored, dirs_only)


class IgnoreRules:
    """What a scan leaves out. Immutable: each ``.taggerignore`` met on the way down gives a new, wider set."""

    def __init__(self, globs: Iterable[str] = (), *, own: frozenset[tuple[int, int]] = frozenset(),
                 _compiled: tuple[_Glob, ...] | None = None):
        self.globs = _compiled if _compiled is not None else tuple(
            g for g in (_compile(text, b"") for text in globs) if g is not None)
        self.own = own  # (device, inode) of folders never walked: this catalog's thumbnails and models

    @classmethod
    def for_library(cls, root: Path | str, globs: Sequence[str] = (), catalog_path: Path | str | None = None
                    ) -> IgnoreRules:
        """The rules for scanning library folder ``root``: ``globs`` (``--exclude``; an absolute path inside
        ``root`` becomes a path from it) and the folders of the catalog at ``catalog_path``."""
        root_s = os.path.realpath(root)
        relative = []
        for g in globs:
            if os.path.isabs(g):
                real = os.path.realpath(g)
                if real == root_s or not real.startswith(root_s.rstrip("/") + "/"):
                    continue  # outside this library folder: it cannot exclude anything here
                g = "/" + real[len(root_s):].lstrip("/")
            relative.append(g)
        own: set[tuple[int, int]] = set()
        if catalog_path is not None:
            catalog_path = Path(catalog_path)
            for suffix in (".thumbnails", ".models"):
                try:
                    st = os.stat(catalog_path.parent / (catalog_path.stem + suffix))
                except OSError:
                    continue
                own.add((st.st_dev, st.st_ino))
        return cls(relative, own=frozenset(own))

    def with_ignore_file(self, folder: bytes, text: bytes) -> IgnoreRules:
        """These rules plus the lines of the ``.taggerignore`` in ``folder`` (relative to the library folder)."""
        lines = text.decode("utf-8", "surrogateescape").splitlines()
        added = tuple(g for g in (_compile(line, folder) for line in lines) if g is not None)
        return IgnoreRules(own=self.own, _compiled=self.globs + added) if added else self

    def skips(self, rel: bytes, name: bytes, is_dir: bool, siblings: frozenset[bytes] = frozenset()) -> bool:
        """Whether the entry ``name`` at ``rel`` (relative to the library folder) is left out. ``siblings``: the
        names in the same folder (a ``<name>.thumbnails`` folder is a catalog's only beside ``<name>.db``)."""
        if is_dir:
            m = _CATALOG_DIR.match(name)
            if m and m.group(1) + b".db" in siblings:
                return True
        elif is_editor_leftover(name) or _CATALOG_FILE.match(name):
            return True
        return any(g.matches(rel, name, is_dir) for g in self.globs)


def read_ignore_file(folder: bytes) -> bytes | None:
    """The ``.taggerignore`` in ``folder`` (absolute, OS bytes), or None; a broken one never stops a scan."""
    try:
        with open(folder + b"/" + IGNORE_FILE, "rb") as fh:
            return fh.read(1 << 20)
    except OSError:
        return None
