"""What the grid shows and the tag cloud describes: the whole library (newest first) or the answer to a search or a
find-similar, and the cloud of the selection, of a search's best hits or of the whole library.

A search shows its matches only ("12 matches for “dog”"): the weaker results are folded away behind the result bar's
"Show 240 weaker results", and a search that matches nothing says so and offers words that would find photos. The
tag filter (words clicked in the tag list) narrows every search to the photos carrying all of its words, and with an
empty search box shows just those photos; the People button likewise keeps the photos with a face ("3 matches for
“beach” with people", "12 photos with people").

Searches and clouds run in the engine service's thread (:mod:`tagger.gui.engine_controller`). Every request carries a
sequence number and an answer to a request that has since been replaced is dropped: typing fast never shows the
results of an older query after a newer one.

A find-similar shows "similar to X.jpg" in the search box: one thing, not words. Editing it (a key typed, a part
deleted) ends the find-similar and keeps only what was typed: a fresh word search, or the library when nothing was.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QItemSelection, QItemSelectionModel, QObject, QTimer, Signal
from PySide6.QtWidgets import QAbstractButton, QAbstractItemView, QLabel, QLineEdit, QToolButton, QWidget

from tagger.gui.browse_order import DEFAULT_SORT, sorted_rows
from tagger.gui.grid import GridRow, PhotoGrid, PhotoGridModel
from tagger.gui.services import SearchScope
from tagger.gui.session import Session
from tagger.gui.widgets import ResultBar, TagCloud
from tagger.library.browse import describe, photos_in
from tagger.library.user_words import fold

SEARCH_DEBOUNCE_MS = 250
CLOUD_DEBOUNCE_MS = 150
SEARCH_CLOUD_TOP = 24  # the cloud of a search describes its best hits, not the whole ranked library
CLOUD_ALL_MAX = 5000  # a filter without words (folder, month, tags) describes all it keeps, up to this many
SIMILAR_PREFIX = "similar to "  # the search box's text while it shows a find-similar (never searched as words)
QUERY_SHOWN = 40  # characters of the query quoted in the result line (it sits beside the search box)
BUSY_AFTER_MS = 300  # a search still under way after this shows the busy indicator (a quicker one never flashes it)
SEARCHING = "Searching…"


def library_rows(catalog) -> list[GridRow]:
    """All indexed photos, newest capture date first (the browsing order people expect)."""
    if catalog is None:
        return []
    return [GridRow(pid, h, name) for pid, h, name in catalog.newest_first()]


def quoted(words: Sequence[str]) -> str:
    """“a”, “a” and “b”, “a”, “b” and “c”."""
    q = [f"“{w}”" for w in words]
    return q[0] if len(q) == 1 else f"{', '.join(q[:-1])} and {q[-1]}"


def filter_words(tags: Sequence[str], people: bool) -> str:
    """What the filters keep, as the result line says it: "tagged “pet”", "with people", "tagged “pet” with people"."""
    return " ".join(([f"tagged {quoted(tags)}"] if tags else []) + (["with people"] if people else []))


def match_line(result, people: bool = False) -> str:
    """The result line of a search (a :class:`~tagger.library.search.SearchResult`; ``people``: the People filter was
    on): how many photos match, or that none does. "12 matches for “dog”", "3 photos tagged “pet”", "12 photos with
    people", "No photo matches “zorblax”"."""
    text = " ".join(result.query.split())
    if len(text) > QUERY_SHOWN:
        text = text[:QUERY_SHOWN - 1] + "…"
    n, tags = result.matches, list(result.tags)
    kept = filter_words(tags, people)
    if not text:
        if n:
            return f"{n:,} photo{'' if n == 1 else 's'} {kept}"
        if tags and people:
            return f"No photo tagged {quoted(tags)} has people"
        return f"No photo is tagged {quoted(tags)}" if tags else "No photo with people"
    if not n:
        return f"No photo {kept} matches “{text}”" if kept else f"No photo matches “{text}”"
    return f"{n:,} match{'' if n == 1 else 'es'} for “{text}”" + (f" {kept}" if kept else "")


def typed_over(shown: str, text: str) -> str:
    """What the person typed into ``shown`` to make ``text``: the characters between the parts the edit kept at either
    end ("similar to a.jpg" + "dog" typed at the end -> "dog"; a deletion -> ""; all selected and typed over -> the
    new text). A find-similar's text is one thing, never words to edit: only what was typed is kept."""
    start = 0
    while start < min(len(shown), len(text)) and shown[start] == text[start]:
        start += 1
    end = 0
    while end < min(len(shown), len(text)) - start and shown[-1 - end] == text[-1 - end]:
        end += 1
    return text[start:len(text) - end]


def worth_trying(result) -> list[str]:
    """The result's suggestions that would change something: none while it matches, and never the words already
    searched or filtered by (with a tag filter on, the library's words include the query itself)."""
    if result is None or result.matches:
        return []
    used = {fold(result.query)} | {fold(t) for t in result.tags}
    return [w for w in result.suggestions if fold(w) not in used]


class SearchController(QObject):
    search_requested = Signal(int, str, object)  # seq, text, SearchScope
    similar_requested = Signal(int, int)  # seq, photo id
    cloud_requested = Signal(int, object)  # seq, photo ids or None (the whole library)
    notice = Signal(str, int)
    tags_changed = Signal(list)  # the tag filter: the words every photo shown carries
    browse_changed = Signal()  # the folder / date filter (``folder``, ``taken``) changed
    library_reloaded = Signal()  # the library's photos were read again

    def __init__(self, session: Session, box: QLineEdit, result_label: QLabel, model: PhotoGridModel, grid: PhotoGrid,
                 cloud: TagCloud, parent: QObject | None = None, *, bar: ResultBar | None = None,
                 people_button: QAbstractButton | None = None, busy: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.box, self.result_label, self.model, self.grid, self.cloud = box, result_label, model, grid, cloud
        self.bar = bar if bar is not None else ResultBar()  # one code path whether or not a window shows it
        self.people_button = people_button if people_button is not None else QToolButton(checkable=True)
        self.active = False  # the grid shows a search's (or a find-similar's) answer, not the library
        self.searching = False  # a search is under way
        self.cloud_pending = False  # the cloud does not describe what is shown yet
        self.indexing = False  # photos are being indexed: an empty cloud is one still to come
        self.tags: list[str] = []  # the tag filter
        self.people = False  # the People filter: only photos with a face
        self.folder = None  # the folder filter (a Path: its photos and its sub-folders'), None: every folder
        self.taken = None  # the date filter: a (start, end) range of ``tagger.library.browse``, None: any date
        self.sort = DEFAULT_SORT  # 'relevance', 'date' or 'name' (``tagger.gui.browse_order``)
        self._date_rank: dict[int, int] = {}  # each photo's place in the library's newest-first order
        self._asked = SearchScope()  # the filters of the search whose answer is awaited or shown
        self.result = None  # the SearchResult shown (None: the library or a find-similar)
        self.similar_text: str | None = None  # the box's text while it shows a find-similar, None otherwise
        self.showing_weaker = False  # the weaker results are unfolded
        self._matched: list[GridRow] = []
        self._weaker: list[GridRow] = []
        self._seq = 0
        self._search_seq = -1
        self._cloud_seq = -1
        self._cloud_title = ""
        self._by_id: dict[int, GridRow] = {}
        self.busy = busy if busy is not None else QWidget()  # shown while a search has been under way a while
        self.busy.hide()
        self.busy_timer = QTimer(self, singleShot=True, interval=BUSY_AFTER_MS)
        self.busy_timer.timeout.connect(lambda: self.busy.show())
        self.search_timer = QTimer(self, singleShot=True, interval=SEARCH_DEBOUNCE_MS)
        self.search_timer.timeout.connect(self.run_search)
        self.cloud_timer = QTimer(self, singleShot=True, interval=CLOUD_DEBOUNCE_MS)
        self.cloud_timer.timeout.connect(self.request_cloud)
        box.textChanged.connect(self._text_changed)
        cloud.tag_clicked.connect(self.search_for)
        self.bar.suggestion_clicked.connect(self.search_for)
        self.bar.weaker_toggled.connect(self.toggle_weaker)
        self.bar.tag_removed.connect(self.remove_tag)
        self.bar.tags_cleared.connect(self.clear_tags)
        self.people_button.toggled.connect(self.set_people)

    # ------------------------------------------------------------------ the library

    def reload_library(self) -> None:
        """Read the library's photos again (after indexing or a removed folder); a search on screen stays. New photos
        go where the newest-first order puts them, but the photos shown do not move: the one at the top of the view
        stays put and the selection stays (indexing reloads every few seconds while someone browses)."""
        rows = library_rows(self.session.catalog)
        self._by_id = {r.photo_id: r for r in rows}
        self._date_rank = {r.photo_id: i for i, r in enumerate(rows)}
        if self.folder is not None or self.taken is not None or self.sort == "name":
            rows = self._library_rows()  # what the folder / date filter keeps, in the order chosen
        if not self.active:
            with self.grid.anchored():
                self.model.update_rows(rows)
            self.result_label.setText(f"{len(rows):,} photos")
        self.library_reloaded.emit()

    def _library_rows(self) -> list[GridRow]:
        rows = [GridRow(r.photo_id, r.hash, r.name) for r in self._by_id.values()]
        if (self.folder is not None or self.taken is not None) and self.session.catalog is not None:
            kept = photos_in(self.session.catalog, self.folder, self.taken)
            rows = [r for r in rows if r.photo_id in kept]
        return sorted_rows(rows, self.sort, self._date_rank, ranked=False)

    # ------------------------------------------------------------------ searching

    def focus(self) -> None:
        self.box.setFocus()
        self.box.selectAll()

    def search_for(self, text: str) -> None:
        """Search these words now (a clicked tag), without waiting for the typing pause."""
        self.similar_text = None  # replaced, not edited
        self.box.setText(text)
        self.search_timer.stop()
        self.run_search()

    def show_all(self) -> None:
        """Every photo of the library: no search, no tag filter, no People filter."""
        self._set_box("")
        self.tags = []
        self._show_people(False)
        self.folder = self.taken = None
        self.browse_changed.emit()
        self._filter_changed()

    def _filtered(self) -> bool:
        """A filter is on (tags or People): with an empty box the grid shows the photos it keeps."""
        return bool(self.tags) or self.people or self.folder is not None or self.taken is not None

    def _set_box(self, text: str, similar: bool = False) -> None:
        """The box's text set by the controller (no search of its own); ``similar``: a find-similar's text."""
        self.box.blockSignals(True)
        self.box.setText(text)
        self.box.blockSignals(False)
        self.similar_text = text if similar else None

    def _text_changed(self, text: str) -> None:
        if self.similar_text is not None:  # the person edited a find-similar's text: a fresh search of what they typed
            text = typed_over(self.similar_text, text)
            self._set_box(text)
        if not text.strip():
            self.search_timer.stop()
            if self._filtered():
                self.run_search()  # the filtered photos, without the words just cleared
            else:
                self._show_library()
            return
        self.search_timer.start()

    def set_busy_indicator(self, widget: QWidget) -> None:
        """The widget the busy state shows (the window's, beside the result line)."""
        widget.setVisible(self.busy.isVisible())
        self.busy = widget

    def _set_waiting(self, waiting: bool, *, model_loading: bool = False) -> None:
        """The busy state of a search under way: "Searching…", the busy indicator (at once while the model loads,
        after BUSY_AFTER_MS otherwise) and a grid that takes no clicks, so that nothing gets selected in rows the
        results are about to replace. The grid keeps what it shows until the results come."""
        self.busy_timer.stop()
        if waiting:
            self.result_label.setText(SEARCHING + (" (the model is loading)" if model_loading else ""))
            if model_loading:
                self.busy.show()
            else:
                self.busy_timer.start()
        else:
            self.busy.hide()
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection if waiting
                                   else QAbstractItemView.SelectionMode.ExtendedSelection)

    def _show_library(self) -> None:
        self.active = False
        self.searching = False
        self._set_waiting(False)
        self._search_seq = self._next_seq()  # an answer still under way is not shown
        self._set_result(None, self._library_rows(), [])
        self.result_label.setText(f"{self.model.rowCount():,} photos")
        self.schedule_cloud()

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def run_search(self) -> None:
        text = self.box.text().strip()
        if not text and not self._filtered():
            return
        if not text and not self.tags and not self.people:  # a folder or a date alone: the catalog says which
            self._show_library()
            return
        self.active = True
        if self.session.engine is None:
            self._set_waiting(True, model_loading=True)  # engine_ready runs it
            return
        self.searching = True
        self._search_seq = self._next_seq()
        self._set_waiting(True)
        self._asked = SearchScope(folder=self.folder, tags=tuple(self.tags), people=self.people, taken=self.taken)
        self.search_requested.emit(self._search_seq, text, self._asked)

    # ------------------------------------------------------------------ the tag filter

    def toggle_tag(self, word: str) -> None:
        """A word clicked in the tag list: filter by it too (AND), or stop filtering by it when it already does."""
        if any(fold(t) == fold(word) for t in self.tags):
            self.remove_tag(word)
            return
        self.tags.append(word)
        self._filter_changed()

    def remove_tag(self, word: str) -> None:
        self.tags = [t for t in self.tags if fold(t) != fold(word)]
        self._filter_changed()

    def clear_tags(self) -> None:
        self.tags = []
        self._filter_changed()

    def set_people(self, on: bool) -> None:
        """The People button: keep only the photos with a face (with the words in the box and the tag filter)."""
        if on == self.people:
            return
        self._show_people(on)
        self._filter_changed()

    def _show_people(self, on: bool) -> None:
        self.people = on
        self.people_button.blockSignals(True)
        self.people_button.setChecked(on)
        self.people_button.blockSignals(False)

    def _filter_changed(self) -> None:
        """Show the filters and search again: the words in the box among the photos the filters keep, or just those
        photos."""
        self.bar.show_tags(self.tags)
        self.tags_changed.emit(list(self.tags))
        if self.similar_text is not None:  # a find-similar is not words to search for
            self._set_box("")
        self.search_timer.stop()
        if self.box.text().strip() or self._filtered():
            self.run_search()
        else:
            self._show_library()

    def set_browse(self, folder, taken) -> None:
        """The folder / date filter (a folder or a month clicked in the sidebar; None: none): it narrows the words
        typed, the tag filter and People, or shows its own photos when there is nothing else."""
        self.folder, self.taken = folder, taken
        self.browse_changed.emit()
        self._filter_changed()

    def set_sort(self, by: str) -> None:
        """Show what is shown in another order (``tagger.gui.browse_order``); the selection stays."""
        if by == self.sort:
            return
        self.sort = by
        if self.similar_text is not None or self.searching:  # a find-similar is a ranking; an answer is on its way
            return
        selected, current = set(self.grid.selected_ids()), self.grid.current_photo()
        if self.result is not None:  # from the answer's own order: back to relevance after a sort by name
            rows = self._rows(self.result.hits, scores=bool(self.result.query.strip()))
            self._matched, self._weaker = self._sorted_parts(self.result, rows)
        elif not self.active:
            self._matched = self._library_rows()
        self._fill_grid()
        if selected:
            self.reselect(selected, current)

    def find_similar(self, photo_id: int | None) -> None:
        if photo_id is None or self.session.engine is None:
            return
        name = self._by_id[photo_id].name if photo_id in self._by_id else str(photo_id)
        self._set_box(f"{SIMILAR_PREFIX}{name}", similar=True)
        if self.tags:  # photos that look alike, in the whole library: no filter stays on screen unapplied
            self.tags = []
            self.bar.show_tags(self.tags)
            self.tags_changed.emit([])
        self._show_people(False)
        if self.folder is not None or self.taken is not None:
            self.folder = self.taken = None
            self.browse_changed.emit()
        self.active = True
        self.searching = True
        self._search_seq = self._next_seq()
        self._set_waiting(True)
        self.similar_requested.emit(self._search_seq, photo_id)

    def search_done(self, seq: int, answer) -> None:
        """A search's SearchResult (its matches shown, the rest folded away) or a find-similar's hits (all shown)."""
        if seq != self._search_seq:
            return  # an answer to a query the user has since changed
        self.searching = False
        self._set_waiting(False)
        if isinstance(answer, list):  # find similar: a ranking, no line between matches and the rest
            self._set_result(None, self._rows(answer), [])
            self.result_label.setText(f"{len(answer):,} photos, best first")
        else:
            rows = self._rows(answer.hits, scores=bool(answer.query.strip()))
            matched, weaker = self._sorted_parts(answer, rows)
            self._set_result(answer, matched, weaker)
            self.result_label.setText(match_line(answer, people=self._asked.people))
        self.result_label.setToolTip(self.result_label.text())
        if self.model.rowCount():
            self.grid.scrollToTop()
        self.schedule_cloud()

    def _sorted_parts(self, answer, rows: list[GridRow]) -> tuple[list[GridRow], list[GridRow]]:
        """A search's rows as (matches, weaker results), each in the sort order chosen (relevance: as ranked)."""
        ranked = bool(answer.query.strip())
        matched = [r for r, h in zip(rows, answer.hits, strict=True) if h.match]
        weaker = [r for r, h in zip(rows, answer.hits, strict=True) if not h.match]
        return (sorted_rows(matched, self.sort, self._date_rank, ranked),
                sorted_rows(weaker, self.sort, self._date_rank, ranked))

    def _rows(self, hits, scores: bool = True) -> list[GridRow]:
        """Grid rows of the hits, each with what found it; without ``scores`` (the filters alone: every photo carries
        the words, or has a face) the grid shows their names, not a relevance of 1.00 under each."""
        hashes = {pid: r.hash for pid, r in self._by_id.items()}
        unknown = [h.photo_id for h in hits if h.photo_id not in hashes]
        if unknown and self.session.catalog is not None:  # added by another process since the library was read:
            for pid in unknown:  # the thumbnail is found by content hash, so ask the catalog for it
                photo = self.session.catalog.photo(pid)
                hashes[pid] = photo["hash"] if photo else None
        return [GridRow(h.photo_id, hashes.get(h.photo_id), h.path.name, h.score if scores else None,
                        h.why if scores else "") for h in hits]

    def _set_result(self, result, matched: list[GridRow], weaker: list[GridRow]) -> None:
        self.result = result
        self._matched, self._weaker = matched, weaker
        self.showing_weaker = False
        self.bar.show_suggestions(worth_trying(result))
        self._fill_grid()

    def _fill_grid(self) -> None:
        if self.grid.selectionModel().hasSelection():  # said, so that the details panel does not keep showing a
            self.grid.selectionModel().clearSelection()  # photo the new rows may not hold (a reset clears silently)
        self.model.set_rows(self._matched + self._weaker if self.showing_weaker else self._matched)
        self.bar.show_weaker(len(self._weaker), self.showing_weaker)

    def toggle_weaker(self) -> None:
        """Unfold the weaker results after the matches, or fold them away again; the selection and the scroll
        position stay (a photo selected among the matches is still selected), and the cloud still describes the
        matches."""
        selected, current = set(self.grid.selected_ids()), self.grid.current_photo()
        scroll = self.grid.verticalScrollBar().value()
        self.showing_weaker = not self.showing_weaker
        self._fill_grid()
        if selected:
            self.reselect(selected, current)
        self.grid.verticalScrollBar().setValue(scroll)

    def reselect(self, ids: set[int], current: int | None) -> None:
        """Select these photos again (those still shown) after the grid's rows were replaced."""
        selection = QItemSelection()
        sel = self.grid.selectionModel()
        for i, r in enumerate(self.model.rows()):
            if r.photo_id == current:
                sel.setCurrentIndex(self.model.index(i), QItemSelectionModel.SelectionFlag.NoUpdate)
            if r.photo_id in ids:
                selection.select(self.model.index(i), self.model.index(i))
        sel.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def request_failed(self, seq: int, message: str) -> None:
        if seq == self._search_seq:
            self.searching = False
            self._set_waiting(False)
            self.result_label.setText("search failed")
        if seq == self._cloud_seq:
            self.cloud_pending = False
        self.notice.emit(message, 8000)

    # ------------------------------------------------------------------ the tag cloud

    def schedule_cloud(self) -> None:
        """Describe what is shown once the selection or the results have settled (one request, not one per click)."""
        self.cloud_pending = True
        self.cloud_timer.start()

    def request_cloud(self) -> None:
        if self.session.engine is None:
            return
        selected = self.grid.selected_ids()
        best = [r.photo_id for r in self._matched[:SEARCH_CLOUD_TOP]]  # the matches: never the weaker results
        if selected:
            ids, title = selected, f"{len(selected)} selected photo(s)"
        elif (self.active or self.folder is not None or self.taken is not None) and best:
            text = self.box.text().strip()
            if text:  # a ranking: its best hits
                ids = best
                title = f"top {len(ids)} results for “{text}”"
            else:  # a folder, a month, tags, People: every photo they keep is as much in it as any other
                ids = [r.photo_id for r in self._matched[:CLOUD_ALL_MAX]]
                title = f"{len(ids):,} photos {self._kept_words()}"
        else:  # the library, or a search that matched nothing: the words the library does have
            ids, title = None, "whole library"
        self._cloud_title = title
        self._cloud_seq = self._next_seq()
        self.cloud_pending = True
        self.cloud_requested.emit(self._cloud_seq, ids)

    def _kept_words(self) -> str:
        """What every filter keeps, in words: "tagged “pet” with people in trip · March 2019"."""
        words = filter_words(self.tags, self.people)
        if self.folder is not None or self.taken is not None:
            catalog = self.session.catalog
            roots = [r.path for r in catalog.roots()] if catalog is not None else []
            words = " ".join(w for w in (words, f"in {describe(self.folder, self.taken, roots)}") if w)
        return words

    def cloud_done(self, seq: int, tags) -> None:
        if seq != self._cloud_seq:
            return
        self.cloud_pending = False
        self.cloud.set_tags(tags, self._cloud_title, self._cloud_placeholder())

    def set_indexing(self, running: bool) -> None:
        """Indexing started or ended: an empty cloud says whether its tags are on their way (the first indexing of a
        library) or there are none, at once rather than at the next cloud."""
        self.indexing = running
        if not self.cloud.words:
            self.cloud.set_tags([], self._cloud_title, self._cloud_placeholder())

    def _cloud_placeholder(self) -> str:
        return "tags appear once photos are indexed" if self.indexing else "no tags yet"

    # ------------------------------------------------------------------ the engine

    def engine_ready(self) -> None:
        """A search typed (or a tag clicked) while the model loaded runs now; otherwise the library's cloud appears."""
        if (self.box.text().strip() and self.similar_text is None) or self._filtered():
            self.run_search()
        else:
            self.request_cloud()

    def version_applied(self) -> None:
        """Another model version answers now: the same words may find other photos (a find-similar would not
        change: it compares backbone features, which no training touches)."""
        text = self.box.text().strip()
        if self.active and (text or self._filtered()) and self.similar_text is None:
            self.run_search()
        else:
            self.schedule_cloud()
