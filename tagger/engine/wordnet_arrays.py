"""WordNet as flat arrays on disk, so a command that looks up a few words does not parse all 82,000 synsets.

Parsing ``resources/wordnet_*.txt.gz`` into dicts takes 0.3-0.6 s, the largest part of a ``tagger search`` start.
The same data is written once (``models/wordnet-cache/``, keyed by the resource files' sizes and times) as an
uncompressed ``.npz`` of integer arrays and UTF-8 blobs; loading it reads a few MB and builds no Python objects. The
mappings below answer ``get``/``[]``/``in`` by binary search and decode only what is asked, and behave like the dicts
(and defaultdicts) :class:`tagger.engine.wordnet.WordNet` held, in the same orders, so every caller sees the same
WordNet. Anything unexpected (a wnid not shaped ``n`` + 8 digits, an unreadable or stale cache) falls back to parsing.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np

FORMAT = 2
_WNID = re.compile(r"n\d{8}")


def _num(wnid: str) -> int:
    if not _WNID.fullmatch(wnid):
        raise ValueError(wnid)
    return int(wnid[1:])


def _wnid(num: int) -> str:
    return f"n{num:08d}"


def _blob(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    data = [t.encode("utf-8") for t in texts]
    off = np.zeros(len(data) + 1, np.int64)
    off[1:] = np.cumsum([len(d) for d in data])
    return np.frombuffer(b"".join(data), np.uint8).copy(), off


def _csr(lists: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.zeros(len(lists) + 1, np.int64)
    ptr[1:] = np.cumsum([len(x) for x in lists])
    return ptr, np.asarray([i for x in lists for i in x], np.int64)


def to_arrays(lemmas: dict[str, tuple[str, ...]], parents: dict[str, list[str]], children: dict[str, list[str]],
              by_lemma: dict[str, list[str]], senses: dict[str, dict[str, tuple[int, int]]],
              under: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """The parsed WordNet (and sense counts) as arrays; ValueError when a wnid is not shaped ``n`` + 8 digits."""
    order = list(lemmas)
    for edges in (parents, children):
        order += [w for key, vals in edges.items() for w in (key, *vals)]
    order = list(dict.fromkeys(order))
    index = {w: i for i, w in enumerate(order)}
    nums = np.asarray([_num(w) for w in order], np.int64)
    out: dict[str, np.ndarray] = {"format": np.array(FORMAT), "nums": nums, "sorted": np.argsort(nums, kind="stable")}
    out["lemma_keys"] = np.asarray([index[w] for w in lemmas], np.int64)
    out["lemma_blob"], out["lemma_off"] = _blob(["\t".join(lemmas[w]) for w in lemmas])
    for name, edges in (("parents", parents), ("children", children)):
        keys = [w for w, vals in edges.items() if vals]
        out[f"{name}_keys"] = np.asarray([index[w] for w in keys], np.int64)
        out[f"{name}_ptr"], out[f"{name}_idx"] = _csr([[index[v] for v in edges[w]] for w in keys])
    for name, table, values in (("by", by_lemma, lambda vs: [index[v] for v in vs]),
                                ("sense", senses, lambda vs: [_num(v) for v in vs])):
        keys = sorted(k for k, vs in table.items() if vs or name == "sense")
        out[f"{name}_blob"], out[f"{name}_off"] = _blob(keys)
        out[f"{name}_ptr"], out[f"{name}_idx"] = _csr([values(list(table[k])) for k in keys])
    out["sense_rank"] = np.asarray([r for k in sorted(senses) for r, _ in senses[k].values()], np.int64)
    out["sense_count"] = np.asarray([c for k in sorted(senses) for _, c in senses[k].values()], np.int64)
    keys = list(under)
    out["under_keys"] = np.asarray([_num(k) for k in keys], np.int64)
    out["under_ptr"], out["under_cls"] = _csr([under[k][0].tolist() for k in keys])
    out["under_hops"] = np.concatenate([under[k][1] for k in keys]).astype(np.float32)
    return out


def classes_under(arrays: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """What ``tagger.engine.wordnet._classes_under`` computes, read back (1,860 small entries)."""
    ptr, cls, hops = arrays["under_ptr"].tolist(), arrays["under_cls"], arrays["under_hops"]
    return {_wnid(n): (cls[ptr[i]:ptr[i + 1]], hops[ptr[i]:ptr[i + 1]])
            for i, n in enumerate(arrays["under_keys"].tolist())}


def save(arrays: dict[str, np.ndarray], path: Path) -> None:
    from tagger.fileio import atomic_path

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".npz", fsync=False) as tmp:
        np.savez(tmp, **arrays)


def load(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays in ``path``, or None when it is missing, unreadable or of another format."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        return None
    return arrays if "format" in arrays and int(arrays["format"]) == FORMAT else None


class _Strings:
    """The i-th string of a UTF-8 blob; sorted ones are searched by bisect without decoding them all."""

    def __init__(self, blob: np.ndarray, off: np.ndarray) -> None:
        self._blob = blob.tobytes()
        self._off = off

    def __len__(self) -> int:
        return len(self._off) - 1

    def raw(self, i: int) -> bytes:
        return self._blob[self._off[i]:self._off[i + 1]]

    def __getitem__(self, i: int) -> str:
        return self.raw(i).decode("utf-8")

    def find(self, text: str) -> int:
        """Position of ``text`` in a sorted table, or -1 (UTF-8 byte order is code-point order: str order)."""
        key = text.encode("utf-8", "surrogatepass")
        lo, hi = 0, len(self)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.raw(mid) < key:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < len(self) and self.raw(lo) == key else -1


class Synsets:
    """wnid <-> row number of the arrays."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.nums = arrays["nums"]
        self._sorted = arrays["sorted"]
        self._sorted_nums = self.nums[self._sorted]

    def row(self, wnid: object) -> int:
        if not isinstance(wnid, str) or not _WNID.fullmatch(wnid):
            return -1
        num = int(wnid[1:])
        i = int(np.searchsorted(self._sorted_nums, num))
        return int(self._sorted[i]) if i < len(self._sorted_nums) and self._sorted_nums[i] == num else -1

    def wnid(self, row: int) -> str:
        return _wnid(int(self.nums[row]))


class _Keyed(Mapping):
    """A mapping whose keys are synset rows ``keys`` (in their original order), value i built by ``value(i)``."""

    def __init__(self, syn: Synsets, keys: np.ndarray, value, missing=None) -> None:
        self._syn = syn
        self._keys = keys
        self._pos = np.full(len(syn.nums), -1, np.int64)
        self._pos[keys] = np.arange(len(keys))
        self._value = value
        self._missing = missing

    def _at(self, key: object) -> int:
        row = self._syn.row(key)
        return -1 if row < 0 else int(self._pos[row])

    def __getitem__(self, key):
        i = self._at(key)
        if i < 0:
            if self._missing is None:
                raise KeyError(key)
            return self._missing()  # a defaultdict's answer, without growing
        return self._value(i)

    def get(self, key, default=None):
        i = self._at(key)
        return default if i < 0 else self._value(i)

    def __contains__(self, key: object) -> bool:
        return self._at(key) >= 0

    def __iter__(self) -> Iterator[str]:
        return (self._syn.wnid(k) for k in self._keys.tolist())

    def __len__(self) -> int:
        return len(self._keys)


class _ByText(Mapping):
    """A mapping from sorted strings to lists, answered by binary search."""

    def __init__(self, strings: _Strings, ptr: np.ndarray, value, missing=None) -> None:
        self._strings = strings
        self._ptr = ptr
        self._value = value
        self._missing = missing

    def _values(self, i: int):
        return self._value(self._ptr[i], self._ptr[i + 1])

    def __getitem__(self, key):
        i = self._strings.find(key) if isinstance(key, str) else -1
        if i < 0:
            if self._missing is None:
                raise KeyError(key)
            return self._missing()
        return self._values(i)

    def get(self, key, default=None):
        i = self._strings.find(key) if isinstance(key, str) else -1
        return default if i < 0 else self._values(i)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._strings.find(key) >= 0

    def __iter__(self) -> Iterator[str]:
        return (self._strings[i] for i in range(len(self._strings)))

    def __len__(self) -> int:
        return len(self._strings)


def mappings(arrays: dict[str, np.ndarray]) -> tuple[Mapping, Mapping, Mapping, Mapping, Mapping, dict]:
    """(lemmas, parents, children, by_lemma, sense counts, classes under) as lazy mappings over ``arrays``."""
    syn = Synsets(arrays)
    lemma_text = _Strings(arrays["lemma_blob"], arrays["lemma_off"])
    lemmas = _Keyed(syn, arrays["lemma_keys"], lambda i: tuple(w for w in lemma_text[i].split("\t") if w))
    edges = []
    for name in ("parents", "children"):
        ptr, idx = arrays[f"{name}_ptr"], arrays[f"{name}_idx"]
        edges.append(_Keyed(syn, arrays[f"{name}_keys"],
                            lambda i, ptr=ptr, idx=idx: [syn.wnid(r) for r in idx[ptr[i]:ptr[i + 1]].tolist()], list))
    by_idx = arrays["by_idx"]
    by_lemma = _ByText(_Strings(arrays["by_blob"], arrays["by_off"]), arrays["by_ptr"],
                       lambda a, b: [syn.wnid(r) for r in by_idx[a:b].tolist()], list)
    sense_idx, sense_rank, sense_count = arrays["sense_idx"], arrays["sense_rank"], arrays["sense_count"]
    senses = _ByText(_Strings(arrays["sense_blob"], arrays["sense_off"]), arrays["sense_ptr"],
                     lambda a, b: {_wnid(n): (r, c) for n, r, c in zip(sense_idx[a:b].tolist(),
                                                                        sense_rank[a:b].tolist(),
                                                                        sense_count[a:b].tolist())})
    return lemmas, edges[0], edges[1], by_lemma, senses, classes_under(arrays)
