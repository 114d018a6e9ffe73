"""Search, similarity and tag clouds on a real (small) Caltech library, through the library API and the CLI's JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tagger.cli import main
from tagger.library.catalog import Catalog
from tagger.library.indexer import Indexer
from tagger.library.search import Library, mmr, query_text


@pytest.fixture(scope="module")
def lib(engine, caltech_library, tmp_path_factory):
    db = tmp_path_factory.mktemp("lib") / "catalog.db"
    cat = Catalog.open(db)
    Indexer(cat, engine).index([caltech_library])
    return Library(cat, engine), db


def _folder(hit) -> str:
    return hit.path.parent.name


@pytest.mark.parametrize("query, folder", [("airplane", "airplanes"), ("kangaroo", "kangaroo"),
                                           ("pizza", "pizza"), ("motorbike", "Motorbikes"),
                                           ("sailboat", "ketch"), ("leopard", "Leopards")])
def test_a_word_ranks_its_photos_first(lib, query, folder):
    hits = lib[0].search(query, limit=6)
    got = [_folder(h) for h in hits]
    detail = [(_folder(h), round(h.score, 3)) for h in hits]
    assert got[:4] == [folder] * 4 and got.count(folder) >= 5, detail  # 6 photos per class; the model may miss one
    assert all(a.score >= b.score for a, b in zip(hits, hits[1:]))


def test_a_phrase_combines_its_words(lib):
    assert [_folder(h) for h in lib[0].search("a sailing boat", limit=3)] == ["ketch"] * 3
    assert [_folder(h) for h in lib[0].search("grand piano", limit=1)]  # a WordNet phrase is one concept


def test_zero_shot_words_and_typos_still_find_photos(lib):
    assert _folder(lib[0].search("marsupial", limit=1)[0]) == "kangaroo"
    assert _folder(lib[0].search("pizzza", limit=1)[0]) == "pizza"  # a typo, through fastText subwords
    assert _folder(lib[0].search("motorbikes", limit=1)[0]) == "Motorbikes"  # a plural


@pytest.mark.parametrize("text", ["", "   ", "'; DROP TABLE photos; --", "x" * 10_000, "🚀🐨", "כלב ים", "%_*?"])
def test_hostile_queries_never_fail(lib, text):
    hits = lib[0].search(text, limit=3)
    assert len(hits) <= 3


def test_query_text_drops_function_words():
    assert query_text("Boats at the SUNSET!") == "boats sunset"
    assert query_text("the") == "the"


def test_folder_filter(lib, caltech_library):
    hits = lib[0].search("airplane", limit=10, folder=caltech_library / "pizza")
    assert hits and all(_folder(h) == "pizza" for h in hits)


def test_similar_photos_look_alike(lib, caltech_library):
    photo = sorted((caltech_library / "sunflower").glob("*.jpg"))[0]
    hits = lib[0].similar(photo, limit=3)
    assert photo not in [h.path for h in hits]
    assert [_folder(h) for h in hits] == ["sunflower"] * 3


def test_tag_cloud_of_a_folder_names_the_animal(lib, caltech_library):
    library, _ = lib
    ids = library.catalog.photos_under(caltech_library / "kangaroo")
    cloud = library.tag_cloud(ids, limit=10)
    words = [t.tag for t in cloud]
    assert "wallaby" in words[:3] and "kangaroo" in words
    assert len(set(words)) == len(words)


def test_mmr_prefers_diverse_words():
    import numpy as np

    vecs = np.array([[1, 0], [0.99, 0.14], [0, 1]], np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    assert mmr(vecs, np.array([1.0, 0.95, 0.6]), 2, diversity=0.7) == [0, 2]
    assert mmr(vecs, np.array([1.0, 0.95, 0.6]), 2, diversity=0.0) == [0, 1]


# ------------------------------------------------------------------ the CLI's JSON shapes


def _run(capsys, *argv) -> object:
    code = main(list(argv))
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def test_search_json(lib, capsys):
    _, db = lib
    hits = _run(capsys, "search", "kangaroo", "--db", str(db), "--limit", "3", "--json")
    assert isinstance(hits, list) and len(hits) == 3
    for h in hits:
        assert set(h) >= {"path", "score"} and Path(h["path"]).is_absolute() and Path(h["path"]).exists()
        assert isinstance(h["score"], float)


def test_status_json(lib, capsys):
    _, db = lib
    status = _run(capsys, "--db", str(db), "status", "--json")
    assert {k: status[k] for k in ("indexed", "failed", "gone")} == {"indexed": 48, "failed": 0, "gone": 0}
    assert status["provider"] == "CPUExecutionProvider" and status["model"]
    assert isinstance(status["failures"], list)


def test_tags_and_tag_json(lib, capsys, caltech_library):
    _, db = lib
    photo = sorted((caltech_library / "pizza").glob("*.jpg"))[0]
    assert main(["tag", str(photo), "--add", "dinner", "--db", str(db)]) == 0
    capsys.readouterr()
    cloud = _run(capsys, "tags", str(photo), "--db", str(db), "--json")
    assert cloud["photos"] == 1 and cloud["user_tags"] == [{"tag": "dinner", "photos": 1}]
    assert cloud["tags"] and all(set(t) == {"tag", "weight"} for t in cloud["tags"])
    assert "pizza" in [t["tag"] for t in cloud["tags"]][:3]
    folder = _run(capsys, "tags", str(caltech_library / "pizza"), "--db", str(db), "--json")
    assert folder["photos"] == 6
    assert main(["tag", str(photo), "--remove", "dinner", "--db", str(db)]) == 0


def test_index_json_and_errors(tmp_path, capsys, caltech_library):
    db = tmp_path / "c.db"
    summary = _run(capsys, "index", str(caltech_library / "okapi"), "--db", str(db), "--json")
    assert summary["indexed"] == 6 and summary["counts"] == {"indexed": 6, "failed": 0, "gone": 0}
    assert main(["index", str(tmp_path / "missing"), "--db", str(db)]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["tags", str(tmp_path / "nowhere.jpg"), "--db", str(db)]) == 2
    assert "not in the catalog" in capsys.readouterr().err
