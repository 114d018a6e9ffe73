"""The app and the CLI on one catalog at once, quickly: the harness of bench/concurrency_harness.py with fewer edits
and commands (the bench runs >= 200 app edits and >= 100 CLI commands, >= 10 of them SIGKILLed).

The real app (offscreen MainWindow, driven through its controllers) tags photos, labels folders and retrains while
CLI processes search, index, tag, label, train and run doctor on the same catalog, some killed mid-run; then the app
is killed too. Every edit reported saved must be in the catalog, which must pass integrity_check, with an active
version that loads and covers every photo, and no process may have shown a raw traceback."""

from __future__ import annotations

import json

import pytest

from bench import concurrency_harness
from tests.shared import CALTECH


@pytest.fixture(autouse=True)
def _needs_data():
    if not CALTECH.is_dir():
        pytest.skip("shared data not available")


def test_app_and_cli_on_one_catalog_lose_nothing(engine, capsys):
    status = concurrency_harness.main(["--app-edits", "24", "--cli-commands", "14", "--kill-share", "0.3",
                                       "--per-class", "4", "--seed", "3", "--data", str(CALTECH), "--json"])
    summary = json.loads(capsys.readouterr().out)
    assert summary["app_edits_saved"] >= 20 and summary["cli_commands"] == 14, summary
    assert summary["lost_edits"] == 0, summary["lost_tags"] + summary["lost_labels"]
    assert summary["integrity_problems"] == [] and summary["raw_tracebacks"] == 0, summary
    assert summary["active_version_loads"] and summary["photos_without_active_vectors"] == 0, summary
    assert status == 0
