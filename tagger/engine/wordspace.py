"""The one loader for word vectors in Tagger: a fastText ``.bin`` behind a small, safe API.

Everything that turns text into a vector (tags, search queries, the CNN's projection target) goes through
``WordSpace`` so that there is exactly one tokenisation and one normalisation in the app. Any fastText ``.bin`` works
(Tagger's default 50-d space built by ``tagger.engine.wordspace_build`` or e.g. ``cc.en.300.bin``): words outside the
vocabulary get a vector from their character n-grams, which fastText computes for us.

fastText's loader trusts the file: a truncated or damaged ``.bin`` can make it allocate absurd amounts of memory or
abort the whole process. ``WordSpace.load`` therefore walks the file header first (magic, version, argument block,
dictionary, matrix shapes) and checks that the file is exactly as long as the header says, so a bad file raises
``WordSpaceError`` instead of taking the app down.
"""

from __future__ import annotations

import dataclasses
import mmap
import re
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tagger.engine.vectors import unit
from tagger.errors import TaggerError

FASTTEXT_MAGIC = 793712314
FASTTEXT_VERSIONS = (11, 12)  # 12 is what fastText 0.9.x writes; 11 files load the same way
_MAX_VOCAB = 30_000_000  # fastText's hash table size: a bigger dictionary would make its loader loop forever
_ARGS = struct.Struct("<12id")  # dim ws epoch minCount neg wordNgrams loss model bucket minn maxn lrUpdateRate t
_DICT_HEAD = struct.Struct("<3i2q")  # size nwords nlabels ntokens pruneidx_size
_MATRIX_HEAD = struct.Struct("<2q")  # rows cols

_SPLIT = re.compile(r"[\s_]+")
_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$")


class WordSpaceError(TaggerError, ValueError):
    """A word-space file is missing, truncated, damaged or not a (usable) fastText model."""


@dataclass(frozen=True)
class FastTextHeader:
    """What the header of a fastText ``.bin`` says; read without loading the matrices."""

    version: int
    dim: int
    nwords: int
    nlabels: int
    bucket: int
    minn: int
    maxn: int
    input_rows: int
    output_rows: int
    file_bytes: int
    input_offset: int = 0  # where the input matrix's float32 rows start in the file
    pruned: bool = False  # a pruned dictionary remaps n-gram rows; only fastText itself knows how


def read_fasttext_header(path: Path) -> FastTextHeader:
    """Validate ``path`` as a dense (non-quantized) fastText model and return its header.

    Raises ``WordSpaceError`` (with the path in the message) for anything fastText itself might crash on.
    """
    path = Path(path)

    def bad(why: str) -> WordSpaceError:
        return WordSpaceError(f"{path}: {why}")

    try:
        size = path.stat().st_size
        if not path.is_file():
            raise bad("not a regular file")
        f = open(path, "rb")
    except OSError as exc:
        raise bad(f"cannot read word-space file ({exc.strerror or exc})") from exc
    with f:
        if size < 8 + _ARGS.size + _DICT_HEAD.size:
            raise bad(f"too short for a fastText model ({size} bytes); truncated or not a fastText .bin")
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            magic, version = struct.unpack_from("<2i", mm, 0)
            if magic != FASTTEXT_MAGIC:
                raise bad("not a fastText .bin (wrong magic number)")
            if version not in FASTTEXT_VERSIONS:
                raise bad(f"unsupported fastText file version {version} (expected one of {FASTTEXT_VERSIONS})")
            (dim, _ws, _epoch, _min_count, _neg, _word_ngrams, loss, model, bucket, minn, maxn, _lr_rate,
             _t) = _ARGS.unpack_from(mm, 8)
            if not (0 < dim <= 100_000) or bucket < 0 or minn < 0 or maxn < 0 or loss not in (1, 2, 3, 4) \
                    or model not in (1, 2, 3):
                raise bad("damaged fastText header (implausible arguments)")
            if maxn > 0 and bucket == 0:
                raise bad("damaged fastText header (character n-grams without buckets)")
            pos = 8 + _ARGS.size
            n_entries, nwords, nlabels, _ntokens, prune_size = _DICT_HEAD.unpack_from(mm, pos)
            pos += _DICT_HEAD.size
            if nwords < 0 or nlabels < 0 or n_entries != nwords + nlabels or n_entries > _MAX_VOCAB \
                    or n_entries * 10 > size or prune_size < -1 or prune_size > _MAX_VOCAB:
                raise bad("truncated or damaged fastText dictionary header")
            for _ in range(n_entries):  # entry: word bytes, NUL, int64 count, int8 type
                end = mm.find(b"\0", pos)
                if end < 0 or end + 10 > size:
                    raise bad("truncated fastText dictionary")
                if end == pos or mm[end + 9] > 1:
                    raise bad("damaged fastText dictionary entry")
                pos = end + 10
            pos += 8 * max(prune_size, 0)
            if pos + 1 > size:
                raise bad("truncated fastText file (ends after the dictionary)")
            if mm[pos] != 0:
                raise bad("quantized fastText models (.ftz) are classifiers, not word spaces; not supported")
            pos += 1
            input_offset = pos + _MATRIX_HEAD.size
            rows_in, cols_in, pos = _matrix(mm, pos, size, bad, "input")
            if cols_in != dim or rows_in != nwords + bucket:
                raise bad(f"input matrix is {rows_in}x{cols_in}, header says {nwords + bucket}x{dim}")
            if pos + 1 > size:
                raise bad("truncated fastText file (no output matrix)")
            if mm[pos] != 0:
                raise bad("quantized output matrix; not supported")
            rows_out, _cols_out, pos = _matrix(mm, pos + 1, size, bad, "output")
            if pos != size:
                raise bad(f"file is {size} bytes but its header describes {pos}: truncated or damaged")
    return FastTextHeader(version, dim, nwords, nlabels, bucket, minn, maxn, rows_in, rows_out, size, input_offset,
                          prune_size >= 0)


def _matrix(mm: mmap.mmap, pos: int, size: int, bad, name: str) -> tuple[int, int, int]:
    if pos + _MATRIX_HEAD.size > size:
        raise bad(f"truncated fastText file (in the {name} matrix header)")
    rows, cols = _MATRIX_HEAD.unpack_from(mm, pos)
    if rows < 0 or cols < 0:
        raise bad(f"damaged {name} matrix header ({rows}x{cols})")
    end = pos + _MATRIX_HEAD.size + rows * cols * 4
    if end > size:
        raise bad(f"truncated or damaged fastText file (its {rows}x{cols} {name} matrix needs {end} bytes, "
                  f"the file has {size})")
    return rows, cols, end


class WordSpace:
    """Word and phrase vectors from a fastText model; cosine neighbours over its vocabulary or given candidates."""

    def __init__(self, path: Path, model, header: FastTextHeader) -> None:
        self.path = Path(path)
        self.header = header
        self.dim: int = header.dim
        self._model = model
        self._words: list[str] | None = None
        self._vocab_unit: np.ndarray | None = None
        self._candidates: tuple[tuple[str, ...], np.ndarray] | None = None

    @classmethod
    def load(cls, path: Path) -> WordSpace:
        """Load a fastText ``.bin``; ``WordSpaceError`` if it is missing, damaged or not a dense fastText model.

        Vectors come from the memory-mapped cache beside the file (``wordspace_vectors``), built here on the first
        load; fastText's own loader runs only to build it, or where it cannot be built (then it serves every load)."""
        from tagger.engine import wordspace_vectors

        path = Path(path)
        cached = wordspace_vectors.open_cached(path)
        if cached is not None:
            vectors, meta = cached
            fields = {k: meta[k] for k in FastTextHeader.__dataclass_fields__}
            return cls(path, vectors, FastTextHeader(**fields))
        header = read_fasttext_header(path)
        import fasttext
        import fasttext.FastText

        fasttext.FastText.eprint = lambda *a, **k: None  # silences the "load_model does not return..." warning
        try:
            model = fasttext.load_model(str(path))
        except Exception as exc:  # fastText reports format problems as ValueError / RuntimeError / MemoryError
            raise WordSpaceError(f"{path}: fastText could not load it ({exc})") from exc
        if model.get_dimension() != header.dim:
            raise WordSpaceError(f"{path}: fastText reports dim {model.get_dimension()}, header says {header.dim}")
        mapped = wordspace_vectors.build_cache(path, model, dataclasses.asdict(header))
        return cls(path, mapped or model, header)

    def __repr__(self) -> str:
        return f"WordSpace({str(self.path)!r}, dim={self.dim}, words={self.header.nwords})"

    def __len__(self) -> int:
        return self.header.nwords

    def words(self) -> list[str]:
        """The in-vocabulary words, in the model's dictionary order (a copy)."""
        return list(self._word_list())

    def _word_list(self) -> list[str]:
        if self._words is None:
            self._words = list(self._model.get_words(on_unicode_error="replace"))
        return self._words

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str):
            return False
        try:
            return self._model.get_word_id(word) >= 0
        except Exception:  # e.g. lone surrogates that cannot be encoded as UTF-8
            return False

    def word_vector(self, word: str) -> np.ndarray:
        """fastText's vector for ``word`` (out-of-vocabulary words: mean of their character n-gram rows), float32."""
        return np.asarray(self._model.get_word_vector(word), dtype=np.float32)

    def tokens(self, text: str) -> list[str]:
        """How ``text_vector`` splits text: lowercase, split on whitespace, '_' and '-' (a hyphenated word the
        vocabulary knows, like "t-shirt", stays whole), edge punctuation stripped, tokens without letters dropped
        unless the vocabulary knows them."""
        if not isinstance(text, str):
            return []
        out: list[str] = []
        for chunk in _SPLIT.split(text.lower()):
            chunk = _EDGE_PUNCT.sub("", chunk)
            if not chunk:
                continue
            parts = [chunk] if "-" not in chunk or chunk in self else chunk.split("-")
            for part in parts:
                part = _EDGE_PUNCT.sub("", part)
                if part and (any(c.isalpha() for c in part) or part in self):
                    out.append(part)
        return out

    def knows(self, text: str) -> bool:
        """Whether every word of ``text`` is in the vocabulary. fastText gives any string a vector (from its letters),
        so "zorblax" has one; it just means nothing to rank by, and callers that weigh meaning must ask."""
        tokens = self.tokens(text)
        return bool(tokens) and all(t in self for t in tokens)

    def text_vector(self, text: str) -> np.ndarray:
        """Unit-norm vector of a phrase: mean of its unit word vectors; zero vector if nothing usable (no error)."""
        acc = np.zeros(self.dim, dtype=np.float64)
        for token in self.tokens(text):
            try:
                v = self.word_vector(token)
            except Exception:  # un-encodable text: treat like garbage, never raise
                continue
            n = float(np.linalg.norm(v))
            if n > 1e-12 and np.isfinite(n):
                acc += v / n
        n = float(np.linalg.norm(acc))
        if not (n > 1e-12 and np.isfinite(n)):
            return np.zeros(self.dim, dtype=np.float32)
        return (acc / n).astype(np.float32)

    def text_vectors(self, texts: Iterable[str]) -> np.ndarray:
        """``text_vector`` of each text as the rows of an (n, dim) float32 array."""
        rows = [self.text_vector(t) for t in texts]
        return np.stack(rows) if rows else np.zeros((0, self.dim), dtype=np.float32)

    def _vocabulary_unit(self) -> np.ndarray:
        if self._vocab_unit is None and hasattr(self._model, "vocabulary_matrix"):
            self._vocab_unit = unit(np.asarray(self._model.vocabulary_matrix(), dtype=np.float32))
        if self._vocab_unit is None:
            words = self._word_list()
            m = np.empty((len(words), self.dim), dtype=np.float32)
            for i, w in enumerate(words):
                m[i] = self._model.get_word_vector(w)
            self._vocab_unit = unit(m)
        return self._vocab_unit

    def _candidates_unit(self, candidates: Sequence[str]) -> np.ndarray:
        key = tuple(candidates)
        if self._candidates is None or self._candidates[0] != key:
            self._candidates = (key, self.text_vectors(key))
        return self._candidates[1]

    def nearest(self, vector: np.ndarray, k: int = 10,
                candidates: Sequence[str] | None = None) -> list[tuple[str, float]]:
        """The ``k`` words (or ``candidates``, scored with ``text_vector`` so phrases work) with the highest cosine
        to ``vector``, best first. The unit vocabulary matrix is built on first use and kept (about 30 MB for the
        default space; several GB for a 2M-word 300-d model)."""
        q = np.asarray(vector, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.dim:
            raise ValueError(f"vector has {q.shape[0]} dimensions, word space {self.path} has {self.dim}")
        n = float(np.linalg.norm(q))
        if k <= 0 or not (n > 0 and np.isfinite(n)):
            return []
        if candidates is None:
            names, matrix = self._word_list(), self._vocabulary_unit()
        else:
            names, matrix = list(candidates), self._candidates_unit(candidates)
        if not names:
            return []
        scores = matrix @ (q / n)
        k = min(k, len(names))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(names) else np.arange(len(names))
        top = top[np.lexsort((top, -scores[top]))]  # best first; ties by index, so results are deterministic
        return [(names[i], float(scores[i])) for i in top]


