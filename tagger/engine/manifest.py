"""Model manifests: what a built model is, how to feed it, and the sha256 of every file it depends on.

A damaged or swapped artefact must never be used silently, so loading a manifest re-hashes the files it names.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1


class IntegrityError(ValueError):
    """An artefact is missing, unreadable or differs from the sha256 its manifest recorded."""


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def write_json_atomic(path: Path, data: Any) -> None:
    """Write to a temp file in the same folder, fsync, rename: a kill leaves the old file or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_manifest(folder: Path) -> dict[str, Any]:
    """Parse ``folder/manifest.json``; raise IntegrityError if it is missing, not JSON, or not a manifest."""
    path = folder / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IntegrityError(f"{path}: manifest missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IntegrityError(f"{path}: manifest unreadable ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT or not isinstance(data.get("artefacts"), dict):
        raise IntegrityError(f"{path}: not a Tagger model manifest (format {MANIFEST_FORMAT})")
    return data


def artefact_path(folder: Path, name: str) -> Path:
    """Artefact names are relative to the manifest folder; absolute ones (a user's own word space) stay as they are."""
    p = Path(name)
    return p if p.is_absolute() else folder / p


def verify_artefacts(folder: Path, manifest: dict[str, Any]) -> None:
    for name, expected in manifest["artefacts"].items():
        path = artefact_path(folder, name)
        try:
            actual = sha256_file(path)
        except FileNotFoundError:
            raise IntegrityError(f"{path}: missing (listed in {folder / MANIFEST_NAME})") from None
        except OSError as exc:
            raise IntegrityError(f"{path}: unreadable ({exc})") from None
        if actual != expected:
            raise IntegrityError(f"{path}: sha256 {actual[:12]}… differs from the manifest's {expected[:12]}… (damaged or replaced)")


def load_verified(folder: Path) -> dict[str, Any]:
    manifest = read_manifest(folder)
    verify_artefacts(folder, manifest)
    return manifest
