"""Looking at indexed photos for faces and printed text: the pass each index run ends with.

New photos get their faces during indexing, from the thumbnail-sized pixels the decode already holds
(``tagger.library.indexer``). This pass covers everything else, resumably (each photo is recorded as it is done, in
``detections``): photos indexed before Tagger looked for faces (found from the stored 320 px thumbnail: no original is
read), and text. Reading text (PP-OCR, 0.13 s for a sign to ~0.85 s for a dense page) is only worth it where text is
likely, so it is gated twice: first by the ImageNet evidence already stored for every photo
(``tagger.engine.ocr.text_likely``: web sites, menus, envelopes, book jackets...; free; 96% of rendered text photos
and 1.8% of Caltech photos pass), then by the text detector on the stored 320 px thumbnail (``TextReader.has_text``,
~12 ms; a photo the classifier is sure is a page skips it); only then is the photo decoded at reading size and
read. A photo that fails a gate is recorded too, so it is not looked at again until its content, the detector or the
gate changes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tagger.library.catalog import Catalog
from tagger.library.catalog_detections import FACES, TEXT
from tagger.progress import Cancelled, ProgressFn

READ_LONG_SIDE = 1280  # a page is read at this long side: small print on a phone photo of a page survives
PAGE_READ = 960  # ...with the detector at this size (tagger.engine.ocr)
GATE_SIDE = 320  # gate 2 looks at the stored thumbnail, this size
SCENE_LONG_SIDE, SCENE_READ = 960, 640  # the first reading of every photo past the gates (a sign, a label, a page)
SMALL_PRINT_LINES, SMALL_PRINT_HEIGHT = 6, 0.025  # a page with this many lines, or lines this low, is read again
FACE_SIDE = 320  # what the face detector works at (the thumbnails' size)
CHUNK = 32  # photos per transaction


@dataclass
class Looked:
    faces: int = 0  # photos looked at for faces in this pass
    texts: int = 0  # photos whose text was read (past both gates)
    gated: int = 0  # photos the gates said hold no text


def text_pass_id() -> str:
    """What looked for text: the reader's model and its gates' version, so changing either looks again."""
    from tagger.engine import ocr

    return f"{ocr.MODEL_ID}+gate{ocr.GATE_VERSION}"


def look_at_photos(catalog: Catalog, engine, root_ids: Sequence[int] | None = None, *, faces: bool = True,
                   text: bool = True, progress: ProgressFn | None = None,
                   should_stop: Callable[[], bool] | None = None, workers: int | None = None) -> Looked:
    """Find faces and read text in the photos of ``root_ids`` (all when None) that were not looked at yet."""
    looked = Looked()
    workers = workers or max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="detect") as pool:
        if faces:
            _faces(catalog, engine, root_ids, looked, pool, progress, should_stop)
        if text:
            _text(catalog, engine, root_ids, looked, pool, progress, should_stop)
    return looked


def _faces(catalog: Catalog, engine, root_ids, looked: Looked, pool, progress, should_stop) -> None:
    from tagger.engine.faces import MODEL_ID

    todo = catalog.not_looked_at(FACES, MODEL_ID, root_ids)
    if not todo:
        return
    detector = engine.faces

    def store(pid: int, faces: list, digest: str | None) -> None:
        catalog.put_faces(pid, faces, MODEL_ID, digest)
        looked.faces += 1

    _in_chunks(catalog, todo, pool, lambda info, pid: _detect_faces(catalog, detector, info), store,
               "finding faces", progress, should_stop)


def _in_chunks(catalog: Catalog, ids: list[int], pool, work: Callable, store: Callable, stage: str,
               progress: ProgressFn | None, should_stop: Callable[[], bool] | None) -> None:
    """``work(info, photo id)`` on the pool for each photo, ``store(photo id, result, content hash)`` for each result
    that is not None, one transaction a chunk: a kill loses at most the chunk in hand, the next run resumes."""
    for lo in range(0, len(ids), CHUNK):
        _check(should_stop)
        part = ids[lo:lo + CHUNK]
        info = _photo_info(catalog, part)
        found = list(pool.map(work, [info.get(pid) for pid in part], part))
        with catalog.transaction():
            for pid, got in zip(part, found):
                if got is not None and pid in info:
                    store(pid, got, info[pid][1])
        if progress:
            progress(stage, min(lo + CHUNK, len(ids)), len(ids))


def _detect_faces(catalog: Catalog, detector, info: tuple[Path, str | None] | None) -> list | None:
    """Faces in one photo: from its stored thumbnail (upright, 320 px), else from the original; None when neither
    can be read now (the photo is looked at again next time)."""
    if info is None:
        return None
    path, digest = info
    pixels = _thumbnail(catalog, digest)
    if pixels is None:
        pixels = _upright(path, FACE_SIDE)
    if pixels is None:
        return None
    try:
        return detector.detect(pixels)
    except Exception:  # noqa: BLE001 - a detector failure never stops indexing; the photo is tried again next run
        return None


def _text(catalog: Catalog, engine, root_ids, looked: Looked, pool, progress, should_stop) -> None:
    from tagger.engine.ocr import PAGE_STRENGTH, TEXT_PROB, text_strength

    model = text_pass_id()
    todo = catalog.not_looked_at(TEXT, model, root_ids)
    if not todo:
        return
    # gate 1, free: the ImageNet evidence stored with every photo
    likely: list[int] = []
    unlikely: list[int] = []
    page: set[int] = set()
    for got, _, classes, probs in catalog.feature_chunks(engine.backbone, todo):
        strength = text_strength(classes, probs) if len(got) else np.zeros(0, np.float32)
        got = np.asarray(got).tolist()
        likely += [p for p, s in zip(got, strength) if s >= TEXT_PROB]
        unlikely += [p for p, s in zip(got, strength) if s < TEXT_PROB]
        page.update(p for p, s in zip(got, strength) if s >= PAGE_STRENGTH)
    hashes = _photo_info(catalog, unlikely)
    with catalog.transaction():
        for pid in unlikely:
            if pid in hashes:
                catalog.put_text(pid, [], model, hashes[pid][1])
    looked.gated += len(unlikely)
    if not likely:
        return
    reader = engine.text_reader

    def store(pid: int, lines: list, digest: str | None) -> None:
        catalog.put_text(pid, lines, model, digest)
        looked.texts += bool(lines)
        looked.gated += not lines

    _in_chunks(catalog, likely, pool, lambda info, pid: _read_text(catalog, reader, info, pid in page), store,
               "reading text", progress, should_stop)


def _read_text(catalog: Catalog, reader, info: tuple[Path, str | None] | None, page: bool) -> list | None:
    """The lines printed in one photo ([] when gate 2 says there are none); None when it cannot be read now.

    Decoding a 12 MP JPEG costs ~25 ms even at 1/8 scale (every coefficient is read), so gate 2 looks at the stored
    320 px thumbnail (~1.5 ms) and only a photo that passes is decoded, once, at reading size. A photo the classifier
    takes for a page (``page``: gate 1's evidence >= PAGE_STRENGTH; 0.25 % of Caltech photos) skips gate 2, whose
    320 px would lose its small print. Every photo is read first with the detector at 640 px (a sign's letters are
    large; half the cost of 960); a page that turns out to be small print is read again at 960 px from a 1280 px
    decode."""
    if info is None:
        return None
    path, digest = info
    try:
        if not page:
            small = _thumbnail(catalog, digest)
            small = _upright(path, GATE_SIDE) if small is None else small
            if small is None:
                return None
            if not reader.has_text(small, side=GATE_SIDE):
                return []
        pixels = _upright(path, SCENE_LONG_SIDE)
        if pixels is None:
            return None
        lines = reader.read(pixels, side=SCENE_READ)
        if page and _small_print(lines):  # a page of small print: read again where its letters are large enough
            sharper = _upright(path, READ_LONG_SIDE)
            lines = lines if sharper is None else reader.read(sharper, side=PAGE_READ)
        return lines
    except Exception:  # noqa: BLE001 - an OCR failure never stops indexing; the photo is tried again next run
        return None


def _small_print(lines: list) -> bool:
    """Whether what a first, quick reading found looks like a page of small print (several lines, low ones), which
    the detector at 640 px misses part of: the page is read again at 960 px from a sharper decode."""
    heights = sorted(line.box[3] for line in lines)
    return len(lines) >= SMALL_PRINT_LINES or bool(heights and heights[len(heights) // 2] < SMALL_PRINT_HEIGHT)


def _thumbnail(catalog: Catalog, digest: str | None) -> np.ndarray | None:
    """The photo's stored thumbnail (upright RGB, 320 px), or None when there is none."""
    if not digest:
        return None
    try:
        with Image.open(catalog.thumbnail_path(digest)) as im:
            return np.asarray(im.convert("RGB"), np.uint8)
    except (OSError, ValueError):
        return None


def _upright(path: Path, long_side: int) -> np.ndarray | None:
    """The photo decoded upright at about ``long_side`` (reduced JPEG decode), or None if it cannot be read now."""
    from tagger.engine.imageio import ImageDecodeError, open_upright

    try:
        img = open_upright(path, max(1, long_side * 3 // 4))
    except (OSError, ImageDecodeError):
        return None
    return _shrink(np.asarray(img, np.uint8), long_side)


def _shrink(pixels: np.ndarray, long_side: int) -> np.ndarray:
    h, w = pixels.shape[:2]
    scale = long_side / max(h, w)
    if scale >= 1.0:
        return pixels
    img = Image.fromarray(pixels).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                         Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(img, np.uint8)


def _photo_info(catalog: Catalog, photo_ids: list[int]) -> dict[int, tuple[Path, str | None]]:
    """(absolute path, content hash) of each photo still in the catalog."""
    paths = catalog.photo_paths(photo_ids)
    hashes = dict(catalog.photo_hashes(photo_ids))
    return {pid: (paths[pid], hashes.get(pid)) for pid in photo_ids if pid in paths}


def _check(should_stop: Callable[[], bool] | None) -> None:
    if should_stop is not None and should_stop():
        raise Cancelled()
