"""The one indexing pipeline: scan folders, skip what did not change, decode in parallel, run the model in batches,
commit each batch atomically.

Why it is shaped like this:
- An unchanged file (same size and mtime as recorded) is skipped without being opened, so re-indexing a large
  library costs a directory walk and one catalog query.
- Each new or changed file is read once; its bytes are hashed (move/rename detection, thumbnail key) and decoded
  from memory. A file whose content the catalog already knows from a path that disappeared is a move: its row is
  re-pointed, keeping tags and vectors, and nothing is decoded.
- Decoding runs in a thread pool (Pillow releases the GIL) and never waits for the model: full batches go to one
  model thread, and the calling thread keeps the decoders fed and commits finished batches in order.
- Every batch is one transaction; stopping (Ctrl-C, the GUI's cancel) finishes the batch in hand, and the next run
  resumes because committed files now look unchanged.
- The user's folders are only ever read.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tagger.engine.imageio import IMAGE_SUFFIXES, ImageDecodeError, decode_photo, decode_sizes, read_photo, sniff
from tagger.engine.version import label_tags
from tagger.fileio import content_hash
from tagger.library.active_version import fill_active_version
from tagger.library.catalog import Catalog, KnownFile, PhotoRecord, Root
from tagger.library.detection_pass import look_at_photos
from tagger.library.folders import adopt_renamed_folder, carry_labels
from tagger.library.ignore import IGNORE_FILE, IgnoreRules, read_ignore_file
from tagger.library.keywords import (
    is_sidecar_name,
    metadata_bytes,
    read_keywords,
    remove_stale_temps,
    shared_stems,
    sidecar_names,
    sidecar_signature,
)
from tagger.progress import Cancelled, ProgressFn

AUTO_TAGS_PER_PHOTO = 32
DECODE_BATCHES_AHEAD = 3  # decodes handed out ahead of the batch being collected, in batches
MODEL_BATCHES_AHEAD = 2  # full batches waiting for (or in) the model before decoding pauses: bounds memory
EXCLUDED_REASON = "excluded by name (an editor's backup or temp file, .taggerignore or --exclude)"
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
    thumbnails_failed: int = 0  # indexed, but the thumbnail could not be written (a full disk): doctor --repair
    skipped_dirs: list[tuple[str, str]] = field(default_factory=list)  # folders that could not be listed: unavailable,
    # their photos kept as they were
    excluded: int = 0  # files and folders left out by name (editor backups, .taggerignore, --exclude)
    relinked: list[tuple[str, str]] = field(default_factory=list)  # (old, new): renamed library folders taken in
    faces: int = 0  # photos looked at for faces after indexing (photos indexed before; see detection_pass)
    texts: int = 0  # photos where text was likely and was read
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


@dataclass
class ScanNotes:
    """What a scan saw besides photos: folders it could not list (their photos are unavailable, not gone) and what
    the ignore rules left out (a photo indexed earlier there leaves the library)."""

    unlisted: set[bytes] = field(default_factory=set)  # path keys of folders
    excluded: set[bytes] = field(default_factory=set)  # path keys of files and folders


# ---------------------------------------------------------------------------- scanning


def scan(root: Path, start: bytes = b"", skipped: list | None = None, *,
         held: frozenset[tuple[int, int]] = frozenset(), ignore: IgnoreRules | None = None,
         notes: ScanNotes | None = None) -> Iterator[FoundFile]:
    """Image files under ``root/start``, recursively, by extension or (for other names) by content.

    Names that are never photos (editors' backups and temp files, ``.taggerignore`` and ``ignore``'s globs, a catalog's
    own folders: see ``tagger.library.ignore``) are left out before anything is opened.

    Symlinked folders are followed once (loops are cut by device/inode), hidden entries are skipped, and a folder that
    cannot be listed is reported in ``skipped`` instead of stopping the scan. Files in ``held`` (device, inode) — the
    catalog and its -wal/-shm, see ``Catalog.held_files`` — and any SQLite journal are never opened: opening and
    closing one outside SQLite drops this process's locks on it, and another process may then delete the WAL under us.
    """
    root_b = os.fsencode(root)
    notes = notes if notes is not None else ScanNotes()
    rules = _rules_above(root_b, start, ignore or IgnoreRules(), notes)
    if rules is None:
        return  # ``start`` itself is excluded
    seen_dirs: set[tuple[int, int]] = set()
    stack = [(start, rules)]
    while stack:
        rel, rules = stack.pop()
        folder = root_b + (b"/" + rel if rel else b"")
        try:
            st = os.stat(folder)
            if (st.st_dev, st.st_ino) in seen_dirs or (st.st_dev, st.st_ino) in rules.own:
                continue
            seen_dirs.add((st.st_dev, st.st_ino))
            with os.scandir(folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            if skipped is not None:
                skipped.append((os.fsdecode(folder), exc.strerror or str(exc)))
            notes.unlisted.add(rel)
            continue
        names = frozenset(e.name for e in entries)
        if IGNORE_FILE in names and (text := read_ignore_file(folder)):
            rules = rules.with_ignore_file(rel, text)
        subdirs = []
        xmp = {e.name: e for e in entries if is_sidecar_name(e.name) and not e.name.startswith(b".")}
        shared = shared_stems(names) if xmp else frozenset()  # photo.xmp beside photo.jpg + photo.CR2: nobody's
        remove_stale_temps(folder, names)  # what a killed sidecar export left (.tagger-*.xmp-tmp)
        for entry in entries:
            name = entry.name
            if name.startswith(b".") or name in xmp:
                continue
            child = rel + b"/" + name if rel else name
            try:
                is_dir = entry.is_dir(follow_symlinks=True)
                if rules.skips(child, name, is_dir, names):
                    notes.excluded.add(child)
                    continue
                if is_dir:
                    subdirs.append((child, rules))
                    continue
                if not entry.is_file(follow_symlinks=True):
                    continue
                st = entry.stat(follow_symlinks=True)
            except OSError:
                continue  # vanished or a dangling link: not a photo we can index
            if (st.st_dev, st.st_ino) in held or name.endswith(_SQLITE_COMPANIONS):
                continue
            if os.path.splitext(name)[1].lower() in _SUFFIXES or _looks_like_image(entry.path):
                yield FoundFile(child, st.st_size, st.st_mtime_ns, *_sidecars(rel, name, xmp, shared))
        stack.extend(reversed(subdirs))


def _rules_above(root_b: bytes, start: bytes, rules: IgnoreRules, notes: ScanNotes) -> IgnoreRules | None:
    """The rules in force at ``start``: the ``.taggerignore`` files of the folders above it (from the library folder
    down), so that indexing a subfolder leaves out what indexing the whole library would. None: ``start`` itself is
    left out."""
    if not start:
        return rules
    parts = start.split(b"/")
    for depth, name in enumerate(parts):
        above = b"/".join(parts[:depth])
        text = read_ignore_file(root_b + (b"/" + above if above else b""))
        if text:
            rules = rules.with_ignore_file(above, text)
        here = b"/".join(parts[:depth + 1])
        if rules.skips(here, name, True):
            notes.excluded.add(here)
            return None
    return rules


def _sidecars(rel: bytes, name: bytes, xmp: dict,
              shared: frozenset[bytes] = frozenset()) -> tuple[tuple[bytes, ...], str]:
    """The photo's sidecars among the folder's .xmp entries, and their fingerprint (stat only, nothing read)."""
    if not xmp:
        return (), ""
    keys, stats = [], []
    for candidate in sidecar_names(name, shared):
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


_SQLITE_COMPANIONS = (b"-wal", b"-shm", b"-journal")


def _looks_like_image(path: bytes) -> bool:
    try:
        with open(path, "rb") as fh:
            return sniff(fh.read(32)) is not None
    except OSError:
        return False


def _outermost(folders: Sequence[Path | str]) -> list[Path]:
    """The folders to scan, without repeats and without one inside another (its parent's scan covers it, and adding
    the parent as a library folder takes the inner one in)."""
    given = [(os.fsencode(os.path.realpath(f)).rstrip(b"/"), Path(f)) for f in folders]
    out: list[Path] = []
    for i, (real, folder) in enumerate(given):
        if not any(real.startswith(other + b"/") or (real == other and j < i) for j, (other, _) in enumerate(given)):
            out.append(folder)  # in the order given
    return out


def _within(key: bytes, folders: set[bytes]) -> bool:
    """Whether path key ``key`` is one of ``folders`` or lies inside one (b'' is the whole library folder)."""
    if not folders:
        return False
    if b"" in folders or key in folders:
        return True
    cut = key.find(b"/")
    while cut != -1:
        if key[:cut] in folders:
            return True
        cut = key.find(b"/", cut + 1)
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
    faces: tuple[str, list] | None = None  # (detector model id, faces) found in the decode in memory; None: not looked


@dataclass
class _Reusable:
    """Rows a file may turn out to be, found by its content hash, so it is not decoded again.

    Identity by content is only safe one way: the same path with the same content (a ``touch``), or a row whose file
    is no longer at its old path (a move or rename). A row whose file is still there is another photo: the file
    with its content is a copy (an editor's backup, a duplicate), and taking the row would carry the user's tags away
    from the photo they were given to."""

    same_path: dict[bytes, tuple[str, int]] = field(default_factory=dict)  # path key -> (recorded hash, row)
    moved: dict[str, list[tuple[int, bytes]]] = field(default_factory=dict)  # hash -> [(row, its absolute path)]

    def match(self, path: bytes, key: bytes, digest: str) -> int | None:
        recorded = self.same_path.get(key)
        if recorded is not None and recorded[0] == digest:
            return recorded[1]
        for pid, old in self.moved.get(digest, ()):
            if _left(old, path):
                return pid
        return None


def _left(old: bytes, new: bytes) -> bool:
    """Whether the file at ``old`` is no longer there (or is ``new`` itself, by another name: a case-only rename on a
    case-insensitive disk). A path that cannot be checked (permission) counts as still there."""
    try:
        st = os.lstat(old)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    try:
        return os.path.samestat(st, os.lstat(new))
    except OSError:
        return False


def _read_and_decode(root: Root, found: FoundFile, prep, reusable: _Reusable | None = None,
                     faces=None) -> _Decoded:
    """Read (within the decode-memory budget), hash and decode one file. A file whose header shows it cannot be a
    photo (a bomb, a JPEG header followed by junk, 1.5 GB for 64x48 pixels) is refused before the rest is read.
    ``reusable``: rows this content may turn out to be (none: always decode; bench/fuzz_decode.py passes {})."""
    reusable = reusable or _Reusable()
    path = os.fsencode(root.path) + b"/" + found.path_key
    try:
        with open(path, "rb") as fh, read_photo(fh, *decode_sizes(prep)) as data:
            decoded = _hash_and_decode(root, found, prep, reusable, path, data)
    except PermissionError:
        return _Decoded(found, reason="permission denied")
    except FileNotFoundError:
        return _Decoded(found, reason="file vanished")
    except IsADirectoryError:
        return _Decoded(found, reason="not a file")
    except OSError as exc:
        return _Decoded(found, reason=f"cannot read file ({exc.strerror or exc})")
    except ImageDecodeError as exc:  # refused from its header
        return _Decoded(found, reason=exc.reason)
    if faces is not None and decoded.photo is not None:
        decoded.faces = _find_faces(faces, decoded.photo)
    return decoded


def _find_faces(detector, photo) -> tuple[str, list] | None:
    """Faces in the thumbnail-sized pixels already in memory (tagger.engine.faces works at 320 px), on the decode
    thread, so the model thread never waits for it; a detector failure leaves the photo for the detection pass."""
    small, photo.small = photo.small, None  # not kept while the photo waits for its batch
    if small is None:
        return None
    from tagger.engine.faces import MODEL_ID

    try:
        return MODEL_ID, detector.detect(small)
    except Exception:  # noqa: BLE001 - a detector bug must never cost the photo; the detection pass retries
        return None


def _hash_and_decode(root: Root, found: FoundFile, prep, reusable: _Reusable, path: bytes, data: bytes) -> _Decoded:
    digest = content_hash(data) if data else None
    keywords = _keywords(root, found, data)
    reuse = reusable.match(path, found.path_key, digest) if digest is not None else None
    if reuse is not None:
        return _Decoded(found, digest, reuse=reuse, keywords=keywords)
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

    def __init__(self, catalog: Catalog, engine, *, batch_size: int = 32, workers: int | None = None,
                 exclude: Sequence[str] = (), people: bool = True, text: bool = True):
        self.catalog = catalog
        self.exclude = tuple(exclude)  # globs left out besides each folder's .taggerignore (tagger.library.ignore)
        self.engine = engine
        self.batch_size = batch_size
        # decoding dominates (~29 ms a photo against ~10 ms for the model): two decoders per core keep the cores busy
        # while one waits on the disk (bench/index_throughput.py: +7% over one per core on 2 cores)
        self.workers = workers or 2 * (os.cpu_count() or 2)
        self._labels = None  # (version, its labels' LabelSet), built once per active version
        # called with the ids of each committed batch's indexed photos (keyword writing, when it is on)
        self.on_indexed: Callable[[list[int]], None] | None = None
        self._moves: list[tuple[int, bytes, int, bytes]] = []  # (old root, old key, new root, new key) of this run
        # look for faces (in the decode, and in photos indexed before) and read printed text where it is likely
        # (tagger.library.detection_pass): on by default, off for a run with --no-people / --no-text
        self.people = people
        self.text = text

    @property
    def model(self) -> str:
        return self.engine.model_id

    def _face_detector(self):
        """The engine's face detector when people are looked for (opened once, shared by the decode threads)."""
        return self.engine.faces if self.people else None

    def index(self, folders: Sequence[Path | str], *, progress: ProgressFn | None = None,
              should_stop: Callable[[], bool] | None = None) -> IndexStats:
        stats = IndexStats()
        start = time.perf_counter()
        self._moves = []
        plans = [self._plan(f, stats, progress) for f in _outermost(folders)]
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
            if self.people or self.text:
                looked = look_at_photos(self.catalog, self.engine, [p[0].id for p in plans], faces=self.people,
                                        text=self.text, progress=progress, should_stop=should_stop)
                stats.faces, stats.texts = looked.faces, looked.texts
        except Cancelled:
            stats.cancelled = True
        carry_labels(self.catalog, self._moves)  # a renamed labelled folder keeps its label
        fill_active_version(self.catalog, self.engine)  # another process switched versions meanwhile (issue 12)
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
        if not start:
            stats.relinked += adopt_renamed_folder(self.catalog, root)
        known = self.catalog.known_files(root.id, self.model)
        notes = ScanNotes()
        rules = IgnoreRules.for_library(root.path, self.exclude, self.catalog.path)
        todo: list[FoundFile] = []
        refresh: list[tuple[FoundFile, int]] = []  # unchanged photos whose sidecars changed
        seen: set[int] = set()
        found_n = 0
        for found in scan(root.path, start, stats.skipped_dirs, held=self.catalog.held_files(), ignore=rules,
                          notes=notes):
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
        stats.excluded += len(notes.excluded)
        # a photo not found is gone, unless its folder could not be listed (unavailable: kept as it was) or lies
        # outside the part of the library scanned now; one a rule left out leaves the library, saying why
        unseen = {key: k for key, k in known.items()
                  if k.id not in seen and _within(key, {start}) and not _within(key, notes.unlisted)}
        excluded = [k.id for key, k in unseen.items() if k.status != "gone" and _within(key, notes.excluded)]
        missing = [k.id for key, k in unseen.items() if k.status != "gone" and not _within(key, notes.excluded)]
        stats.gone += self.catalog.mark_gone(excluded, EXCLUDED_REASON) + self.catalog.mark_gone(missing)
        return root, todo, self._reusable(root, known, seen, todo, notes), refresh

    def _reusable(self, root: Root, known: dict[bytes, KnownFile], seen: set[int], todo: list[FoundFile],
                  notes: ScanNotes) -> _Reusable:
        """Contents the catalog can reuse without decoding: same-path rewrites (touch), and rows this scan did not
        find, here or in another available library folder (moves; whether the old file has really left is checked
        when the content turns up)."""
        out = _Reusable()
        for f in todo:
            k = known.get(f.path_key)
            if k is not None and k.hash and k.has_embedding:
                out.same_path[f.path_key] = (k.hash, k.id)
        base = os.fsencode(root.path) + b"/"
        for key, k in known.items():
            if (k.hash and k.id not in seen and k.has_embedding and k.status != "failed"
                    and not _within(key, notes.unlisted)):
                out.moved.setdefault(k.hash, []).append((k.id, base + key))
        others = {r.id: os.fsencode(r.path) + b"/" for r in self.catalog.roots() if r.id != root.id}
        if others:
            available = {rid for rid, b in others.items() if os.path.isdir(b)}  # unavailable folders keep their rows
            for pid, rid, key, digest in self.catalog.photos_elsewhere(root.id, self.model):
                if rid in available:
                    out.moved.setdefault(digest, []).append((pid, others[rid] + key))
        return out

    @staticmethod
    def _unchanged(k: KnownFile, found: FoundFile) -> bool:
        if k.size != found.size or k.mtime_ns != found.mtime_ns:
            return False
        return k.status == "failed" or (k.status == "indexed" and k.has_embedding)

    # -- processing: decode in threads, embed in batches, commit per batch

    def _process(self, root: Root, todo: list[FoundFile], reusable: _Reusable, stats: IndexStats,
                 should_stop: Callable[[], bool] | None) -> Iterator[None]:
        """Decode threads feed batches to one model thread; this thread hands out decodes and commits results.

        Decoding never waits for the model: a full batch goes to the model thread and this thread goes straight back
        to collecting decodes and refilling the decode window; it only waits for the model when
        ``MODEL_BATCHES_AHEAD`` batches are already waiting (bounded memory). Catalog writes stay on this thread (the
        SQLite connection's), in batch order, one transaction a batch."""
        if not todo:
            return
        prep = self.engine.prep
        claimed: set[int] = set()
        faces = self._face_detector()
        inflight: deque[tuple[list[_Decoded], Future]] = deque()

        def commit_ready(keep: int) -> Iterator[None]:
            """Commit finished model batches in order; wait while more than ``keep`` are in flight."""
            while inflight and (inflight[0][1].done() or len(inflight) > keep):
                items, fut = inflight.popleft()
                self._commit(root, items, stats, fut.result())
                yield from (None for _ in items)

        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="decode") as pool, \
                ThreadPoolExecutor(max_workers=1, thread_name_prefix="model") as model:
            def decode(f: FoundFile) -> Future:
                return pool.submit(_read_and_decode, root, f, prep, reusable, faces)

            def to_model(items: list[_Decoded]) -> None:
                inflight.append((items, model.submit(self._infer, items)))

            queue: deque[Future] = deque(decode(f) for f in todo[:self.batch_size * DECODE_BATCHES_AHEAD])
            nxt = len(queue)
            batch: list[_Decoded] = []
            try:
                while queue:
                    if should_stop is not None and should_stop():
                        for fut in queue:
                            fut.cancel()
                        if batch:
                            to_model(batch)
                        yield from commit_ready(0)  # what was decoded is committed; the next run resumes after it
                        raise Cancelled()
                    item = queue.popleft().result()
                    if nxt < len(todo):
                        queue.append(decode(todo[nxt]))
                        nxt += 1
                    if item.reuse is not None:
                        if item.reuse not in claimed and self._reuse(root, item, stats):
                            claimed.add(item.reuse)
                            yield None
                            continue
                        # a second copy: decode it after all
                        item = _read_and_decode(root, item.found, prep, _Reusable(), faces)
                    batch.append(item)
                    if len(batch) >= self.batch_size:
                        to_model(batch)
                        batch = []
                    yield from commit_ready(MODEL_BATCHES_AHEAD)
                if batch:
                    to_model(batch)
                yield from commit_ready(0)
            except BaseException:
                for fut in queue:  # a model failure or a stop: leave no decodes running behind the error
                    fut.cancel()
                raise

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
                self._moves.append((photo["root_id"], bytes(photo["path_key"]), root.id, f.path_key))
                stats.moved += 1
            self.catalog.set_file_keywords(item.reuse, item.keywords, f.sidecar_sig,
                                           moved=(photo["root_id"], bytes(photo["path_key"])) != (root.id, f.path_key))
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

    def _infer(self, batch: list[_Decoded]):
        """The model's part of a batch (the model thread): inference, the tag cloud, a trained version's extras.
        None when nothing in the batch decoded."""
        ok = [d for d in batch if d.photo is not None]
        if not ok:
            return None
        out = self.engine.infer(np.stack([d.photo.pixels for d in ok]))
        for d in ok:
            d.photo.pixels = None  # not kept while the batch waits for its commit
        tag_idx, tag_val = self.engine.tag_set.top(out.embeddings, out.top_classes, out.top_probs,
                                                   AUTO_TAGS_PER_PHOTO)
        return out, tag_idx, tag_val, self._trained_extras(out, tag_val)

    def _commit(self, root: Root, batch: list[_Decoded], stats: IndexStats, inferred=None) -> None:
        """Write one batch in one transaction; ``inferred``: its ``_infer`` result when the model thread made it."""
        ok = [d for d in batch if d.photo is not None]
        records: list[PhotoRecord] = []
        if ok:
            out, tag_idx, tag_val, extras = inferred if inferred is not None else self._infer(batch)
            texts = self.engine.tag_set.texts
            for i, d in enumerate(ok):
                p = d.photo
                if d.digest and p.thumbnail and not self.catalog.save_thumbnail(d.digest, p.thumbnail):
                    stats.thumbnails_failed += 1
                records.append(PhotoRecord(
                    root.id, d.found.path_key, d.found.size, d.found.mtime_ns, "indexed", hash=d.digest,
                    width=p.width, height=p.height, format=p.format, taken_at=p.taken_at,
                    features=out.features[i], top_classes=out.top_classes[i], top_probs=out.top_probs[i],
                    embedding=out.embeddings[i],
                    auto_tags=[(texts[j], float(v)) for j, v in zip(tag_idx[i], tag_val[i])],
                    extra=extras[i] if extras else (),
                    keywords=d.keywords, sidecar_sig=d.found.sidecar_sig, faces=d.faces,
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
