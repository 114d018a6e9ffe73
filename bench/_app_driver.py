"""The real app, offscreen, making a person's edits through its own controllers (for bench/concurrency_harness.py).

    python -m bench._app_driver --db CATALOG --edits 200 --labels FOLDER=LABEL ... [--train-at 60] [--seed 0]

It builds the same ``MainWindow`` that ``python main.py`` shows, waits for its engine, then adds one tag at a time to
random photos through the details controller (what typing a tag and pressing Enter does), labels folders through the
labels controller and starts one retraining from it (the Retrain button), while the event loop keeps running as in
the app. Each edit the app reports as saved is printed as one JSON line on stdout (flushed at once, so a SIGKILL
loses nothing that was reported); ``{"kind": "done"}`` follows when the edits and the training are over, and the
process then waits to be killed, as a user's app would be.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def _say(**record) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


def _pump(app, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.005)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--edits", type=int, default=200)
    parser.add_argument("--labels", nargs="*", default=[], metavar="FOLDER=LABEL")
    parser.add_argument("--train-at", type=int, default=60, help="start one retraining after this many edits")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from tagger.gui.main_window import MainWindow

    app = QApplication([])
    settings = QSettings(str(args.db.with_suffix(".app-settings.ini")), QSettings.Format.IniFormat)
    window = MainWindow(args.db, settings)
    window.show()
    deadline = time.monotonic() + 300
    while window.session.engine is None and time.monotonic() < deadline:
        _pump(app, 0.1)
    if window.session.engine is None:
        _say(kind="error", message="the engine did not start")
        return 1
    rng = random.Random(args.seed)
    catalog = window.session.catalog
    ids = catalog.indexed_ids()
    paths = catalog.photo_paths(ids)
    labels = [item.split("=", 1) for item in args.labels]
    train_at = min(args.train_at, args.edits // 3)
    trained = False
    for i in range(args.edits):
        pid = rng.choice(ids)
        tag = f"app {i}"
        if window.details_ctl.add_user_tag(pid, tag):
            _say(kind="tag", path=str(paths[pid]), tag=tag)
        if labels and i == train_at // 2:
            for folder, label in labels:
                if window.labels_ctl.add_label(Path(folder), label):
                    _say(kind="label", folder=folder, label=label)
        if labels and i == train_at and not trained:
            window.labels_ctl.start_training()
            trained = True
            _say(kind="training-started")
        _pump(app, rng.uniform(0.1, 1.0))  # a person's pace; the CLI runs meanwhile
    deadline = time.monotonic() + 600
    while window.labels_ctl.busy and time.monotonic() < deadline:
        _pump(app, 0.1)
    _say(kind="done", busy=window.labels_ctl.busy, active_version=catalog.active_version())
    while True:  # a user's app stays open until it is closed (or killed)
        _pump(app, 0.5)


if __name__ == "__main__":
    raise SystemExit(main())
