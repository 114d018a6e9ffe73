"""The one indexing pipeline: scan folders, skip what did not change, decode in parallel, run the model in batches,
commit each batch atomically.

Why it is shaped like this:
- An unchanged file (same size and mtime as recorded) is skipped without being opened, so re-indexing a large
  library costs a directory walk and one catalog query.
- Each new or changed file is read once; its bytes are hashed (move/rename detection, thumbnail key) and decoded
  from memory. A file whose content the catalog already knows from a path that disappeared is a move: its row is
  re-pointed, keeping tags and vectors, and nothing is decoded.
- Decoding runs in a thread pool (Pillow releases the GIL) while the calling thread runs the model on the previous
  batch, so both cores stay busy.
- Every batch is one transaction; stopping (Ctrl-C, the GUI's cancel) finishes the batch in hand, and the next run
  resumes because committed files now look unchanged.
- The user's folders are only ever read.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tagger.engine.imageio import IMAGE_SUFFIXES, ImageDecodeError, decode_photo, sniff
from tagger.engine.version import label_tags
from tagger.fileio import content_hash
from tagger.library.catalog import Catalog, KnownFile, PhotoRecord, Root
from tagger.library.keywords import is_sidecar_name, metadata_bytes, read_keywords, sidecar_names, sidecar_signature
from tagger.progress import Cancelled, ProgressFn

AUTO_TAGS_PER_PHOTO = 32
_SUFFIXES = frozenset(s.encode() for s in IMAGE_SUFFIXES)


@dataclass
class IndexStats:
    scanned: int = 0  # image files found
    unchanged: int = 0
    new: int = 0
    changed: int = 0
    indexed: int = 0  # decoded and embedded in this run
    failed: int = 0  # recorded with a reason in this run
    moved: int = 0  # recognised by content, row re-pointed
    gone: int = 0  # marked gone in this run
    keywords: int = 0  # unchanged photos whose XMP sidecar changed: keywords re-read, nothing decoded
    skipped_dirs: list[tuple[str, str]] = field(default_factory=list)  # folders that could not be listed
    seconds: float = 0.0
    cancelled: bool = False

    @property
    def images_per_second(self) -> float:
        done = self.indexed + self.failed
        return done / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class FoundFile:
    path_key: bytes  # relative to the root, OS bytes
    size: int
    mtime_ns: int
    sidecars: tuple[bytes, ...] = ()  # its XMP sidecars (path keys), photo.jpg.xmp and/or photo.xmp
    sidecar_sig: str = ""  # keywords.sidecar_signature of those sidecars: '' when there are none


# ---------------------------------------------------------------------------- scanning


def scan(root: Path, start: bytes = b"", skipped: list | None = None) -> Iterator[FoundFile]:
    """Image files under ``root/start``, recursively, by extension or (for other names) by content.

    Symlinked folders are followed once (loops are cut by device/inode), hidden entries are skipped, and a folder that
    cannot be listed is reported in ``skipped`` instead of stopping the scan.
    """
    root_b = os.fsencode(root)
    seen_dirs: set[tuple[int, int]] = set()
    stack = [start]
    while stack:
        rel = stack.pop()
        folder = root_b + (b"/" + rel if rel else b"")
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in seen_dirs:
                continue
            seen_dirs.add((st.st_dev, st.st_ino))
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            if skipped is not None:
                skipped.append((os.fsdecode(folder), exc.strerror or str(exc)))
            continue
        subdirs = []
        xmp = {e.name: e for e in entries if is_sidecar_name(e.name) and not e.name.startswith(b".")}
        for entry in entries:
            name = entry.name
            if name.startswith(b".") or name in xmp:
                continue
            child = rel + b"/" + name if rel else name
            try:
                if entry.is_dir(follow_symlinks=True):
                    subdirs.append(child)
                    continue
                if not entry.is_file(follow_symlinks=True):
                    continue
                st = entry.stat(follow_symlinks=True)
            except OSError:
                continue  # vanished or a dangling link: not a photo we can index
            if os.path.splitext(name)[1].lower() in _SUFFIXES or _looks_like_image(entry.path):
                yield FoundFile(child, st.st_size, st.st_mtime_ns, *_sidecars(rel, name, xmp))
        stack.extend(reversed(subdirs))


def _sidecars(rel: bytes, name: bytes, xmp: dict) -> tuple[tuple[bytes, ...], str]:
    """The photo's sidecars among the folder's .xmp entries, and their fingerprint (stat only, nothing read)."""
    if not xmp:
        return (), ""
    keys, stats = [], []
    for candidate in sidecar_names(name):
        entry = xmp.get(candidate)
        if entry is None:
            continue
        try:
            if not entry.is_file(follow_symlinks=True):
                continue  # a FIFO or folder named like a sidecar: never opened
            st = entry.stat(follow_symlinks=True)
        except OSError:
            continue
        keys.append(rel + b"/" + candidate if rel else candidate)
        stats.append((candidate, st.st_size, st.st_mtime_ns))
    return tuple(keys), sidecar_signature(stats)


def _looks_like_image(path: bytes) -> bool:
    try:
        with open(path, "rb") as fh:
            return sniff(fh.read(32)) is not None
    except OSError:
        return False


# ---------------------------------------------------------------------------- decoding


@dataclass
class _Decoded:
    found: FoundFile
    digest: str | None = None
    photo: object | None = None  # DecodedPhoto
    reason: str | None = None
    reuse: int | None = None  # photo id whose vectors this content already has
    keywords: list[str] | None = None  # from the file and its sidecars (None: could not be read)


def _read_and_decode(root: Root, found: FoundFile, prep, reusable: dict[str, int]) -> _Decoded:
    path = os.fsencode(root.path) + b"/" + found.path_key
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except PermissionError:
        return _Decoded(found, reason="permission denied")
    except FileNotFoundError:
        return _Decoded(found, reason="file vanished")
    except IsADirectoryError:
        return _Decoded(found, reason="not a file")
    except OSError as exc:
        return _Decoded(found, reason=f"cannot read file ({exc.strerror or exc})")
    digest = content_hash(data) if data else None
    keywords = _keywords(root, found, data)
    if digest is not None and digest in reusable:
        return _Decoded(found, digest, reuse=reusable[digest], keywords=keywords)
    try:
        return _Decoded(found, digest, photo=decode_photo(data, prep), keywords=keywords)
    except ImageDecodeError as exc:
        return _Decoded(found, digest, reason=exc.reason)
    except Exception as exc:  # a decoder bug must never stop indexing
        return _Decoded(found, digest, reason=f"unexpected decoder error ({type(exc).__name__}: {exc})")


def _keywords(root: Root, found: FoundFile, data: bytes | None) -> list[str] | None:
    """Keywords people gave the photo (embedded XMP/IPTC, sidecars); a keyword problem never costs the photo."""
    base = os.fsencode(root.path) + b"/"
    try:
        if data is None:
            data = metadata_bytes(base + found.path_key)
        return read_keywords(data, [base + k for k in found.sidecars]).keywords
    except Exception:
        return None


# ---------------------------------------------------------------------------- indexing


class Indexer:
    """Indexes folders into a catalog with one engine; reusable for several runs (the GUI keeps one)."""

    def __init__(self, catalog: Catalog, engine, *, batch_size: int = 32, workers: int | None = None):
        self.catalog = catalog
        self.engine = engine
        self.batch_size = batch_size
        # decoding dominates (~29 ms a photo against ~10 ms for the model): two decoders per core keep the cores busy
        # while one waits on the disk (bench/index_throughput.py: +7% over one per core on 2 cores)
        self.workers = workers or 2 * (os.cpu_count() or 2)
        self._labels = None  # (version, its labels' LabelSet), built once per active version
        # called with the ids of each committed batch's indexed photos (keyword writing, when it is on)
        self.on_indexed: Callable[[list[int]], None] | None = None

    @property
    def model(self) -> str:
        return self.engine.model_id

    def index(self, folders: Sequence[Path | str], *, progress: ProgressFn | None = None,
              should_stop: Callable[[], bool] | None = None) -> IndexStats:
        stats = IndexStats()
        start = time.perf_counter()
        plans = [self._plan(Path(f), stats, progress) for f in folders]
        todo_total = sum(len(p[1]) + len(p[3]) for p in plans)
        done = 0
        try:
            for root, todo, reusable, refresh in plans:
                for _ in self._process(root, todo, reusable, stats, should_stop):
                    done += 1
                    if progress:
                        progress("indexing", done, todo_total)
                for _ in self._refresh_keywords(root, refresh, stats, should_stop):
                    done += 1
                    if progress:
                        progress("indexing", done, todo_total)
        except Cancelled:
            stats.cancelled = True
        stats.seconds = time.perf_counter() - start
        return stats

    # -- planning: walk, compare with the catalog, mark vanished files gone

    def _plan(self, folder: Path, stats: IndexStats, progress: ProgressFn | None):
        if not folder.exists():
            raise FileNotFoundError(f"folder {folder} does not exist")
        if not folder.is_dir():
            raise NotADirectoryError(f"{folder} is not a folder")
        located = self.catalog.locate(folder)
        root, start = located if located else (self.catalog.add_root(folder), b"")
        known = self.catalog.known_files(root.id, self.model)
        todo: list[FoundFile] = []
        refresh: list[tuple[FoundFile, int]] = []  # unchanged photos whose sidecars changed
        seen: set[int] = set()
        found_n = 0
        for found in scan(root.path, start, stats.skipped_dirs):
            found_n += 1
            if progress and found_n % 500 == 0:
                progress("scanning", found_n, 0)
            k = known.get(found.path_key)
            if k is not None:
                seen.add(k.id)
                if self._unchanged(k, found):
                    if k.status == "indexed" and k.sidecar_sig != found.sidecar_sig:
                        refresh.append((found, k.id))
                    else:
                        stats.unchanged += 1
                    continue
                stats.changed += 1
            else:
                stats.new += 1
            todo.append(found)
        stats.scanned += found_n
        prefix = start + b"/" if start else b""
        missing = [k.id for key, k in known.items()
                   if k.id not in seen and k.status != "gone" and (not start or key == start or key.startswith(prefix))]
        stats.gone += self.catalog.mark_gone(missing)
        # contents the catalog can reuse without decoding: vanished files (moves) and same-path rewrites (touch)
        gone_hashes = {k.hash: k.id for key, k in known.items()
                       if k.hash and k.id not in seen and k.has_embedding and k.status != "failed"}
        same_path = {known[f.path_key].hash: known[f.path_key].id for f in todo
                     if f.path_key in known and known[f.path_key].hash and known[f.path_key].has_embedding}
        return root, todo, {**gone_hashes, **same_path}, refresh

    @staticmethod
    def _unchanged(k: KnownFile, found: FoundFile) -> bool:
        if k.size != found.size or k.mtime_ns != found.mtime_ns:
            return False
        return k.status == "failed" or (k.status == "indexed" and k.has_embedding)

    # -- processing: decode in threads, embed in batches, commit per batch

    def _process(self, root: Root, todo: list[FoundFile], reusable: dict[str, int], stats: IndexStats,
                 should_stop: Callable[[], bool] | None) -> Iterator[None]:
        if not todo:
            return
        prep = self.engine.prep
        claimed: set[int] = set()
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="decode") as pool:
            window = self.batch_size * 2
            queue: list[Future] = [pool.submit(_read_and_decode, root, f, prep, reusable) for f in todo[:window]]
            nxt = len(queue)
            batch: list[_Decoded] = []
            while queue:
                if should_stop is not None and should_stop():
                    for fut in queue:
                        fut.cancel()
                    if batch:
                        self._commit(root, batch, stats)
                    raise Cancelled()
                item = queue.pop(0).result()
                if nxt < len(todo):
                    queue.append(pool.submit(_read_and_decode, root, todo[nxt], prep, reusable))
                    nxt += 1
                if item.reuse is not None:
                    if item.reuse not in claimed and self._reuse(root, item, stats):
                        claimed.add(item.reuse)
                        yield None
                        continue
                    item = _read_and_decode(root, item.found, prep, {})  # a second copy: decode it after all
                batch.append(item)
                if len(batch) >= self.batch_size:
                    self._commit(root, batch, stats)
                    yield from (None for _ in batch)
                    batch = []
            if batch:
                self._commit(root, batch, stats)
                yield from (None for _ in batch)

    def _reuse(self, root: Root, item: _Decoded, stats: IndexStats) -> bool:
        photo = self.catalog.photo(item.reuse)
        if photo is None:
            return False
        f = item.found
        with self.catalog.transaction():  # the new stat and the keywords: both or neither
            if photo["root_id"] == root.id and bytes(photo["path_key"]) == f.path_key:
                self.catalog.touch(item.reuse, f.size, f.mtime_ns)
            else:
                self.catalog.move(item.reuse, root.id, f.path_key, f.size, f.mtime_ns)
                stats.moved += 1
            self.catalog.set_file_keywords(item.reuse, item.keywords, f.sidecar_sig)
        if self.on_indexed is not None:
            self.on_indexed([item.reuse])
        return True

    def _refresh_keywords(self, root: Root, refresh: list[tuple[FoundFile, int]], stats: IndexStats,
                          should_stop: Callable[[], bool] | None) -> Iterator[None]:
        """Re-read the keywords of unchanged photos whose sidecars changed: no decoding, one transaction a chunk."""
        chunk = max(self.batch_size, 64)
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="keywords") as pool:
            for lo in range(0, len(refresh), chunk):
                if should_stop is not None and should_stop():
                    raise Cancelled()
                part = refresh[lo:lo + chunk]
                found = list(pool.map(lambda fp: _keywords(root, fp[0], None), part))
                with self.catalog.transaction():
                    for (f, pid), words in zip(part, found):
                        self.catalog.set_file_keywords(pid, words, f.sidecar_sig)
                stats.keywords += len(part)
                if self.on_indexed is not None:
                    self.on_indexed([pid for _, pid in part])
                yield from (None for _ in part)

    def _commit(self, root: Root, batch: list[_Decoded], stats: IndexStats) -> None:
        ok = [d for d in batch if d.photo is not None]
        records: list[PhotoRecord] = []
        if ok:
            out = self.engine.infer(np.stack([d.photo.pixels for d in ok]))
            tag_idx, tag_val = self.engine.tag_set.top(out.embeddings, out.top_classes, out.top_probs,
                                                       AUTO_TAGS_PER_PHOTO)
            texts = self.engine.tag_set.texts
            extras = self._trained_extras(out, tag_val)
            for i, d in enumerate(ok):
                p = d.photo
                if d.digest and p.thumbnail:
                    self.catalog.save_thumbnail(d.digest, p.thumbnail)
                records.append(PhotoRecord(
                    root.id, d.found.path_key, d.found.size, d.found.mtime_ns, "indexed", hash=d.digest,
                    width=p.width, height=p.height, format=p.format, taken_at=p.taken_at,
                    features=out.features[i], top_classes=out.top_classes[i], top_probs=out.top_probs[i],
                    embedding=out.embeddings[i],
                    auto_tags=[(texts[j], float(v)) for j, v in zip(tag_idx[i], tag_val[i])],
                    extra=extras[i] if extras else (),
                    keywords=d.keywords, sidecar_sig=d.found.sidecar_sig,
                ))
        for d in batch:
            if d.photo is None:
                if d.reason == "file vanished":
                    continue  # deleted between scan and read: the next run marks it gone
                records.append(PhotoRecord(root.id, d.found.path_key, d.found.size, d.found.mtime_ns, "failed",
                                           hash=d.digest, reason=d.reason, sidecar_sig=d.found.sidecar_sig))
        ids = self.catalog.write_batch(records, self.engine.backbone, self.model)
        if self.on_indexed is not None:
            self.on_indexed([pid for pid, r in zip(ids, records) if r.status == "indexed"])
        stats.indexed += len(ok)
        stats.failed += sum(1 for r in records if r.status == "failed")

    def _trained_extras(self, out, tag_val: np.ndarray) -> list | None:
        """With a trained version active, each photo also gets that version's vector and label tags, in the same
        transaction as the rest of its row (one model run gives both: see ``Engine.infer``)."""
        version = self.engine.version
        if version is None or out.trained is None:
            return None
        if self._labels is None or self._labels[0] is not version:
            self._labels = (version, self.engine.label_set(version.labels))
        zero = self._labels[1].scores(out.embeddings, out.top_classes, out.top_probs)
        floor = tag_val.min(axis=1) if tag_val.size else np.full(len(zero), np.inf, np.float32)
        tags = label_tags(version, out.trained, zero, floor)
        return [[(version.model_id, out.trained[i], tags[i])] for i in range(len(tags))]
