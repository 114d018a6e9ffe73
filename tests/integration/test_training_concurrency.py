"""Two trainings on one catalog, as real processes (issue 12): `tagger train` twice at once, one of them paused
(SIGSTOP) or killed (SIGKILL) while it holds the catalog.

Before: no lock between processes; the paused run crashed with an IntegrityError whose cleanup deleted the other's
active version (folder gone, 0 vectors), search fell back to the untrained model and `tagger doctor` said healthy.
Now: the second run is refused with who holds the catalog (exit 2, one line, no traceback), a killed holder leaves
nothing locked, no version is ever lost, and doctor finds a removed version folder and missing vectors."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tagger.library.catalog import Catalog

ROOT = Path(__file__).resolve().parents[2]
WAIT = 300  # seconds: a training on two busy cores


@pytest.fixture
def db(engine, caltech_catalog, caltech_library, tmp_path) -> Path:
    """A private copy of the small indexed library's catalog with three labelled folders. ``engine`` builds the
    model and sets TAGGER_MODELS, which the ``tagger`` processes inherit."""
    shutil.copytree(caltech_catalog.parent, tmp_path / "lib")  # the catalog and its thumbnails
    db = tmp_path / "lib" / caltech_catalog.name
    with Catalog.open(db) as cat:
        for folder in ("kangaroo", "okapi", "pizza"):
            cat.set_label(caltech_library / folder, folder)
    return db


def _tagger(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tagger", *args, "--db", str(db)]


def _run(db: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(_tagger(db, *args), cwd=ROOT, capture_output=True, text=True, timeout=WAIT)


def _start_training(db: Path) -> subprocess.Popen:
    """`tagger train`, returned once it holds the catalog's training lock (its pid is in the lock file)."""
    lock = db.with_name(db.name + ".train.lock")
    proc = subprocess.Popen(_tagger(db, "train", "--json"), cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if lock.read_text().split()[:1] == [str(proc.pid)]:
                return proc
        except OSError:
            pass
        time.sleep(0.02)
    out, err = proc.communicate()
    raise AssertionError(f"the training never took the lock (exit {proc.returncode}): {err[-2000:]}")


def _finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    out, err = proc.communicate(timeout=WAIT)
    return proc.returncode, out, err


def test_a_paused_training_keeps_the_catalog_and_a_killed_one_does_not(db):
    # 1. a training paused while it holds the catalog: the second one is refused, saying by whom
    first = _start_training(db)
    try:
        first.send_signal(signal.SIGSTOP)
        second = _run(db, "train")
        assert second.returncode == 2, second.stderr
        assert f"a training is already running (pid {first.pid})" in second.stderr
        assert "Traceback" not in second.stderr
        switch = _run(db, "models", "--use", "0")
        assert switch.returncode == 2 and f"(pid {first.pid})" in switch.stderr, switch.stderr
    finally:
        first.send_signal(signal.SIGCONT)
    rc, out, err = _finish(first)
    assert rc == 0, err
    v1 = json.loads(out)["version"]
    with Catalog.open(db) as cat:
        assert cat.active_version() == v1 and [v["version"] for v in cat.versions()] == [0, v1]

    # 2. a training killed while it holds the catalog: the kernel frees the lock, the next training runs, and
    # nothing of the killed run is left, nor is the earlier version touched
    killed = _start_training(db)
    killed.send_signal(signal.SIGKILL)
    killed.communicate()
    rc, out, err = _finish(subprocess.Popen(_tagger(db, "train", "--json"), cwd=ROOT, stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, text=True))
    assert rc == 0, err
    v2 = json.loads(out)["version"]
    with Catalog.open(db) as cat:
        versions = {v["version"]: v for v in cat.versions()}
        assert sorted(versions) == [0, v1, v2] and v2 > v1 and cat.active_version() == v2
        assert cat.photos_missing_model(versions[v2]["model"]) == []
        assert sorted(p.name for p in (db.parent / "catalog.models").iterdir()) == [f"v{v1}", f"v{v2}"]
    assert _run(db, "doctor").returncode == 0
    rollback = _run(db, "models", "--use", str(v1))
    assert rollback.returncode == 0, rollback.stderr

    # 3. doctor finds photos without the active version's vectors (and repairs them), then a removed version folder
    with Catalog.open(db) as cat:
        with cat.transaction():
            cat.db.execute("DELETE FROM embeddings WHERE model = ? AND photo_id IN "
                           "(SELECT id FROM photos ORDER BY id LIMIT 7)", [versions[v1]["model"]])
    found = _run(db, "doctor", "--json")
    assert found.returncode == 1
    assert {f["check"]: f["count"] for f in json.loads(found.stdout)["findings"]} == {"version_vectors": 7}
    assert _run(db, "doctor", "--repair").returncode == 0
    assert _run(db, "doctor").returncode == 0
    shutil.rmtree(db.parent / "catalog.models" / f"v{v1}")
    found = _run(db, "doctor")
    assert found.returncode == 1 and "active_version" in found.stdout and f"version {v1}" in found.stdout
    listed = _run(db, "models")
    assert listed.returncode == 0 and "its folder is gone" in listed.stdout
    search = _run(db, "search", "okapi", "--limit", "3")
    assert search.returncode == 0 and "untrained" in search.stderr  # said, never silent


def test_the_app_says_who_holds_the_catalog(db, qtbot, tmp_path):
    """The app's Retrain and "Use version" while a `tagger train` (here: this process) holds the catalog: the panel
    says so in a sentence, nothing changes, and both work again once it is free."""
    from PySide6.QtCore import QSettings

    from tagger.gui.main_window import MainWindow
    from tagger.training.lock import training_lock
    from tagger.training.trainer import TrainConfig

    win = MainWindow(db, QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.engine is not None, timeout=WAIT * 1000)
    labels = win.labels_ctl
    labels.train_config = TrainConfig(epochs=3, patience=3, batch_size=16)
    with training_lock(db):
        for start in (labels.start_training, lambda: labels.use_version(0)):
            start()
            qtbot.waitUntil(lambda: not labels.busy, timeout=WAIT * 1000)
            result = win.labels_panel.training.result.text()
            assert f"a training is already running (pid {os.getpid()})" in result, result
    assert win.catalog.active_version() == 0 and [v["version"] for v in win.catalog.versions()] == [0]
    labels.start_training()
    qtbot.waitUntil(lambda: not labels.busy, timeout=WAIT * 1000)
    assert win.catalog.active_version() == 1
    win.close()
