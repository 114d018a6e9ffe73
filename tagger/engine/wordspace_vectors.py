"""Word vectors without fastText's loader: memory-mapped arrays beside the ``.bin``, built once.

``fasttext.load_model`` reads the whole 70 MB default space (and builds its hash tables) on every start; that was most
of a CLI ``search``. Here the vocabulary's finished word vectors are saved once as ``<bin>.vectors.npy`` (with the
words in ``<bin>.words.txt``) and opened with ``np.load(mmap_mode="r")``; a word outside the vocabulary gets its
vector from the ``.bin``'s own input matrix, memory-mapped in place, with fastText's subword rule redone in numpy:
the word wrapped in ``<`` ``>``, its character n-grams of ``minn..maxn`` characters (fastText walks UTF-8 bytes and
never starts an n-gram on a continuation byte), each hashed with 32-bit FNV-1a over *signed* bytes (fastText casts
``char`` to ``int8_t``) modulo ``bucket``, rows ``nwords + hash`` averaged. Only the pages a query touches are read.

The cache is keyed to the ``.bin`` (size, mtime and header recorded in ``<bin>.vectors.json``), so a changed or
replaced file rebuilds it; the files are written atomically so a crash never leaves a half cache that looks whole.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from tagger.fileio import atomic_path

CACHE_FORMAT = 1
EOS = "</s>"  # fastText's end-of-sentence token: in the dictionary, but never split into n-grams
_FNV_OFFSET = 2166136261
_FNV_PRIME = 16777619


def cache_paths(bin_path: Path) -> tuple[Path, Path, Path]:
    """``(meta.json, vectors.npy, words.txt)`` beside ``bin_path``."""
    bin_path = Path(bin_path)
    return (bin_path.with_name(bin_path.name + ".vectors.json"), bin_path.with_name(bin_path.name + ".vectors.npy"),
            bin_path.with_name(bin_path.name + ".words.txt"))


def _key(bin_path: Path) -> dict:
    st = os.stat(bin_path)
    return {"format": CACHE_FORMAT, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def fasttext_hash(ngram: bytes) -> int:
    """fastText's ``Dictionary::hash``: FNV-1a 32-bit where each byte is first sign-extended (``int8_t``)."""
    h = _FNV_OFFSET
    for b in ngram:
        h = ((h ^ ((b - 256) & 0xFFFFFFFF if b >= 128 else b)) * _FNV_PRIME) & 0xFFFFFFFF
    return h


def subword_rows(word: str, nwords: int, bucket: int, minn: int, maxn: int) -> list[int]:
    """Input-matrix rows of ``word``'s character n-grams, in fastText's order (``Dictionary::computeSubwords``)."""
    if word == EOS or maxn <= 0 or bucket <= 0:
        return []
    data = ("<" + word + ">").encode("utf-8")
    size = len(data)
    rows: list[int] = []
    for i in range(size):
        if (data[i] & 0xC0) == 0x80:
            continue
        j, n = i, 1
        while j < size and n <= maxn:
            j += 1
            while j < size and (data[j] & 0xC0) == 0x80:
                j += 1
            if n >= minn and not (n == 1 and (i == 0 or j == size)):
                rows.append(nwords + fasttext_hash(data[i:j]) % bucket)
            n += 1
    return rows


class MappedVectors:
    """The part of a fastText model that Tagger uses (``get_word_vector``, ``get_word_id``, ``get_words``,
    ``get_dimension``), answered from memory-mapped arrays; a drop-in for the loaded model inside ``WordSpace``."""

    def __init__(self, bin_path: Path, meta: dict) -> None:
        _meta_path, vectors_path, words_path = cache_paths(bin_path)
        self.dim = int(meta["dim"])
        self.nwords = int(meta["nwords"])
        self.bucket = int(meta["bucket"])
        self.minn = int(meta["minn"])
        self.maxn = int(meta["maxn"])
        self.vectors = np.load(vectors_path, mmap_mode="r")
        self.input = np.memmap(bin_path, dtype="<f4", mode="r", offset=int(meta["input_offset"]),
                               shape=(self.nwords + self.bucket, self.dim))
        self.words = words_path.read_text(encoding="utf-8").split("\n")
        if self.vectors.shape != (self.nwords, self.dim) or len(self.words) != self.nwords:
            raise ValueError("word-vector cache does not match its header")
        self._ids: dict[str, int] | None = None

    def get_dimension(self) -> int:
        return self.dim

    def get_words(self, on_unicode_error: str = "strict") -> list[str]:
        return self.words

    def get_word_id(self, word: str) -> int:
        word.encode("utf-8")  # like fastText's binding: text that is not valid UTF-8 raises
        if self._ids is None:
            self._ids = {w: i for i, w in enumerate(self.words)}
        return self._ids.get(word, -1)

    def get_word_vector(self, word: str) -> np.ndarray:
        i = self.get_word_id(word)
        if i >= 0:
            return np.array(self.vectors[i], dtype=np.float32)
        rows = subword_rows(word, self.nwords, self.bucket, self.minn, self.maxn)
        if not rows:
            return np.zeros(self.dim, dtype=np.float32)
        return (self.input[np.asarray(rows)].astype(np.float64).sum(axis=0) / len(rows)).astype(np.float32)

    def vocabulary_matrix(self) -> np.ndarray:
        """Every vocabulary word's vector, (nwords, dim), in dictionary order (memory-mapped, read-only)."""
        return self.vectors


def open_cached(bin_path: Path) -> tuple[MappedVectors, dict] | None:
    """The cache for ``bin_path`` and its recorded header if it exists and still matches the file; else ``None``."""
    meta_path = cache_paths(bin_path)[0]
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if {k: meta.get(k) for k in ("format", "size", "mtime_ns")} != _key(bin_path):
            return None
        return MappedVectors(bin_path, meta), meta
    except (OSError, ValueError, KeyError, TypeError):
        return None


def build_cache(bin_path: Path, model, header: dict) -> MappedVectors | None:
    """Write the cache for ``bin_path`` from the loaded fastText ``model`` (whose header is ``header``: dim, nwords,
    bucket, minn, maxn, input_offset, pruned). ``None`` where it cannot be used or written (a pruned model, words that
    are not valid UTF-8, a read-only folder): the caller keeps using fastText."""
    if header.get("pruned") or header["input_offset"] <= 0:
        return None
    try:
        words = list(model.get_words(on_unicode_error="strict"))
    except Exception:  # a dictionary word that is not UTF-8 could never be looked up from Python text anyway
        return None
    if len(words) != header["nwords"] or any("\n" in w for w in words):
        return None
    meta_path, vectors_path, words_path = cache_paths(bin_path)
    try:
        key = _key(bin_path)
        vectors = np.empty((len(words), header["dim"]), dtype=np.float32)
        for i, w in enumerate(words):
            vectors[i] = model.get_word_vector(w)
        with atomic_path(vectors_path, suffix=".npy") as tmp:
            np.save(tmp, vectors)
        with atomic_path(words_path) as tmp:
            tmp.write_text("\n".join(words), encoding="utf-8")
        with atomic_path(meta_path) as tmp:  # written last: its presence says the other two are complete
            tmp.write_text(json.dumps({**key, **header}), encoding="utf-8")
        return MappedVectors(bin_path, {**key, **header})
    except (OSError, ValueError):
        return None
