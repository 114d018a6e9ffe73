"""Free-text search, image-to-image similarity and tag clouds over the catalog.

Queries are scored exactly like labels in ``tagger eval`` (one scorer, :mod:`tagger.engine.scoring`): cosine between the
photo's word-space embedding and the query's vector, fused with the WordNet affinity of the photo's top ImageNet
classes. Brute force over an in-memory matrix: ~2 ms per 100k photos for the cosine, and the taxonomic part is a gather
of each photo's top-T classes' affinities (``relevance.ClassEvidence``), so no vector index and no sparse matrix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tagger.engine.vectors import unit
from tagger.library import relevance
from tagger.library.browse import DateRange, photos_in
from tagger.library.catalog import Catalog, EmbeddingTable
from tagger.library.detected_words import (
    DETECTED,
    FACES_WHY,
    FEW,
    PRINTED_PHRASE,
    TEXT_WHY,
    DetectedWords,
    detected_tags,
    names_detected,
    printed_relevance,
)
from tagger.library.label_scores import LabelScores, instant_scores, learnable
from tagger.library.user_words import UserWords, fold

if TYPE_CHECKING:
    from tagger.library.relevance import ClassEvidence

_TOKEN = re.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)
MAX_QUERY_CHARS = 1000
MIN_CLOUD_WEIGHT = 0.1  # relative to the strongest tag: weaker words are noise, however diverse
LABEL_LEAD = 0.1  # a label the photo surely is (p = 1) shows 10% above the photo's best automatic tag
FUZZY_MIN = 6  # a misread letter is forgiven in printed words of at least this many letters


@dataclass
class Hit:
    """One photo of a result. ``score`` is the relevance on the one scale every query shares (``relevance``; a
    similarity for ``similar``); ``match`` whether it clears the line; ``why`` what made it match."""

    photo_id: int
    path: Path
    score: float
    match: bool = False
    why: str = ""  # 'tag', 'label', 'meaning' or '' (no match)

    def to_json(self) -> dict:
        out = {"path": str(self.path), "score": round(float(self.score), 6), "id": self.photo_id,
               "match": bool(self.match)}
        if self.why:
            out["why"] = self.why
        return out


@dataclass
class SearchResult:
    """A search's best photos plus what the app and the CLI say about it: how many photos match (in the whole
    library or folder, not just the ``hits`` returned) and, when none does, words that would."""

    query: str
    hits: list[Hit]
    matches: int
    considered: int  # photos searched (the library, or the folder / tag filter)
    suggestions: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)  # the tag filter applied

    def to_json(self) -> dict:
        return {"query": self.query, "tags": self.tags, "matches": self.matches, "considered": self.considered,
                "suggestions": self.suggestions, "hits": [h.to_json() for h in self.hits]}


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
        self._evidence: ClassEvidence | None = None
        self._version: tuple | None = None
        self._writes_seen: tuple | None = None  # (data_version, total_changes) when _photos_version was computed
        self._photos_version: tuple = ()
        self._trained: tuple | None = None  # ((version, data version), (N, D) vectors aligned with table().ids)
        self._words: tuple | None = None  # (writes, UserWords)
        self._labels: tuple | None = None  # (key, LabelScores | None)
        self._feats: tuple | None = None  # (table version, features)
        self._best: tuple | None = None  # (table version, best tag weights, best tag words)
        self._best_vectors: tuple | None = None  # (the best tag words list, their vectors)
        self._detections: tuple | None = None  # ((writes, table version), DetectedWords)

    # -- the in-memory table, reloaded when the catalog changed

    def table(self) -> EmbeddingTable:
        version = self._data_version()
        if self._table is None or version != self._version:
            self._table = self.catalog.embedding_table(self.engine.model_id, self.engine.backbone)
            t = self._table
            self._evidence = relevance.ClassEvidence.of(t.top_classes, t.top_probs)
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

    def _writes(self) -> tuple:
        """Moves on every commit of any connection (``data_version``) and every write of this one: O(1)."""
        conn = self.catalog.db.conn
        return conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes

    # -- the person's words and labels

    def user_words(self) -> UserWords:
        """Tags, keywords and labels of the library, re-read after any write to the catalog."""
        writes = self._writes()
        if self._words is None or self._words[0] != writes:
            self._words = (writes, UserWords.from_catalog(self.catalog))
        return self._words[1]

    def _features(self) -> np.ndarray:
        """Stored backbone features (N, F) float16 aligned with :meth:`table`, loaded once per change of the photos,
        only when there are labels to score (2.5 KB a photo: 250 MB for 100k)."""
        table = self.table()
        if self._feats is None or self._feats[0] != self._version:
            ids = table.ids
            feats: np.ndarray | None = None
            for got, f, _, _ in self.catalog.feature_chunks(self.engine.backbone, ids.tolist()):
                if feats is None:
                    feats = np.zeros((len(ids), f.shape[1]), np.float16)
                feats[np.searchsorted(ids, got)] = f
            self._feats = (self._version, feats if feats is not None else np.zeros((len(ids), 0), np.float16))
        return self._feats[1]

    def _best_tags(self) -> tuple[np.ndarray, list[str]]:
        """(each photo's best stored automatic tag weight (N,), the distinct best tags), once per change of the
        photos: the match line compares a query with the first; suggestions come from the second."""
        table = self.table()
        if self._best is None or self._best[0] != self._version:
            ids = table.ids
            best = np.zeros(len(ids), np.float32)
            words: set[str] = set()
            # SQLite gives a bare column of a MAX() aggregate from the row holding the maximum: the best tag itself
            rows = self.catalog.db.execute(
                "SELECT photo_id, tag, MAX(weight) FROM auto_tags WHERE model = ? GROUP BY photo_id",
                [self.engine.model_id]).fetchall()
            if rows and len(ids):  # one searchsorted for all rows: a Python loop of them was 50-70 ms at 10k photos
                pids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
                at = np.searchsorted(ids, pids)
                ok = (at < len(ids)) & (ids[np.minimum(at, len(ids) - 1)] == pids)
                best[at[ok]] = np.fromiter((r[2] for r in rows), np.float64, len(rows))[ok]
                words = {rows[k][1] for k in np.flatnonzero(ok)}
            self._best = (self._version, best, sorted(words))
        return self._best[1], self._best[2]

    def detected(self) -> DetectedWords:
        """What faces and printed text say about words, for every photo of :meth:`table` (re-read after a write)."""
        table = self.table()
        key = (self._writes(), self._version)
        if self._detections is None or self._detections[0] != key:
            self._detections = (key, DetectedWords.from_catalog(self.catalog, table.ids, self._animal()))
        return self._detections[1]

    def _animal(self) -> np.ndarray:
        """(N,) the classifier's probability that each photo shows a mammal (ImageNet has no people: every mammal
        class is an animal), aligned with :meth:`table`."""
        self.table()
        return relevance.taxonomy_probability("mammal", self._evidence)

    def _detected(self, part: str, p: np.ndarray, why: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A query part's relevance raised by the detectors: faces for people words, read text for text kinds, and
        the photos that print the words; every photo's detections are read only for a word they can speak to."""
        evidence = None
        if names_detected(part):
            found = self.detected()
            rivals = found.rivals(part)
            if rivals is not None:  # the text says it is a receipt: the classifier's "menu" gives way
                p = (p * np.clip(1.0 - rivals, 0.0, 1.0)).astype(np.float32)
                why = np.where(p >= relevance.MATCH, why, 0).astype(np.int8)
            evidence = found.evidence(part)
        for ev in (evidence, self._printed(part, self.table().ids)):
            if ev is None:
                continue
            prob, code = ev
            stronger = prob > p
            p = np.maximum(p, prob).astype(np.float32)
            why = np.where(stronger & (p >= relevance.MATCH), code, why).astype(np.int8)
        return p, why

    def _printed(self, part: str, ids: np.ndarray) -> tuple[np.ndarray, int] | None:
        """Photos printing the words of ``part``; a misread letter forgiven in a name or a made-up word."""
        fuzzy = len(part) >= FUZZY_MIN and " " not in part and not self.engine.word_space.knows(part)
        rel = printed_relevance(self.catalog, part, ids, fuzzy=fuzzy)
        return None if rel is None else (rel, TEXT_WHY)

    def label_scores(self) -> LabelScores | None:
        """p(label | photo) of the person's labels for every photo (``tagger.library.label_scores``): from the
        active version's label model when it knows these labels, else from the labelled photos' prototypes."""
        words = self.user_words()
        table = self.table()
        version = self.engine.version
        # what the scores depend on: the labels and their photos (not every write: a keyword or a setting changes
        # nothing here), the photos, the active version
        labels = learnable(words)
        key = (hash(tuple((t, tuple(p)) for t, p in labels)), self._version, getattr(version, "number", 0))
        if self._labels is None or self._labels[0] != key:
            if not labels:  # no label: nothing to load
                self._labels = (key, None)
                return None
            feats = self._features()
            trained = None
            label_model = getattr(version, "label_model", None)
            if label_model is not None:
                trained = (label_model[0], label_model[1], f"version {version.number}")

            def prior_of(texts):
                """The untrained scores of the labels; none for a word the word space does not know ("zorblax")."""
                out = self.engine.label_set(texts).scores(table.vectors, table.top_classes, table.top_probs)
                out[:, [not self.engine.word_space.knows(t) for t in texts]] = 0.0
                return out

            self._labels = (key, instant_scores(words, table.ids, feats, prior_of, trained))
        return self._labels[1]

    def relevance(self, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(photo ids, relevance (N,), rank score (N,), why (N,) as 0 none / 1 meaning / 2 label / 3 tag) for the query
        (``tagger.library.relevance``): a photo carrying the words the query names is certain; a label's photos
        get the label model's probability; every word the untrained model's, less what the labels explain."""
        from tagger.engine.scoring import TAG_DELTA
        from tagger.engine.wordnet import wordnet

        ids, raw = self.scores(text)
        rel = np.zeros(len(ids), np.float32)
        why = np.zeros(len(ids), np.int8)
        if not len(ids):
            return ids, rel, raw, why
        words = self.user_words()
        q = " ".join(fold(text).split()[:64])
        tagged = words.photos(q) if q else set()
        labels = self.label_scores()
        # one concept when the person's words, WordNet ("big cat", "grand piano") or a label name it whole; else its
        # head noun decides and the other words re-rank ("boats at sunset": boats, sunset first; query_parse)
        content = query_text(text)
        whole = (bool(tagged) or len(content.split()) <= 1 or bool(wordnet().synsets(content))
                 or (labels is not None and any(fold(t) == fold(content) for t in labels.labels))
                 or names_detected(content))  # "group photo", "boarding pass": what the detectors speak to
        printed = printed_relevance(self.catalog, content, ids, PRINTED_PHRASE) if len(content.split()) > 1 else None
        parts = [q if tagged else content] if whole else _head_and_context(text)
        table = self.table()
        best, _ = self._best_tags()
        per_part = []
        label_rank = None  # the labels' strength: unlike p, it still orders photos that are surely the label
        for part in parts:
            tagged_part = words.photos(part)
            label_part = inside = None
            if labels is not None:
                rivals = [j for j, t in enumerate(labels.labels) if relevance.excludes(t, part)]
                if rivals:
                    inside = np.exp(np.logaddexp.reduce(labels.log_probs[:, rivals], axis=1))
                cols = [j for j, t in enumerate(labels.labels) if relevance.implies(t, part)]
                if cols:
                    label_part = np.exp(np.logaddexp.reduce(labels.log_probs[:, cols], axis=1))
                    strength = np.logaddexp.reduce(labels.strength[:, cols], axis=1)
                    label_rank = strength if label_rank is None else label_rank + strength
            vec = self.engine.word_space.text_vectors([part])
            word = relevance.QueryWord.build(part, vec[0], self.engine.class_vectors, delta=TAG_DELTA)
            on_tag_scale = relevance.tag_scale(word, table.vectors, self._evidence)
            zero = relevance.zero_shot_probability(part, on_tag_scale, best, self._evidence)
            if not self.engine.word_space.knows(part):  # a made-up word: a vector from its letters, no meaning
                zero = relevance.taxonomy_probability(part, self._evidence)
            zero_part = relevance.combine(zero, inside, None)
            p = zero_part if label_part is None else np.maximum(zero_part, label_part)
            part_why = np.where(p >= relevance.MATCH, 1, 0).astype(np.int8)
            if label_part is not None:
                part_why[(p >= relevance.MATCH) & (label_part >= zero_part)] = 2
            p, part_why = self._detected(part, p, part_why)  # faces and printed text (tagger.library.detections)
            if tagged_part:
                hit = np.isin(ids, np.fromiter(tagged_part, np.int64, len(tagged_part)))
                p = np.where(hit, 1.0, p).astype(np.float32)
                part_why = np.where(hit, 3, part_why).astype(np.int8)
            per_part.append((p, part_why))
        rel, why = per_part[0]
        if len(per_part) > 1:  # the head decides the match; how well a photo fits the context re-ranks it
            _, meaning = self._meaning(parts[1:])
            fit = np.mean([np.maximum(p, relevance.percentile(m)) for (p, _), m in zip(per_part[1:], meaning)], axis=0)
            rel = relevance.with_context(rel, fit)
        if printed is not None:  # every word printed in the photo ("hotel california" on a sign): one text match
            why = np.where((printed > rel) & (printed >= relevance.MATCH), TEXT_WHY, why).astype(np.int8)
            rel = np.maximum(rel, printed).astype(np.float32)
        if label_rank is not None:  # a label query: among equal relevance, by the label model, not the words
            raw = (label_rank + 1e-3 * raw).astype(np.float32)
        return ids, rel, raw, why

    # -- free-text search

    def scores(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(photo ids, scores) of every indexed photo for the query.

        A query that WordNet knows as one concept ("grand piano", "sea horse") or that is a trained label
        ("grandma's house") is scored as one label; otherwise ("boats at sunset") its head noun is scored and each
        context word adds CONTEXT_WEIGHT of its mean score (``tagger.engine.query_parse``). A trained label mixes in
        the active version's embeddings (:meth:`tagger.engine.version.ModelVersion.label_scores`); every other word
        keeps the zero-training score.
        """
        from tagger.engine.wordnet import wordnet

        q = query_text(text)
        version = self.engine.version
        trained = {query_text(label): i for i, label in enumerate(version.labels)} if version is not None else {}
        parts = [q] if len(q.split()) <= 1 or q in trained or wordnet().synsets(q) else _head_and_context(text)
        ids, word = self._meaning(parts)
        if len(parts) == 1 or not len(ids):
            return ids, word[0] if len(word) else np.zeros(len(ids), np.float32)
        return ids, word[0] + relevance.CONTEXT_WEIGHT * word[1:].mean(axis=0)

    def _meaning(self, parts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(photo ids, (len(parts), N) meaning scores): each part scored as one label (word vector fused with the
        WordNet affinity of the photo's top classes; a trained label mixes in the active version)."""
        table = self.table()
        if not len(table.ids):
            return table.ids, np.zeros((len(parts), 0), np.float32)
        version = self.engine.version
        trained = {query_text(label): i for i, label in enumerate(version.labels)} if version is not None else {}
        vectors = self.engine.word_space.text_vectors(parts)
        words = [relevance.QueryWord.build(p, v) for p, v in zip(parts, vectors)]
        word = np.stack([w.vector for w in words]) @ table.vectors.T  # (parts, N): one pass for all words
        for j, w in enumerate(words):
            if w.affinity.any():  # the photos' top classes weighed by the word's affinity: a (N, T) gather
                word[j] = 0.5 * (word[j] + self._evidence.weigh(w.affinity))  # tagger.engine.scoring.fused
        if trained:
            for j, part in enumerate(parts):
                i = trained.get(part)
                if i is not None:
                    word[j] = version.lam[i] * (self.trained_vectors() @ version.label_vectors[i]) \
                        + (1 - version.lam[i]) * word[j]
        return table.ids, word

    def search(self, text: str, limit: int = 20, folder: Path | str | None = None,
               tags: Sequence[str] = ()) -> list[Hit]:
        """The best ``limit`` photos for ``text`` (see :meth:`find`)."""
        return self.find(text, limit, folder, tags).hits

    def find(self, text: str, limit: int = 20, folder: Path | str | None = None,
             tags: Sequence[str] = (), people: bool = False, taken: DateRange | None = None) -> SearchResult:
        """Search: by relevance (matches first), equal relevance by meaning; ``tags`` keeps only photos carrying every
        one of those words (tags, keywords at any level, labels: as :meth:`UserWords.photos_with_all` finds them);
        ``people`` only photos with a face; ``taken`` only photos dated in that range (``tagger.library.browse``);
        ``text`` may then be empty (those photos, newest id first)."""
        tags = [t for t in (" ".join(str(t).split()) for t in tags) if t]
        table = self.table()
        ids = table.ids
        if query_text(text).strip() if text else False:
            ids, rel, raw, why = self.relevance(text)
        else:
            rel = np.ones(len(ids), np.float32) if tags or people or taken else np.zeros(len(ids), np.float32)
            kind = 3 if tags else FACES_WHY if people else 0  # what made them match: a tag, a face, or a date
            raw, why = ids.astype(np.float32), np.where(rel > 0, kind, 0).astype(np.int8)
        keep = np.ones(len(ids), bool)
        if people:
            keep &= self.detected().has_faces
        if tags:
            allowed = self.user_words().photos_with_all(tags) or set()
            keep &= np.isin(ids, np.fromiter(allowed, np.int64, len(allowed)))
        if folder is not None or taken is not None:
            allowed = photos_in(self.catalog, folder, taken)
            keep &= np.isin(ids, np.fromiter(allowed, np.int64, len(allowed)))
        ids, rel, raw, why = ids[keep], rel[keep], raw[keep], why[keep]
        match = rel >= relevance.MATCH
        order = ranked(ids, rel, raw, why, limit)
        paths = self.catalog.photo_paths(ids[order].tolist())
        names = {0: "", 1: "meaning", 2: "label", 3: "tag", 4: "faces", 5: "text"}
        hits = [Hit(int(ids[i]), paths[int(ids[i])], float(rel[i]), bool(match[i]), names[int(why[i])])
                for i in order if int(ids[i]) in paths]
        n = int(match.sum())
        suggestions = self.suggestions(text) if text and not n else []
        return SearchResult(text, hits, n, int(len(ids)), suggestions, tags)

    def suggestions(self, text: str, limit: int = 6) -> list[str]:
        """Words that would find photos here, for a query that found none: the person's words spelled like it, then
        the library's own best tags nearest in meaning (or in spelling, for a word the word space does not know)."""
        import difflib

        out: list[str] = [w.text for w in self.user_words().similar(text, limit)]
        stands_for = self.detected().suggestion(query_text(text))  # "woman": person (no gender is guessed)
        if stands_for:  # what the query stands for, not words near it in meaning ("woman": not "bear")
            return list(dict.fromkeys([stands_for] + out))[:limit]
        best_tags = self._best_tag_words()
        q = query_text(text)
        vec = self.engine.word_space.text_vectors([q]) if q else np.zeros((1, 0), np.float32)
        if best_tags and np.any(vec) and self.engine.word_space.knows(q):
            people = [w.text for w in self.user_words().words()[:500]]
            cand = list(best_tags) + people
            theirs = self.engine.word_space.text_vectors(people) @ vec[0] if people else np.zeros(0, np.float32)
            sims = np.concatenate([self._best_tag_vectors() @ vec[0], theirs])
            near = (cand[i] for i in np.argsort(-sims) if fold(cand[i]) != fold(q))
            out += [w for _, w in zip(range(limit), near)]
        elif best_tags:
            out += difflib.get_close_matches(q, list(best_tags), n=limit, cutoff=0.6)
        seen: set[str] = set()
        unique = [w for w in out if not (fold(w) in seen or seen.add(fold(w)))]
        return unique[:limit]

    def _best_tag_vectors(self) -> np.ndarray:
        """Word vectors of :meth:`_best_tag_words`, computed once per change of the photos (thousands of look-ups)."""
        words = self._best_tag_words()
        if self._best_vectors is None or self._best_vectors[0] is not words:
            vectors = self.engine.word_space.text_vectors(words) if words else np.zeros((0, 1), np.float32)
            self._best_vectors = (words, vectors)
        return self._best_vectors[1]

    def _best_tag_words(self) -> list[str]:
        """The distinct words that are some photo's first automatic tag: words that certainly find something."""
        return self._best_tags()[1]

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
        """The words that describe a photo or a set, strongest first; near-duplicates ("wood ant", "fire ant") are
        thinned out (maximal marginal relevance over word vectors) so the cloud says more than one thing.

        A word's weight is on the automatic tags' own scale, the one `keywords --auto-threshold` compares with: for
        one photo its stored weight, for a set the mean over the photos (0 where the word is not among a photo's
        tags). The person's labels join at once (``label_scores``, no training run): a photo the label matches gets it
        at its best tag's weight, raised by up to LABEL_LEAD as the label's probability rises, so a sure label leads.
        """
        from tagger.engine.vocabulary import vocabulary_words

        photo_ids = list(photo_ids)
        words = vocabulary_words()  # tags stored before a word was withdrawn from the vocabulary stay out
        stored = {pid: [(t, w) for t, w in tags if t in words]
                  for pid, tags in self.catalog.auto_tags(photo_ids, self.engine.model_id).items()}
        version = self.engine.version
        # Trained labels compete with the vocabulary on the same scale (tagger.training.retrain).
        if version is not None:
            for pid, tags in self.catalog.auto_tags(photo_ids, version.model_id).items():
                merged = sorted(stored.get(pid, []) + tags, key=lambda tw: -tw[1])
                stored[pid] = merged[:max(len(stored.get(pid, [])), 1)]
        self._add_label_tags(photo_ids, stored)
        self._add_detected_tags(photo_ids, stored)
        totals: dict[str, float] = {}  # relative weights: what the cloud chooses by
        sums: dict[str, float] = {}  # stored weights: what it shows
        for tags in stored.values():
            if not tags:
                continue
            top, floor = tags[0][1], tags[-1][1]
            span = (top - floor) or 1.0
            for tag, w in tags:
                totals[tag] = totals.get(tag, 0.0) + (w - floor) / span
                sums[tag] = sums.get(tag, 0.0) + w
        if not totals:
            return []
        n = max(1, len(stored))
        best = max(totals.values())
        words = [t for t in sorted(totals, key=lambda t: (-totals[t], t)) if totals[t] >= MIN_CLOUD_WEIGHT * best]
        words = words[: limit * 4]
        weights = np.array([totals[t] / n for t in words], np.float32)
        # what the faces and the text say is a fact, not a guess to thin out: "person" and "people" both stay
        facts = [i for i, t in enumerate(words) if t in DETECTED and totals[t] >= 0.5 * best]
        chosen = mmr(self.engine.word_space.text_vectors(words), weights, limit, diversity, facts)
        out = [TagWeight(words[i], sums[words[i]] / n) for i in chosen]
        return sorted(out, key=lambda tw: (-tw.weight, tw.tag))

    def _add_detected_tags(self, photo_ids: list[int], stored: dict[int, list[tuple[str, float]]]) -> None:
        """Put the people and text words each photo's faces and text give evidence for among its tags (see
        ``detected_words.detected_tags``)."""
        # a photo's cloud (the details panel, after every edit) reads only its own rows, not the whole library's
        few = len(photo_ids) <= FEW
        if few:
            table_ids = self.table().ids
            subset = np.unique(np.asarray(photo_ids, np.int64))
            animal = np.zeros(len(subset), np.float32)
            if len(table_ids):
                rows = np.minimum(np.searchsorted(table_ids, subset), len(table_ids) - 1)
                known = table_ids[rows] == subset
                animal[known] = self._animal()[rows[known]]
            found = DetectedWords.from_catalog(self.catalog, subset, animal)
        else:
            found = self.detected()
        for pid in photo_ids:
            row = found.row(pid)
            if row is not None and pid in stored:
                stored[pid] = detected_tags(found, row, stored[pid], LABEL_LEAD, relevance.MATCH)

    def _add_label_tags(self, photo_ids: list[int], stored: dict[int, list[tuple[str, float]]]) -> None:
        """Put the labels each photo matches among its tags (see :meth:`tag_cloud`), strongest first."""
        labels = self.label_scores()
        if labels is None or not photo_ids:
            return
        ids = self.table().ids
        pos = np.searchsorted(ids, photo_ids)
        for pid, p in zip(photo_ids, pos):
            if p >= len(ids) or ids[p] != pid:
                continue
            row = labels.probs[p]
            sure = np.flatnonzero(row >= relevance.MATCH)
            if not len(sure):
                continue
            tags = stored.get(pid, [])
            top = tags[0][1] if tags else 0.0
            have = {fold(t) for t, _ in tags}
            extra = [(labels.labels[j], top * (1 + LABEL_LEAD * (2 * float(row[j]) - 1))) for j in sure
                     if fold(labels.labels[j]) not in have]
            stored[pid] = sorted(extra + tags, key=lambda tw: -tw[1])

def _head_and_context(text: str) -> list[str]:
    """The query's head noun, then its context words (``tagger.engine.query_parse``), each once."""
    from tagger.engine.query_parse import parse

    query = parse(text)
    parts = [query.head] + [c for c in query.context if c != query.head]
    return list(dict.fromkeys(p for p in parts if p)) or [query_text(text)]


def ranked(ids: np.ndarray, rel: np.ndarray, raw: np.ndarray, why: np.ndarray, limit: int) -> np.ndarray:
    """Positions of the best ``limit`` photos: by relevance; among equals (1: sure, 0: nothing) the person's own words
    first, then the rank score, then the id. A full sort of 100k photos on four keys costs ~15 ms a query, so the
    candidates are found first by one partition on a float64 key that keeps the same order (relevance is float32,
    ~7 digits, the rank score is squeezed into the digits below), and only they are sorted exactly."""
    limit = min(max(limit, 0), len(ids))
    if not limit:
        return np.zeros(0, np.int64)
    r = np.asarray(raw, np.float64)
    span = float(r.max() - r.min()) or 1.0
    key = np.asarray(rel, np.float64) * 1e9 + (why == 3) * 2.0 + (r - r.min()) / span
    if limit < len(ids):
        kth = np.partition(key, len(key) - limit)[len(key) - limit]
        candidates = np.flatnonzero(key >= kth)
    else:
        candidates = np.arange(len(ids))
    exact = np.lexsort((ids[candidates], -raw[candidates], why[candidates] != 3, -rel[candidates]))
    return candidates[exact][:limit]


def mmr(vectors: np.ndarray, weights: np.ndarray, k: int, diversity: float, keep: Sequence[int] = ()) -> list[int]:
    """Greedy maximal marginal relevance: each pick maximises weight - diversity * max cosine to earlier picks;
    ``keep``: picked first, whatever their likeness to each other (facts such as "person" and "people")."""
    chosen: list[int] = []
    if not len(weights):
        return chosen
    scale = float(weights.max()) or 1.0
    sim_to_chosen = np.full(len(weights), -np.inf)
    available = np.ones(len(weights), bool)
    for i in list(dict.fromkeys(keep))[:k]:
        chosen.append(int(i))
        available[i] = False
        sim_to_chosen = np.maximum(sim_to_chosen, vectors @ vectors[i])
    for _ in range(min(k, len(weights)) - len(chosen)):
        penalty = np.where(np.isfinite(sim_to_chosen), np.maximum(sim_to_chosen, 0), 0)
        gain = np.where(available, weights / scale - diversity * penalty, -np.inf)
        i = int(np.argmax(gain))
        chosen.append(i)
        available[i] = False
        sim_to_chosen = np.maximum(sim_to_chosen, vectors @ vectors[i])
    return chosen
