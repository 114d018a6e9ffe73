"""Browsing by folder and by date: the folder tree's counts (sub-folders included), the years -> months timeline
(capture date, else the file's date) and the folder / date filter combined with a search and the tag filter."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from tagger.library.browse import (
    date_range,
    folder_tree,
    photos_in,
    timeline,
)
from tagger.library.catalog import Catalog, PhotoRecord
from tagger.library.search import Library


def _ns(day: str) -> int:
    return int(datetime.fromisoformat(day).timestamp() * 1e9)


def _add(cat: Catalog, root, rel: str, taken: str | None, file_day: str = "2020-06-15T12:00:00",
         status: str = "indexed") -> int:
    record = PhotoRecord(root.id, rel.encode(), 1, _ns(file_day), status, hash=rel, taken_at=taken,
                         features=np.zeros(4), top_classes=np.zeros(2), top_probs=np.zeros(2),
                         embedding=np.zeros(4))
    return cat.write_batch([record], "b", "m")[0]


@pytest.fixture
def small(tmp_path) -> tuple[Catalog, dict[str, int]]:
    cat = Catalog.open(tmp_path / "c.db")
    (tmp_path / "lib").mkdir()
    root = cat.add_root(tmp_path / "lib")
    ids = {
        "a.jpg": _add(cat, root, "a.jpg", "2019-03-02T10:00:00"),
        "trip/b.jpg": _add(cat, root, "trip/b.jpg", "2019-03-20T10:00:00"),
        "trip/day1/c.jpg": _add(cat, root, "trip/day1/c.jpg", "2019-07-01T10:00:00"),
        "trip/day1/D.jpg": _add(cat, root, "trip/day1/D.jpg", None, file_day="2021-01-05T12:00:00"),
        "trip/day2/e.jpg": _add(cat, root, "trip/day2/e.jpg", "2020-12-31T23:00:00"),
        "broken/x.jpg": _add(cat, root, "broken/x.jpg", "2019-03-02T10:00:00", status="failed"),
    }
    yield cat, ids
    cat.close()


def test_folder_tree_counts_include_sub_folders(small, tmp_path):
    cat, _ = small
    (top,) = folder_tree(cat)
    assert top.path == tmp_path / "lib" and top.count == 5  # the failed photo is not a photo to browse
    assert [(c.name, c.count) for c in top.children] == [("trip", 4)]  # "broken" holds no indexed photo
    trip = top.children[0]
    assert trip.path == tmp_path / "lib" / "trip"
    assert [(c.name, c.count) for c in trip.children] == [("day1", 2), ("day2", 1)]
    assert trip.children[0].path == tmp_path / "lib" / "trip" / "day1"


def test_timeline_counts_months_by_capture_date_else_file_date(small):
    cat, _ = small
    years = timeline(cat)
    assert [(y.year, y.count) for y in years] == [(2021, 1), (2020, 1), (2019, 3)]  # newest first
    assert [(m.month, m.count) for m in years[2].months] == [(7, 1), (3, 2)]
    assert [(m.month, m.count) for m in years[0].months] == [(1, 1)]  # no EXIF date: the file's date


def test_date_range_of_a_month_and_a_year():
    assert date_range(2019, 3) == ("2019-03", "2019-04")
    assert date_range(2019, 12) == ("2019-12", "2020-01")
    assert date_range(2019) == ("2019", "2020")


def test_photos_in_a_folder_and_a_month(small, tmp_path):
    cat, ids = small
    trip = tmp_path / "lib" / "trip"
    assert photos_in(cat, folder=trip) == {ids["trip/b.jpg"], ids["trip/day1/c.jpg"], ids["trip/day1/D.jpg"],
                                           ids["trip/day2/e.jpg"]}
    assert photos_in(cat, taken=date_range(2019, 3)) == {ids["a.jpg"], ids["trip/b.jpg"]}
    assert photos_in(cat, folder=trip, taken=date_range(2019)) == {ids["trip/b.jpg"], ids["trip/day1/c.jpg"]}
    assert photos_in(cat, taken=date_range(2021, 1)) == {ids["trip/day1/D.jpg"]}


def _folders(lib: Library, hits) -> set[str]:
    return {h.path.parent.name for h in hits}


def test_a_search_within_a_folder_and_a_month(lib, caltech_library):
    cat = lib.catalog
    pizza = cat.photos_under(caltech_library / "pizza")
    kangaroo = cat.photos_under(caltech_library / "kangaroo")
    cat.db.execute("UPDATE photos SET taken_at = '2018-05-01T10:00:00'")
    cat.db.execute(f"UPDATE photos SET taken_at = '2019-03-04T10:00:00' WHERE id IN "
                   f"({','.join(map(str, pizza[:3] + kangaroo[:3]))})")
    in_march = lib.find("pizza", limit=100, taken=date_range(2019, 3))
    assert {h.photo_id for h in in_march.hits} == set(pizza[:3] + kangaroo[:3])
    assert in_march.considered == 6
    matched = {h.photo_id for h in in_march.hits if h.match}
    assert matched and matched <= set(pizza[:3])  # the words still decide, inside the month
    # a month alone (no words) keeps its photos, all of them shown as matches
    alone = lib.find("", limit=100, taken=date_range(2019, 3))
    assert alone.matches == 6 and {h.photo_id for h in alone.hits} == set(pizza[:3] + kangaroo[:3])
    # with a folder and the tag filter too
    cat.edit_user_tags([pizza[0], kangaroo[0]], add=["favourite"])
    both = lib.find("pizza", limit=100, folder=caltech_library / "pizza", tags=["favourite"],
                    taken=date_range(2019, 3))
    assert [h.photo_id for h in both.hits] == [pizza[0]] and both.considered == 1
