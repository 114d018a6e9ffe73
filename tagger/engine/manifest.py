"""Model manifests: what a built model is, how to feed it, and the sha256 of every file it depends on.

A damaged or swapped artefact must never be used silently, so loading a manifest checks the sha256 of the files it
names: hashed again whenever a file's size, mtime or inode changed since it was last hashed (a stat cache beside the
manifest, ``STAT_CACHE_NAME``), which spares every start ~0.1 s of hashing (issue 16). What the cache cannot see: a file
rewritten in place to the same size with its mtime put back (deliberate tampering, not damage); deleting the cache
file makes the next start hash everything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tagger.errors import TaggerError
from tagger.fileio import atomic_write_json, sha256_file

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1
STAT_CACHE_NAME = ".hashes-by-stat.json"  # {path: [size, mtime_ns, inode, sha256]}: see the module docstring


class IntegrityError(TaggerError, ValueError):
    """An artefact is missing, unreadable or differs from the sha256 its manifest recorded."""


def read_manifest(folder: Path) -> dict[str, Any]:
    """Parse ``folder/manifest.json``; raise IntegrityError if it is missing, not JSON, or not a manifest."""
    path = folder / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IntegrityError(f"{path}: manifest missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntegrityError(f"{path}: manifest unreadable ({exc})") from None
    if (not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT
            or not isinstance(data.get("artefacts"), dict)):
        raise IntegrityError(f"{path}: not a Tagger model manifest (format {MANIFEST_FORMAT})")
    return data


def artefact_path(folder: Path, name: str) -> Path:
    """Artefact names are relative to the manifest folder; absolute ones (a user's own word space) stay as they are."""
    p = Path(name)
    return p if p.is_absolute() else folder / p


def verify_artefacts(folder: Path, manifest: dict[str, Any]) -> None:
    cache = _read_stat_cache(folder)
    seen = dict(cache)
    for name, expected in manifest["artefacts"].items():
        path = artefact_path(folder, name)
        try:
            actual = _sha256_by_stat(path, cache)
        except FileNotFoundError:
            raise IntegrityError(f"{path}: missing (listed in {folder / MANIFEST_NAME})") from None
        except OSError as exc:
            raise IntegrityError(f"{path}: unreadable ({exc})") from None
        if actual != expected:
            raise IntegrityError(f"{path}: sha256 {actual[:12]}… differs from the manifest's {expected[:12]}… "
                                 "(damaged or replaced)")
    if cache != seen:
        try:
            atomic_write_json(folder / STAT_CACHE_NAME, cache)
        except OSError:  # a read-only model folder: verified all the same, only hashed again next time
            pass


def _read_stat_cache(folder: Path) -> dict[str, list]:
    try:
        data = json.loads((folder / STAT_CACHE_NAME).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _sha256_by_stat(path: Path, cache: dict[str, list]) -> str:
    """``path``'s sha256, from ``cache`` while its size, mtime and inode are those it had when hashed."""
    st = path.stat()
    stat = [st.st_size, st.st_mtime_ns, st.st_ino]
    hit = cache.get(str(path))
    if isinstance(hit, list) and len(hit) == 4 and hit[:3] == stat and isinstance(hit[3], str):
        return hit[3]
    digest = sha256_file(path)
    cache[str(path)] = [*stat, digest]
    return digest


def sha256_by_stat(path: Path) -> str:
    """``path``'s sha256 through its folder's stat cache (hashed again only when its size, mtime or inode changed):
    for files checked on every start outside the artefacts, such as the 12 MB int8 CPU variant."""
    path = Path(path)
    cache = _read_stat_cache(path.parent)
    seen = dict(cache)
    digest = _sha256_by_stat(path, cache)
    if cache != seen:
        try:
            atomic_write_json(path.parent / STAT_CACHE_NAME, cache)
        except OSError:
            pass
    return digest


def load_verified(folder: Path) -> dict[str, Any]:
    manifest = read_manifest(folder)
    verify_artefacts(folder, manifest)
    return manifest
