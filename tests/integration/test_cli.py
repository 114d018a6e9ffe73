"""The command line end to end: the JSON shapes and exit codes of `tagger search`, `status`, `tags`, `tag` and `index`
on a real (small) Caltech library, and `tagger eval` on a tiny data set."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tagger.cli import main
from tests.shared import cli_json

# ------------------------------------------------------------------ the CLI's JSON shapes


def test_search_json(caltech_catalog, capsys):
    db = str(caltech_catalog)
    hits = cli_json(capsys, "search", "kangaroo", "--db", db, "--limit", "3", "--json")
    assert isinstance(hits, list) and len(hits) == 3
    for h in hits:
        assert set(h) >= {"path", "score"} and Path(h["path"]).is_absolute() and Path(h["path"]).exists()
        assert isinstance(h["score"], float)


def test_status_json(caltech_catalog, capsys):
    db = str(caltech_catalog)
    status = cli_json(capsys, "--db", db, "status", "--json")
    assert {k: status[k] for k in ("indexed", "failed", "gone")} == {"indexed": 48, "failed": 0, "gone": 0}
    assert status["provider"] == "CPUExecutionProvider" and status["model"]
    assert isinstance(status["failures"], list)


def test_tags_and_tag_json(caltech_catalog, capsys, caltech_library):
    db = str(caltech_catalog)
    photo = sorted((caltech_library / "pizza").glob("*.jpg"))[0]
    assert main(["tag", str(photo), "--add", "dinner", "--db", db]) == 0
    capsys.readouterr()
    cloud = cli_json(capsys, "tags", str(photo), "--db", db, "--json")
    assert cloud["photos"] == 1 and cloud["user_tags"] == [{"tag": "dinner", "photos": 1}]
    assert cloud["tags"] and all(set(t) == {"tag", "weight"} for t in cloud["tags"])
    assert "pizza" in [t["tag"] for t in cloud["tags"]][:3]
    folder = cli_json(capsys, "tags", str(caltech_library / "pizza"), "--db", db, "--json")
    assert folder["photos"] == 6
    assert main(["tag", str(photo), "--remove", "dinner", "--db", db]) == 0


def test_index_json_and_errors(tmp_path, capsys, caltech_library):
    db = str(tmp_path / "c.db")
    summary = cli_json(capsys, "index", str(caltech_library / "okapi"), "--db", db, "--json")
    assert summary["indexed"] == 6 and summary["counts"] == {"indexed": 6, "failed": 0, "gone": 0}
    assert main(["index", str(tmp_path / "missing"), "--db", db]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["tags", str(tmp_path / "nowhere.jpg"), "--db", db]) == 2
    assert "not in the catalog" in capsys.readouterr().err


def test_people_and_text_from_the_command_line(tmp_path, capsys):
    from tests.shared import caltech_files

    lib = tmp_path / "lib"
    lib.mkdir()
    for f in caltech_files("Faces_easy", 2) + caltech_files("pizza", 2):
        shutil.copy(f, lib / f"{f.parent.name}_{f.name}")
    db = str(tmp_path / "c.db")
    summary = cli_json(capsys, "index", str(lib), "--db", db, "--no-people", "--no-text", "--json")
    assert summary["indexed"] == 4 and summary["faces"] == 0
    assert cli_json(capsys, "search", "--people", "--db", db, "--json") == []  # nobody looked for faces yet
    assert cli_json(capsys, "--db", db, "status", "--json")["detections"]["looked_for_faces"] == 0
    summary = cli_json(capsys, "index", str(lib), "--db", db, "--json")  # looked at now, from the thumbnails
    assert summary["indexed"] == 0 and summary["faces"] == 4
    people = cli_json(capsys, "search", "--people", "--db", db, "--json")
    assert sorted(Path(h["path"]).name[:10] for h in people) == ["Faces_easy"] * 2
    hits = cli_json(capsys, "search", "a person", "--db", db, "--json")
    assert [(h["match"], h["why"]) for h in hits[:2]] == [(True, "faces")] * 2
    assert Path(hits[0]["path"]).name.startswith("Faces_easy")
    one = cli_json(capsys, "tags", hits[0]["path"], "--db", db, "--json")
    assert len(one["faces"]) == 1 and {"face", "person"} <= {t["tag"] for t in one["tags"][:5]}
    assert main(["search", "portrait", "--db", db]) == 0
    assert "(faces)" in capsys.readouterr().out


# ------------------------------------------------------------------ tagger eval


def test_eval_json_on_a_tiny_dataset_with_a_corrupt_photo(engine, caltech_library, tmp_path, capsys):
    root = tmp_path / "ds"
    for folder in ("kangaroo", "pizza"):
        shutil.copytree(caltech_library / folder, root / folder)
    (root / "pizza" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "labels.tsv").write_text("folder\tlabel\nkangaroo\tkangaroo\npizza\tpizza\n")
    assert main(["eval", str(root), "--labels", str(root / "labels.tsv"), "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert "skipped pizza/broken.jpg" in captured.err
    assert result["n_images"] == 12 and result["n_failed"] == 1 and result["n_labels"] == 2
    keys = {"hit@1", "hit@2", "hit@5", "hit@10", "hit@20", "similarity@3", "imagenet", "non_imagenet"}
    assert keys <= set(result)
    assert set(result["baselines"]) == {"conse", "conse+wordnet", "conse+hub", "softmax_nearest_class",
                                        "random_embedding"}
    for baseline in result["baselines"].values():
        assert keys <= set(baseline)
    assert result["hit@1"] >= 0.9  # two easy, distinct classes
    assert result["images_per_second"] > 0


def test_eval_refuses_labels_for_missing_folders(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "labels.tsv").write_text("a\tapple\nb\tbanana\n")
    assert main(["eval", str(tmp_path), "--labels", str(tmp_path / "labels.tsv")]) == 2
    assert "not in" in capsys.readouterr().err
