"""Free-text search, image-to-image similarity and tag clouds over the catalog.

Queries are scored exactly like labels in ``tagger eval`` (one scorer, :mod:`tagger.engine.scoring`): cosine between the
photo's word-space embedding and the query's vector, fused with the WordNet affinity of the photo's top ImageNet
classes. Brute force over an in-memory matrix: ~2 ms per 100k photos for the cosine, and the taxonomic part only
touches photos whose top classes the query's synsets reach (a sparse column slice), so no vector index is needed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from tagger.engine.scoring import LabelSet
from tagger.engine.vectors import unit
from tagger.library.catalog import Catalog, EmbeddingTable

_TOKEN = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
MAX_QUERY_CHARS = 1000
MIN_CLOUD_WEIGHT = 0.1  # relative to the strongest tag: weaker words are noise, however diverse
SLICE_MAX_CLASSES = 300  # above this, multiplying the whole evidence matrix beats copying its columns


@dataclass
class Hit:
    photo_id: int
    path: Path
    score: float

    def to_json(self) -> dict:
        return {"path": str(self.path), "score": round(float(self.score), 6), "id": self.photo_id}


@dataclass
class TagWeight:
    tag: str
    weight: float

    def to_json(self) -> dict:
        return {"tag": self.tag, "weight": round(float(self.weight), 4)}


def query_text(text: str) -> str:
    """The words of a query that carry meaning: lower-cased word tokens without function words ("boats at sunset" ->
    "boats sunset"); punctuation, SQL metacharacters and emoji simply fall away. Kept as typed if nothing is left."""
    from tagger.engine.vocabulary import FUNCTION_WORDS

    tokens = _TOKEN.findall(text[:MAX_QUERY_CHARS].lower())
    content = [t for t in tokens if t not in FUNCTION_WORDS]
    return " ".join(content or tokens)


class Library:
    """Search and tag clouds over one catalog with one engine; keeps the vectors in memory between queries."""

    def __init__(self, catalog: Catalog, engine):
        self.catalog = catalog
        self.engine = engine
        self._table: EmbeddingTable | None = None
        self._evidence: sparse.csc_matrix | None = None
        self._version: tuple | None = None
        self._writes_seen: tuple | None = None  # (data_version, total_changes) when _photos_version was computed
        self._photos_version: tuple = ()
        self._trained: tuple | None = None  # ((version, data version), (N, D) vectors aligned with table().ids)

    # -- the in-memory table, reloaded when the catalog changed

    def table(self) -> EmbeddingTable:
        version = self._data_version()
        if self._table is None or version != self._version:
            self._table = self.catalog.embedding_table(self.engine.model_id, self.engine.backbone)
            t = self._table
            n, k = t.top_classes.shape if t.top_classes.size else (len(t.ids), 0)
            rows = np.repeat(np.arange(n), k)
            self._evidence = sparse.csc_matrix(
                (t.top_probs.ravel(), (rows, t.top_classes.astype(np.int64).ravel())), shape=(n, 1000))
            self._version = version
        return self._table

    def trained_vectors(self) -> np.ndarray:
        """The active version's embeddings, row-aligned with :meth:`table` (zero rows for any photo it lacks)."""
        version = self.engine.version
        table = self.table()
        key = (version.model_id, self._version)
        if self._trained is None or self._trained[0] != key:
            t = self.catalog.embedding_table(version.model_id, self.engine.backbone)
            out = np.zeros((len(table.ids), len(version.label_vectors[0])), np.float32)
            if len(t.ids):
                pos = np.searchsorted(table.ids, t.ids)
                ok = (pos < len(table.ids)) & (table.ids[np.minimum(pos, len(table.ids) - 1)] == t.ids)
                out[pos[ok]] = t.vectors[ok]
            self._trained = (key, out)
        return self._trained[1]

    def _data_version(self) -> tuple:
        """What the photos table looks like, recomputed only after a write: ``PRAGMA data_version`` moves when another
        connection commits and ``total_changes`` counts this connection's writes, both O(1), whereas the aggregate
        scans every photo (~17 ms per query at 100k photos, ~150 ms at 1M)."""
        conn = self.catalog.db.conn
        writes = (conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes)
        if writes != self._writes_seen:
            row = conn.execute(
                "SELECT COUNT(*), COALESCE(MAX(rowid), 0), COALESCE(SUM(status = 'indexed'), 0), "
                "COALESCE(MAX(indexed_at), 0) FROM photos").fetchone()
            self._photos_version, self._writes_seen = tuple(row), writes
        return self._photos_version

    # -- free-text search

    def scores(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(photo ids, scores) of every indexed photo for the query.

        A query that WordNet knows as one concept ("grand piano", "sea horse") or that is a trained label
        ("grandma's house") is scored as one label; otherwise ("boats at sunset") each content word is scored and the
        scores are averaged, so every word must fit. A trained label mixes in the active version's embeddings
        (:meth:`tagger.engine.version.ModelVersion.label_scores`); every other word keeps the zero-training score.
        """
        from tagger.engine.wordnet import wordnet

        table = self.table()
        if not len(table.ids):
            return table.ids, np.zeros(0, np.float32)
        q = query_text(text)
        words = q.split()
        version = self.engine.version
        trained = {query_text(label): i for i, label in enumerate(version.labels)} if version is not None else {}
        parts = [q] if len(words) <= 1 or q in trained or wordnet().synsets(q) else words
        labels = LabelSet.build(parts, self.engine.word_space.text_vectors(parts), self.engine.class_vectors)
        word = labels.vectors @ table.vectors.T  # (parts, N): one pass over the matrix for all words
        affinity = labels.affinity.tocsc()
        for j in range(len(parts)):
            col = affinity[:, j].tocoo()
            if not col.nnz:
                continue
            if col.nnz <= SLICE_MAX_CLASSES:  # a specific word: only its classes' columns are touched
                taxo = self._evidence[:, col.row] @ col.data
            else:  # a general word ("food", "sports") reaches most classes: one pass, no column copy
                dense = np.zeros(self._evidence.shape[1], np.float32)
                dense[col.row] = col.data
                taxo = self._evidence @ dense
            word[j] = 0.5 * (word[j] + np.asarray(taxo).ravel())  # tagger.engine.scoring.fused
        if trained:
            for j, part in enumerate(parts):
                i = trained.get(part)
                if i is not None:
                    word[j] = version.lam[i] * (self.trained_vectors() @ version.label_vectors[i]) \
                        + (1 - version.lam[i]) * word[j]
        return table.ids, word.mean(axis=0) if len(parts) > 1 else word[0]

    def search(self, text: str, limit: int = 20, folder: Path | str | None = None) -> list[Hit]:
        ids, scores = self.scores(text)
        return self._top(ids, scores, limit, folder)

    def similar(self, photo: Path | str | int, limit: int = 20, folder: Path | str | None = None) -> list[Hit]:
        """Photos that look alike: cosine between backbone features (visual, not verbal, similarity)."""
        pid = photo if isinstance(photo, int) else self.catalog.find_photo(photo)
        if pid is None:
            raise LookupError(f"{photo} is not in the catalog (index its folder first)")
        _, query = self.catalog.features([pid], self.engine.backbone)
        if not len(query):
            raise LookupError(f"{photo} has no features (it failed to index: see `tagger status`)")
        q = unit(query[0])
        ids = self.table().ids
        scores = np.zeros(len(ids), np.float32)
        for lo in range(0, len(ids), 20_000):
            got, feats = self.catalog.features(ids[lo:lo + 20_000].tolist(), self.engine.backbone)
            feats = unit(feats)
            pos = np.searchsorted(ids, got)
            scores[pos] = feats @ q
        keep = ids != pid
        return self._top(ids[keep], scores[keep], limit, folder)

    def _top(self, ids: np.ndarray, scores: np.ndarray, limit: int, folder) -> list[Hit]:
        if folder is not None:
            allowed = np.asarray(self.catalog.photos_under(folder), np.int64)
            mask = np.isin(ids, allowed)
            ids, scores = ids[mask], scores[mask]
        if not len(ids) or limit <= 0:
            return []
        k = min(limit, len(ids))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((ids[top], -scores[top]))]
        paths = self.catalog.photo_paths(ids[top].tolist())
        return [Hit(int(ids[i]), paths[int(ids[i])], float(scores[i])) for i in top]

    # -- tag clouds

    def tag_cloud(self, photo_ids: Sequence[int], limit: int = 30, diversity: float = 0.7) -> list[TagWeight]:
        """The words that describe a photo or a set, with weights; near-duplicates ("wood ant", "fire ant") are
        thinned out (maximal marginal relevance over word vectors) so the cloud says more than one thing."""
        stored = self.catalog.auto_tags(photo_ids, self.engine.model_id)
        version = self.engine.version
        # Trained labels compete with the vocabulary on the same scale (tagger.training.retrain).
        if version is not None:
            for pid, tags in self.catalog.auto_tags(photo_ids, version.model_id).items():
                merged = sorted(stored.get(pid, []) + tags, key=lambda tw: -tw[1])
                stored[pid] = merged[:max(len(stored.get(pid, [])), 1)]
        totals: dict[str, float] = {}
        for tags in stored.values():
            if not tags:
                continue
            top, floor = tags[0][1], tags[-1][1]
            span = (top - floor) or 1.0
            for tag, w in tags:
                totals[tag] = totals.get(tag, 0.0) + (w - floor) / span
        if not totals:
            return []
        n = max(1, len(stored))
        best = max(totals.values())
        words = [t for t in sorted(totals, key=lambda t: (-totals[t], t)) if totals[t] >= MIN_CLOUD_WEIGHT * best]
        words = words[: limit * 4]
        weights = np.array([totals[t] / n for t in words], np.float32)
        chosen = mmr(self.engine.word_space.text_vectors(words), weights, limit, diversity)
        return [TagWeight(words[i], float(weights[i])) for i in chosen]


def mmr(vectors: np.ndarray, weights: np.ndarray, k: int, diversity: float) -> list[int]:
    """Greedy maximal marginal relevance: each pick maximises weight - diversity * max cosine to earlier picks."""
    chosen: list[int] = []
    if not len(weights):
        return chosen
    scale = float(weights.max()) or 1.0
    sim_to_chosen = np.full(len(weights), -np.inf)
    available = np.ones(len(weights), bool)
    for _ in range(min(k, len(weights))):
        penalty = np.where(np.isfinite(sim_to_chosen), np.maximum(sim_to_chosen, 0), 0)
        gain = np.where(available, weights / scale - diversity * penalty, -np.inf)
        i = int(np.argmax(gain))
        chosen.append(i)
        available[i] = False
        sim_to_chosen = np.maximum(sim_to_chosen, vectors @ vectors[i])
    return chosen
