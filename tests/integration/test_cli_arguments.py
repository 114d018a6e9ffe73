"""The CLI refuses what cannot work with a message, and never invents an empty library (issue "trust", item 12)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tagger.cli import main
from tagger.library.catalog import Catalog

READ_ONLY_COMMANDS = [["status"], ["search", "dog"], ["tags", "."], ["similar", "x.jpg"], ["labels"], ["models"],
                      ["doctor"], ["train"], ["tag", "x.jpg", "--add", "a"]]


@pytest.mark.parametrize("command", READ_ONLY_COMMANDS, ids=lambda c: c[0])
def test_commands_refuse_a_catalog_that_does_not_exist_and_create_nothing(tmp_path, capsys, command):
    db = tmp_path / "typo.db"
    assert main([*command, "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "there is no catalog at" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == [], "a mistyped --db must not create a catalog"


@pytest.mark.parametrize("argv, flag", [
    (["search", "dog", "--limit", "-3"], "--limit"),
    (["similar", "x.jpg", "--limit", "0"], "--limit"),
    (["index", ".", "--batch-size", "0"], "--batch-size"),
    (["index", ".", "--workers", "-1"], "--workers"),
    (["status", "--limit", "-1"], "--limit"),
    (["models", "--use", "-2"], "--use"),
    (["search", "dog", "--limit", "many"], "--limit"),
])
def test_out_of_range_numbers_are_refused_with_a_message(tmp_path, capsys, argv, flag):
    with pytest.raises(SystemExit) as stop:
        main([*argv, "--db", str(tmp_path / "c.db")])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {flag}:" in err and "Traceback" not in err
    assert not (tmp_path / "c.db").exists()


def test_status_limit_zero_still_means_all(tmp_path):
    Catalog.open(tmp_path / "c.db").close()
    assert main(["status", "--limit", "0", "--db", str(tmp_path / "c.db")]) == 0


def test_an_empty_new_label_name_is_refused_and_labels_nothing(tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    db = tmp_path / "c.db"
    with Catalog.open(db) as catalog:
        catalog.add_root(tmp_path)  # what `tagger index` records first
    assert main(["label", str(folder), "dogs", "--db", str(db)]) == 0
    assert main(["label", str(folder), "dogs", "--rename", "", "--db", str(db)]) == 2
    assert "a label cannot be empty" in capsys.readouterr().err
    with Catalog.open(db) as catalog:
        assert [row["label"] for row in catalog.labels()] == ["dogs"]


def test_a_closed_pipe_ends_the_command_quietly(tmp_path):
    """`tagger labels | head -1`: no "[Errno 32] Broken pipe", no traceback, the status a shell expects."""
    db = tmp_path / "c.db"
    with Catalog.open(db) as catalog:
        catalog.add_root(tmp_path)
        for i in range(3000):
            folder = tmp_path / f"folder{i:04d}"
            folder.mkdir()
            catalog.set_label(folder, f"label {i}")
    proc = subprocess.Popen([sys.executable, "-m", "tagger", "labels", "--db", str(db)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).resolve().parents[2])
    first = proc.stdout.readline()
    proc.stdout.close()  # the reader goes away, as `head -1` does
    err = proc.stderr.read().decode()
    assert proc.wait() == 141
    assert first and err == "", err


def test_many_processes_opening_a_brand_new_catalog_at_once_all_succeed(tmp_path):
    db = tmp_path / "new.db"
    code = "import sys; from tagger.library.catalog import Catalog; Catalog.open(sys.argv[1]).close()"
    procs = [subprocess.Popen([sys.executable, "-c", code, str(db)], stderr=subprocess.PIPE, text=True)
             for _ in range(24)]
    failures = [p.communicate()[1] for p in procs if p.wait() != 0]
    assert failures == []
    with Catalog.open(db) as catalog:
        assert catalog.integrity_problems() == []


def test_a_relative_db_is_stored_as_an_absolute_path(tmp_path, monkeypatch):
    """Model versions live beside the catalog by path: from another directory they must still be found."""
    from tagger.engine.version import versions_dir

    monkeypatch.chdir(tmp_path)
    with Catalog.open("relative.db") as catalog:
        assert catalog.path == tmp_path / "relative.db"
        assert versions_dir(catalog.path).is_absolute()
