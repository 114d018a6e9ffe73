"""Catalog queries about the user's own words on photos: tags typed in Tagger and keywords read from files.

A mixin of ``Catalog`` (it uses the catalog's connection and transactions); apart so the rules about the user's
words sit together as they grow. Keywords are kept in step with the photos' files by a three-way merge
(keyword_merge): ``keyword_base`` holds, per photo, what the catalog and the files last agreed on, and
``keyword_conflicts`` the keywords both changed differently, until the person settles them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tagger.library.catalog_common import chunks
from tagger.library.keyword_merge import Conflict, next_base, three_way
from tagger.library.keyword_paths import identity, keyword_path


@dataclass(frozen=True)
class KeywordState:
    """One photo's keywords as the catalog holds them (user tags as keyword paths) and its last agreed base."""

    catalog: list[str]
    base: list[str]
    conflicts: list[Conflict] = field(default_factory=list)  # reported before, not yet settled

    @property
    def removed_here(self) -> list[str]:
        """Keywords the files still had at the last sync that the catalog no longer has (removed in Tagger)."""
        have = {identity(p) for p in self.catalog}
        return [b for b in self.base if identity(b) not in have]


@dataclass(frozen=True)
class TagEdit:
    """What one batch edit of user tags changed, row by row: the real counts to report (a tag a photo already had is
    not counted as added) and everything needed to undo it exactly (a removed row's source and date come back)."""

    photo_ids: tuple[int, ...]  # the photos the edit was for (those still in the catalog), in the order given
    added: tuple[tuple[int, str], ...] = ()  # (photo id, tag) rows that were not there before
    removed: tuple[tuple[int, str, str, float], ...] = ()  # (photo id, tag, source, added_at) rows that were there

    @property
    def changed_ids(self) -> list[int]:
        """The photos whose tags changed: the ones whose sidecars need writing."""
        return sorted({pid for pid, *_ in self.added} | {pid for pid, *_ in self.removed})

    def added_per_tag(self) -> dict[str, int]:
        """How many photos gained each tag."""
        return _per_tag(t for _, t in self.added)

    def removed_per_tag(self) -> dict[str, int]:
        """How many photos lost each tag."""
        return _per_tag(t for _, t, _, _ in self.removed)

    def to_json(self) -> dict:
        return {"photos": len(self.photo_ids), "photos_changed": len(self.changed_ids),
                "added": self.added_per_tag(), "removed": self.removed_per_tag(),
                "tags_added": len(self.added), "tags_removed": len(self.removed)}


class UserTags:
    """Methods of ``tagger.library.catalog.Catalog`` (``self.db``, ``self.transaction()``, ``self.locate()``)."""

    # ------------------------------------------------------------------ user tags

    def edit_user_tags(self, photo_ids: Sequence[int], add: Sequence[str] = (), remove: Sequence[str] = (),
                       source: str = "user") -> TagEdit:
        """Add ``add`` to and remove ``remove`` from every photo of ``photo_ids`` in ONE transaction: all or nothing,
        so a batch over a folder never stops half done. Tags are stored as given (callers tidy them with
        ``tag_text.clean_tag``); a tag a photo already has keeps its source and date; ids no longer in the catalog
        are skipped. Raises ValueError for a tag both added and removed (which one was meant?)."""
        add, remove = list(dict.fromkeys(add)), list(dict.fromkeys(remove))
        both = sorted(set(add) & set(remove))
        if both:
            raise ValueError(f"{', '.join(map(repr, both))} is both added and removed: say one or the other")
        with self.transaction():
            ids = self._existing_photos(photo_ids)
            have = self._user_tag_rows(ids, add + remove)
            added = [(pid, t) for pid in ids for t in add if (pid, t) not in have]
            removed = [have[(pid, t)] for pid in ids for t in remove if (pid, t) in have]
            self._change_user_tags(added, removed, source)
        return TagEdit(tuple(ids), tuple(added), tuple(removed))

    def undo_tag_edit(self, edit: TagEdit) -> TagEdit:
        """Put the photos' tags back as they were before ``edit`` (one transaction): what it added leaves, what it
        removed comes back with its source and date. Returns the reverse edit (undoing that redoes ``edit``)."""
        with self.transaction():
            alive = set(self._existing_photos([pid for pid, *_ in edit.added] + [pid for pid, *_ in edit.removed]))
            have = self._user_tag_rows(sorted(alive), sorted({t for _, t in edit.added}))
            gone = [have[(pid, t)] for pid, t in edit.added if (pid, t) in have]
            back = [r for r in edit.removed if r[0] in alive]
            self._change_user_tags([], gone, "user")
            self.db.conn.executemany(
                "INSERT OR IGNORE INTO user_tags (photo_id, tag, source, added_at) VALUES (?, ?, ?, ?)", back)
        return TagEdit(tuple(pid for pid in edit.photo_ids if pid in alive), tuple((pid, t) for pid, t, _, _ in back),
                       tuple(gone))

    def _existing_photos(self, photo_ids: Sequence[int]) -> list[int]:
        """``photo_ids`` without repeats and without ids the catalog no longer has, in the order given."""
        wanted = list(dict.fromkeys(photo_ids))
        found = {pid for chunk in chunks(wanted, 500) for (pid,) in self.db.execute(
            f"SELECT id FROM photos WHERE id IN ({','.join('?' * len(chunk))})", chunk)}
        return [pid for pid in wanted if pid in found]

    def _user_tag_rows(self, photo_ids: Sequence[int], tags: Sequence[str]) -> dict[tuple[int, str], tuple]:
        """(photo id, tag) -> (photo id, tag, source, added_at) of those photos' rows carrying any of ``tags``."""
        if not tags:
            return {}
        out: dict[tuple[int, str], tuple] = {}
        tag_marks = ",".join("?" * len(tags))
        for chunk in chunks(list(photo_ids), 500):
            for row in self.db.execute(
                    "SELECT photo_id, tag, source, added_at FROM user_tags "
                    f"WHERE photo_id IN ({','.join('?' * len(chunk))}) AND tag IN ({tag_marks})", [*chunk, *tags]):
                out[(row[0], row[1])] = tuple(row)
        return out

    def _change_user_tags(self, added: Sequence[tuple[int, str]], removed: Sequence[tuple], source: str) -> None:
        now = time.time()
        self.db.conn.executemany("DELETE FROM user_tags WHERE photo_id = ? AND tag = ?",
                                 [(pid, t) for pid, t, *_ in removed])
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO user_tags (photo_id, tag, source, added_at) VALUES (?, ?, ?, ?)",
            [(pid, t, source, now) for pid, t in added])

    def add_user_tag(self, photo_id: int, tag: str, source: str = "user") -> None:
        with self.transaction():
            self.db.execute("INSERT OR IGNORE INTO user_tags (photo_id, tag, source, added_at) VALUES (?, ?, ?, ?)",
                            [photo_id, tag, source, time.time()])

    def remove_user_tag(self, photo_id: int, tag: str) -> bool:
        with self.transaction():
            cur = self.db.execute("DELETE FROM user_tags WHERE photo_id = ? AND tag = ?", [photo_id, tag])
        return cur.rowcount > 0

    def set_file_keywords(self, photo_id: int, keywords: Sequence[str] | None, sidecar_sig: str | None, *,
                          moved: bool = False) -> list[Conflict]:
        """Bring what the photo's file and sidecars say now (``keywords``, paths) into its user tags: a three-way
        merge with the keywords both last agreed on. A keyword another program changed since then is taken (new
        ones come in as source 'xmp', removed ones leave, whoever added them); one changed in Tagger stays as
        Tagger has it (the sidecar writer carries it to the files when writing is on); one changed on both sides
        is a conflict, recorded and returned, and left as it is in the catalog.

        ``keywords`` None keeps everything (they could not be read). ``moved``: the photo was found under a new path;
        a keyword typed in Tagger is then never taken as removed elsewhere (its sidecar may have stayed behind).
        ``sidecar_sig`` is remembered so an unchanged photo whose sidecar changed is noticed without decoding."""
        conflicts: list[Conflict] = []
        with self.transaction():
            if keywords is not None:
                rows = [(t, src) for t, src in self.db.execute(
                    "SELECT tag, source FROM user_tags WHERE photo_id = ?", [photo_id])]
                catalog = [p for p in (keyword_path(t) for t, _ in rows) if p is not None]
                base = self._keyword_base([photo_id]).get(photo_id, [])
                if moved:
                    typed = {identity(p) for t, src in rows if src != "xmp" and (p := keyword_path(t))}
                    base = [b for b in base if identity(b) not in typed]
                merge = three_way(base, keywords, catalog, self._conflicts_of([photo_id]).get(photo_id, []))
                self._take_from_files(photo_id, rows, merge.to_catalog)
                conflicts = merge.conflicts
                self._save_keyword_sync(photo_id, next_base(merge.base, keywords, merge.keywords), conflicts)
            if sidecar_sig is not None:
                self.db.execute("UPDATE photos SET sidecar_sig = ? WHERE id = ?", [sidecar_sig, photo_id])
        return conflicts

    def _take_from_files(self, photo_id: int, rows: Sequence[tuple[str, str]], changes: dict[str, list[str]]) -> None:
        """Make the photo's user tags of each changed keyword identity exactly the files' paths."""
        if not changes:
            return
        delete, insert = [], []
        for key, paths in changes.items():
            wanted = {p.casefold(): p for p in paths}
            mine = [(t, p) for t, _ in rows if (p := keyword_path(t)) is not None and identity(p) == key]
            delete += [(photo_id, t) for t, p in mine if p.casefold() not in wanted]
            have = {p.casefold() for _, p in mine}
            insert += [(photo_id, p, time.time()) for cf, p in wanted.items() if cf not in have]
        self.db.conn.executemany("DELETE FROM user_tags WHERE photo_id = ? AND tag = ?", delete)
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO user_tags (photo_id, tag, source, added_at) VALUES (?, ?, 'xmp', ?)", insert)

    def _keyword_base(self, photo_ids: Sequence[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for chunk in chunks(list(photo_ids), 500):
            for pid, keyword in self.db.execute(
                f"SELECT photo_id, keyword FROM keyword_base WHERE photo_id IN ({','.join('?' * len(chunk))})",
                    chunk):
                out.setdefault(pid, []).append(keyword)
        return out

    def _conflicts_of(self, photo_ids: Sequence[int]) -> dict[int, list[Conflict]]:
        out: dict[int, list[Conflict]] = {}
        for chunk in chunks(list(photo_ids), 500):
            for pid, keyword, ours, theirs in self.db.execute(
                    "SELECT photo_id, keyword, in_catalog, in_files FROM keyword_conflicts "
                    f"WHERE photo_id IN ({','.join('?' * len(chunk))}) ORDER BY photo_id, keyword", chunk):
                out.setdefault(pid, []).append(_conflict(keyword, ours, theirs))
        return out

    def _save_keyword_sync(self, photo_id: int, base: Sequence[str], conflicts: Sequence[Conflict]) -> None:
        self.db.execute("DELETE FROM keyword_base WHERE photo_id = ?", [photo_id])
        self.db.conn.executemany("INSERT OR IGNORE INTO keyword_base (photo_id, keyword) VALUES (?, ?)",
                                 [(photo_id, k) for k in base])
        self.db.execute("DELETE FROM keyword_conflicts WHERE photo_id = ?", [photo_id])
        now = time.time()
        self.db.conn.executemany(
            "INSERT OR REPLACE INTO keyword_conflicts (photo_id, keyword, in_catalog, in_files, found_at) "
            "VALUES (?, ?, ?, ?, ?)",
            [(photo_id, c.keyword, "\n".join(c.in_catalog), "\n".join(c.in_files), now) for c in conflicts])

    def save_keyword_syncs(self, synced: Sequence[tuple[int, Sequence[str], Sequence[Conflict]]]) -> None:
        """Record, after writing sidecars, what the catalog and each photo's files now agree on, and the conflicts
        the writer found (replacing the photo's earlier ones): (photo id, base, conflicts), one transaction."""
        if not synced:
            return
        with self.transaction():
            alive = {pid for chunk in chunks([p for p, _, _ in synced], 500) for (pid,) in self.db.execute(
                f"SELECT id FROM photos WHERE id IN ({','.join('?' * len(chunk))})", chunk)}
            for pid, base, conflicts in synced:
                if pid in alive:
                    self._save_keyword_sync(pid, base, conflicts)

    def keyword_state(self, photo_ids: Sequence[int]) -> dict[int, KeywordState]:
        """Each photo's keywords (its user tags, as keyword paths) and the base they last agreed on with its files."""
        tags = self.user_tags(photo_ids)
        base = self._keyword_base(photo_ids)
        conflicts = self._conflicts_of(photo_ids)
        return {pid: KeywordState([p for p in (keyword_path(t) for t in tags.get(pid, [])) if p is not None],
                                  base.get(pid, []), conflicts.get(pid, [])) for pid in photo_ids}

    def keyword_conflicts(self, limit: int | None = None) -> list[tuple[int, Path, Conflict]]:
        """(photo id, path, conflict) of every keyword changed both in Tagger and in another program, unsettled."""
        rows = self.db.execute(
            "SELECT k.photo_id, k.keyword, k.in_catalog, k.in_files FROM keyword_conflicts k "
            "JOIN photos p ON p.id = k.photo_id WHERE p.status = 'indexed' ORDER BY k.photo_id, k.keyword"
            + (" LIMIT ?" if limit is not None else ""), [limit] if limit is not None else []).fetchall()
        paths = self.photo_paths(sorted({r[0] for r in rows}))
        return [(pid, paths[pid], _conflict(keyword, ours, theirs)) for pid, keyword, ours, theirs in rows
                if pid in paths]

    def user_tags_with_source(self, photo_ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
        """(tag, source) per photo; source is 'user' (added in Tagger) or 'xmp' (read from the file's keywords)."""
        out: dict[int, list[tuple[str, str]]] = {}
        for chunk in chunks(list(photo_ids), 500):
            for pid, tag, source in self.db.execute(
                f"SELECT photo_id, tag, source FROM user_tags WHERE photo_id IN ({','.join('?' * len(chunk))}) "
                "ORDER BY tag", chunk
            ):
                out.setdefault(pid, []).append((tag, source))
        return out

    def user_tag_counts(self, source: str | None = None) -> list[tuple[str, int]]:
        """Each user tag (of one source, or all) with its number of indexed photos, most used first."""
        sql = ("SELECT u.tag, COUNT(*) FROM user_tags u JOIN photos p ON p.id = u.photo_id "
               "WHERE p.status = 'indexed'" + (" AND u.source = ?" if source else "") +
               " GROUP BY u.tag ORDER BY COUNT(*) DESC, u.tag")
        return [(t, n) for t, n in self.db.execute(sql, [source] if source else [])]

    def photos_tagged(self, tags: Sequence[str]) -> list[tuple[int, str]]:
        """(photo id, tag) of indexed photos carrying any of ``tags`` as a user tag (any source)."""
        out = []
        for chunk in chunks(list(tags), 500):
            out += self.db.execute(
                f"SELECT u.photo_id, u.tag FROM user_tags u JOIN photos p ON p.id = u.photo_id "
                f"WHERE p.status = 'indexed' AND u.tag IN ({','.join('?' * len(chunk))}) ORDER BY u.photo_id, u.tag",
                chunk).fetchall()
        return [(int(p), t) for p, t in out]

    def user_tags(self, photo_ids: Sequence[int]) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for chunk in chunks(list(photo_ids), 500):
            for pid, tag in self.db.execute(
                f"SELECT photo_id, tag FROM user_tags WHERE photo_id IN ({','.join('?' * len(chunk))}) "
                "ORDER BY tag", chunk
            ):
                out.setdefault(pid, []).append(tag)
        return out


def _per_tag(tags) -> dict[str, int]:
    out: dict[str, int] = {}
    for t in tags:
        out[t] = out.get(t, 0) + 1
    return out


def _conflict(keyword: str, in_catalog: str, in_files: str) -> Conflict:
    return Conflict(keyword, tuple(filter(None, in_catalog.split("\n"))), tuple(filter(None, in_files.split("\n"))))
