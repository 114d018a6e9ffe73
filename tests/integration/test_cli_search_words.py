"""`tagger search` finds the person's own words first (issue 13): a photo tagged "Rex" is the first hit of `search rex`
however it is typed; keywords another program wrote into XMP sidecars (a Lightroom hierarchy `Places|Italy|Rome`,
"Café") are found by `search rome`, `search italy`, `search cafe`, `search cafés` once `tagger index` read them;
`--tag` keeps only photos carrying every word it names, with or without text; `--json` says for each hit whether it
matches and why; and a word nothing in the library is called gets "no photo matches", not a list of everything.

One small real library (the session's 48 Caltech photos, copied) is indexed and tagged once for the whole module
through the CLI, as a user would; every test only searches it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tagger.cli import main
from tests.shared import lightroom_sidecar


@pytest.fixture(scope="module")
def library(tmp_path_factory, caltech_library, engine) -> dict[str, Path | str]:
    """The 48-photo library with keywords in sidecars for two photos (read by `tagger index`) and tags typed on two
    others (`tagger tag`): photos of classes whose pictures nothing in these words describes."""
    root = tmp_path_factory.mktemp("words") / "photos"
    shutil.copytree(caltech_library, root)
    first = {folder: sorted((root / folder).glob("*.jpg"))[0]
             for folder in ("airplanes", "sunflower", "ketch", "okapi")}
    lightroom_sidecar(first["airplanes"], "Places|Italy|Rome", "Holidays")
    lightroom_sidecar(first["sunflower"], "Café")
    db = str(tmp_path_factory.mktemp("words_db") / "catalog.db")
    assert main(["index", str(root), "--db", db]) == 0
    assert main(["tag", str(first["ketch"]), "--add", "Rex", "--add", "pet", "--db", db]) == 0
    assert main(["tag", str(first["okapi"]), "--add", "pet", "--add", "holiday", "--db", db]) == 0
    return {"db": db, "rome": first["airplanes"], "cafe": first["sunflower"], "rex": first["ketch"],
            "pet": first["okapi"]}


def _hits(capsys, library, *argv: str) -> list[dict]:
    capsys.readouterr()
    code = main(["search", *argv, "--db", str(library["db"]), "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def _paths(hits: list[dict]) -> list[Path]:
    return [Path(h["path"]) for h in hits]


# ------------------------------------------------------------------ tags and keywords come first


@pytest.mark.parametrize("query", ["rex", "REX", "Rex"])
def test_a_tagged_photo_is_the_first_hit_however_the_tag_is_typed(library, capsys, query):
    hits = _hits(capsys, library, query)
    assert _paths(hits)[0] == library["rex"]
    assert hits[0]["match"] is True and hits[0]["why"] == "tag" and hits[0]["score"] == 1.0


@pytest.mark.parametrize(("query", "photo"), [
    ("rome", "rome"), ("Italy", "rome"), ("places", "rome"), ("PLACES", "rome"),
    ("cafe", "cafe"), ("Café", "cafe"), ("cafés", "cafe"), ("CAFES", "cafe"),
])
def test_keywords_read_from_a_sidecar_are_found_at_every_level(library, capsys, query, photo):
    hits = _hits(capsys, library, query)
    assert _paths(hits)[0] == library[photo]
    assert hits[0]["match"] is True and hits[0]["why"] == "tag"


def test_a_tag_and_a_keyword_of_the_same_word_both_come_first(library, capsys):
    hits = _hits(capsys, library, "holidays")  # typed "holiday" on one photo, "Holidays" in the other's sidecar
    assert set(_paths(hits)[:2]) == {library["rome"], library["pet"]}
    assert [h["why"] for h in hits[:2]] == ["tag", "tag"]


def test_a_keyword_matches_its_photos_and_no_other(library, capsys):
    assert _paths(_hits(capsys, library, "rome", "--matches-only")) == [library["rome"]]
    assert _paths(_hits(capsys, library, "cafes", "--matches-only")) == [library["cafe"]]


def test_a_typed_tag_comes_before_the_photos_it_teaches(library, capsys):
    hits = _hits(capsys, library, "rex", "--matches-only")
    assert _paths(hits)[0] == library["rex"] and hits[0]["why"] == "tag"
    # a tag typed in Tagger is also a label learned at once: photos like it may match, after it and as 'label'
    assert all(h["why"] == "label" and h["score"] < 1.0 for h in hits[1:])


def test_tags_on_a_few_photos_leave_other_words_their_matches(library, capsys):
    """Untagged, `search kangaroo` matches 5 of the 6 kangaroos and nothing else; tags on a ketch and an okapi say
    nothing about kangaroos."""
    hits = _hits(capsys, library, "kangaroo", "--matches-only")
    assert len(hits) >= 3 and all(Path(h["path"]).parent.name == "kangaroo" for h in hits)


# ------------------------------------------------------------------ the tag filter


def test_the_tag_filter_without_text_lists_the_photos_carrying_the_tag(library, capsys):
    assert set(_paths(_hits(capsys, library, "--tag", "pet"))) == {library["rex"], library["pet"]}
    assert set(_paths(_hits(capsys, library, "--tag", "Holidays"))) == {library["rome"], library["pet"]}


def test_two_tags_keep_the_photos_carrying_both(library, capsys):
    assert _paths(_hits(capsys, library, "--tag", "pet", "--tag", "holiday")) == [library["pet"]]
    assert _paths(_hits(capsys, library, "--tag", "holiday", "--tag", "ITALY")) == [library["rome"]]
    assert _hits(capsys, library, "--tag", "pet", "--tag", "rome") == []


def test_the_tag_filter_combines_with_text(library, capsys):
    hits = _hits(capsys, library, "okapi", "--tag", "pet")
    assert _paths(hits) == [library["pet"], library["rex"]]  # only the pets, the okapi first
    assert _paths(_hits(capsys, library, "rex", "--tag", "pet"))[0] == library["rex"]


def test_a_tag_filter_nobody_used_finds_nothing(library, capsys):
    assert _hits(capsys, library, "okapi", "--tag", "zorblax") == []
    capsys.readouterr()
    assert main(["search", "okapi", "--tag", "zorblax", "--db", str(library["db"])]) == 0
    assert "no photo matches 'okapi' and tag 'zorblax'" in capsys.readouterr().out


def test_search_without_text_or_a_tag_finds_nothing_and_says_why(library, capsys):
    capsys.readouterr()
    assert main(["search", "--db", str(library["db"])]) == 0
    assert "--tag" in capsys.readouterr().out
    assert main(["search", "   ", "--json", "--db", str(library["db"])]) == 0
    assert capsys.readouterr().out.strip() == "[]"
    assert main(["search", "--tag", "  ", "--json", "--db", str(library["db"])]) == 0  # a blank tag is no filter
    assert capsys.readouterr().out.strip() == "[]"


# ------------------------------------------------------------------ what --json and the text output say


def test_json_hits_say_whether_they_match_and_why(library, capsys):
    hits = _hits(capsys, library, "rex", "--limit", "48")
    assert len(hits) == 48
    for h in hits:
        assert set(h) >= {"path", "score", "id", "match"} and isinstance(h["match"], bool)
        assert 0.0 <= h["score"] <= 1.0
        assert h["match"] == (h.get("why") in ("tag", "label", "meaning"))
    assert [h["match"] for h in hits] == sorted((h["match"] for h in hits), reverse=True)  # matches first


def test_the_text_output_lists_the_match_then_weaker_results(library, capsys):
    capsys.readouterr()
    assert main(["search", "Rome", "--db", str(library["db"]), "--limit", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("1 photo matches 'Rome'") and "of 48 searched" in lines[0]
    assert str(library["rome"]) in lines[1] and "(tag)" in lines[1]
    assert lines[2] == "weaker results:" and len(lines) == 7


def test_a_nonsense_word_matches_no_photo(library, capsys):
    capsys.readouterr()
    assert main(["search", "zorblax", "--db", str(library["db"])]) == 0
    out = capsys.readouterr().out
    assert out.startswith("no photo matches 'zorblax'"), out
    assert not any(h["match"] for h in _hits(capsys, library, "zorblax"))
    assert _hits(capsys, library, "zorblax", "--matches-only") == []
