"""Model manifests: what a built model is, how to feed it, and the sha256 of every file it depends on.

A damaged or swapped artefact must never be used silently, so loading a manifest re-hashes the files it names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tagger.errors import TaggerError
from tagger.fileio import sha256_file

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = 1


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
    for name, expected in manifest["artefacts"].items():
        path = artefact_path(folder, name)
        try:
            actual = sha256_file(path)
        except FileNotFoundError:
            raise IntegrityError(f"{path}: missing (listed in {folder / MANIFEST_NAME})") from None
        except OSError as exc:
            raise IntegrityError(f"{path}: unreadable ({exc})") from None
        if actual != expected:
            raise IntegrityError(f"{path}: sha256 {actual[:12]}… differs from the manifest's {expected[:12]}… "
                                 "(damaged or replaced)")


def load_verified(folder: Path) -> dict[str, Any]:
    manifest = read_manifest(folder)
    verify_artefacts(folder, manifest)
    return manifest
