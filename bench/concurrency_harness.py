"""One catalog, the app and the CLI at once: nothing reported saved may be lost, whatever runs or dies beside it.

    python bench/concurrency_harness.py [--app-edits 200] [--cli-commands 100] [--kill-share 0.2] [--seed 0] [--json]

A library of Caltech-101 photos (four class folders) is indexed into a fresh catalog. Then, at the same time:
  - the real app (``bench/_app_driver.py``: the same MainWindow as ``python main.py``, offscreen) adds ``--app-edits``
    tags to random photos through its details controller, labels two folders and starts one retraining from its
    labels controller, reporting every edit it saw saved;
  - this process runs ``--cli-commands`` CLI processes on the same catalog in a loop: search, tags, index (a new
    photo copied in first), tag (adds a tag), label, train, doctor, status; a ``--kill-share`` of them (seeded) are
    SIGKILLed at a random moment between 0.05 s and 0.9 x the median run so far (start-up, catalog open, model
    load, the work).
Then the app is SIGKILLed too (a crash, not a clean close) and the catalog is opened afresh. The bar:
  - every tag and label that the app or a CLI process (exit 0) reported saved is in the catalog;
  - PRAGMA integrity_check is ok;
  - the active model version loads, and its vectors cover every indexed photo (checked before anything repairs it);
  - no process printed a raw traceback.
Prints a summary, or with --json one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "caltech101"
CLASSES = ("kangaroo", "okapi", "sunflower", "ketch")
SPARE = "starfish"  # photos copied in one at a time before `tagger index` runs
TRACEBACK = "Traceback (most recent call last)"


@dataclass
class Run:
    command: list[str]
    rc: int | None = None
    killed: bool = False
    seconds: float = 0.0
    stderr: str = ""


@dataclass
class Ledger:
    """What was reported saved, by whom."""

    tags: list[tuple[str, str, str]] = field(default_factory=list)  # (who, photo path, tag)
    labels: list[tuple[str, str, str]] = field(default_factory=list)  # (who, folder, label)
    app_lines: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def build_library(data: Path, work: Path, per_class: int) -> tuple[Path, list[Path]]:
    lib = work / "library"
    for name in CLASSES:
        (lib / name).mkdir(parents=True)
        for src in sorted((data / name).glob("*.jpg"))[:per_class]:
            shutil.copy(src, lib / name / src.name)
    spares = sorted((data / SPARE).glob("*.jpg"))
    return lib, spares


def tagger(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tagger", *args, "--db", str(db)]


def read_app(proc: subprocess.Popen, ledger: Ledger) -> None:
    for line in proc.stdout:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        with ledger.lock:
            ledger.app_lines.append(record)
            if record.get("kind") == "tag":
                ledger.tags.append(("app", record["path"], record["tag"]))
            elif record.get("kind") == "label":
                ledger.labels.append(("app", record["folder"], record["label"]))


def run_cli(cmd: list[str], kill_after: float | None) -> Run:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    run = Run(cmd)
    try:
        _, run.stderr = proc.communicate(timeout=kill_after if kill_after is not None else 900)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        _, run.stderr = proc.communicate()
        run.killed = kill_after is not None
    run.rc = proc.returncode
    run.seconds = time.perf_counter() - start
    return run


def cli_command(i: int, rng: random.Random, db: Path, lib: Path, photos: list[Path], spares: list[Path],
                ledger: Ledger) -> tuple[list[str], tuple | None]:
    """The i-th CLI command and, for edits, what it saves if it exits 0."""
    kind = rng.choices(["search", "tags", "index", "tag", "label", "train", "doctor", "status"],
                       weights=[4, 2, 2, 5, 1, 1, 1, 2])[0]
    if kind == "search":
        return tagger(db, "search", rng.choice(["kangaroo", "boat", "yellow flower", "animal", "sail"])), None
    if kind == "tags":
        return tagger(db, "tags", str(rng.choice(photos))), None
    if kind == "index":
        if spares:
            spare = spares.pop(0)
            shutil.copy(spare, lib / CLASSES[0] / f"new-{spare.name}")  # a new photo, not a changed one
        return tagger(db, "index", str(lib)), None
    if kind == "tag":
        photo, tag = rng.choice(photos), f"cli {i}"
        return tagger(db, "tag", str(photo), "--add", tag), ("tag", str(photo), tag)
    if kind == "label":
        folder = lib / CLASSES[2 + i % 2]
        label = f"{CLASSES[2 + i % 2]} cli {i}"
        return tagger(db, "label", str(folder), label), ("label", str(folder), label)
    if kind == "train":
        return tagger(db, "train"), None
    if kind == "doctor":
        return tagger(db, "doctor"), None
    return tagger(db, "status"), None


def check(db: Path, ledger: Ledger) -> dict:
    from tagger.engine.core import Engine
    from tagger.library.catalog import Catalog
    from tagger.training.retrain import activate_catalog_version

    out: dict = {}
    with Catalog.open(db) as catalog:
        out["integrity_problems"] = catalog.integrity_problems()
        lost_tags = []
        for who, path, tag in ledger.tags:
            pid = catalog.find_photo(path)
            if pid is None or tag not in catalog.user_tags([pid]).get(pid, []):
                lost_tags.append({"by": who, "photo": path, "tag": tag})
        labels = {(str(row["folder"]), row["label"]) for row in catalog.labels()}
        # a later rename/relabel of the same folder legitimately replaces a label: only the last one per folder counts
        last: dict[str, tuple[str, str]] = {}
        for who, folder, label in ledger.labels:
            last[folder] = (who, label)
        lost_labels = [{"by": who, "folder": f, "label": lab} for f, (who, lab) in last.items()
                       if (f, lab) not in labels]
        out["lost_tags"], out["lost_labels"] = lost_tags, lost_labels
        active = catalog.active_version()
        out["active_version"] = active
        models = {v["version"]: v["model"] for v in catalog.versions()}
        missing = catalog.photos_missing_model(models[active]) if active else []
        out["photos_without_active_vectors"] = len(missing)
        out["indexed"] = catalog.counts()["indexed"]
        try:
            engine = Engine.load()
            version = activate_catalog_version(catalog, engine)
            out["active_version_loads"] = (version.number if version else 0) == active
        except Exception as exc:  # reported as a failure of the bar, with its text
            out["active_version_loads"] = False
            out["active_version_error"] = f"{type(exc).__name__}: {exc}"
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--app-edits", type=int, default=200)
    parser.add_argument("--cli-commands", type=int, default=100)
    parser.add_argument("--kill-share", type=float, default=0.2)
    parser.add_argument("--per-class", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="tagger-concurrency-"))
    started = time.perf_counter()
    try:
        lib, spares = build_library(args.data, work, args.per_class)
        db = work / "catalog.db"
        first = run_cli(tagger(db, "index", str(lib)), None)
        if first.rc != 0:
            print(first.stderr, file=sys.stderr)
            return 2
        photos = sorted(p for p in lib.rglob("*.jpg"))
        ledger = Ledger()
        app_err = open(work / "app.stderr", "w+")
        app = subprocess.Popen(
            [sys.executable, "-m", "bench._app_driver", "--db", str(db), "--edits", str(args.app_edits),
             "--seed", str(args.seed), "--labels", f"{lib / CLASSES[0]}=kangaroo", f"{lib / CLASSES[1]}=zorblax"],
            stdout=subprocess.PIPE, stderr=app_err, text=True, cwd=ROOT)
        reader = threading.Thread(target=read_app, args=(app, ledger), daemon=True)
        reader.start()
        runs: list[Run] = []
        for i in range(args.cli_commands):
            cmd, saves = cli_command(i, rng, db, lib, photos, spares, ledger)
            done = sorted(r.seconds for r in runs if not r.killed)
            typical = done[len(done) // 2] if done else 1.0  # the median run: kills land inside a run, not after it
            kill_after = rng.uniform(0.05, 0.9 * typical) if rng.random() < args.kill_share else None
            run = run_cli(cmd, kill_after)
            runs.append(run)
            if saves and run.rc == 0 and not run.killed:
                with ledger.lock:
                    (ledger.tags if saves[0] == "tag" else ledger.labels).append(("cli", saves[1], saves[2]))
        deadline = time.monotonic() + 900
        while time.monotonic() < deadline and app.poll() is None:
            with ledger.lock:
                if any(r.get("kind") in ("done", "error") for r in ledger.app_lines):
                    break
            time.sleep(0.5)
        app.send_signal(signal.SIGKILL)  # a crash, not a clean close: only what was committed counts
        app.wait()
        reader.join(timeout=10)
        app_err.seek(0)
        app_stderr = app_err.read()
        app_err.close()
        result = check(db, ledger)
        app_done = next((r for r in ledger.app_lines if r.get("kind") in ("done", "error")), None)
        tracebacks = [" ".join(r.command[3:4]) for r in runs if TRACEBACK in r.stderr]
        if TRACEBACK in app_stderr:
            tracebacks.append("app")
        summary = {
            "app_edits_saved": sum(1 for who, *_ in ledger.tags if who == "app"),
            "app_labels_saved": sum(1 for who, *_ in ledger.labels if who == "app"),
            "app_finished": app_done,
            "cli_commands": len(runs),
            "cli_killed": sum(r.killed for r in runs),
            "cli_failed": sum(1 for r in runs if not r.killed and r.rc not in (0, 1)),
            "cli_edits_saved": sum(1 for who, *_ in ledger.tags + ledger.labels if who == "cli"),
            "cli_failures": sorted({r.stderr.strip().splitlines()[-1] for r in runs
                                    if not r.killed and r.rc not in (0, 1) and r.stderr.strip()}),
            "lost_edits": len(result["lost_tags"]) + len(result["lost_labels"]),
            "raw_tracebacks": len(tracebacks),
            "traceback_in": tracebacks,
            "seconds": round(time.perf_counter() - started, 1),
            **result,
        }
        ok = (summary["lost_edits"] == 0 and not summary["integrity_problems"] and not tracebacks
              and summary["photos_without_active_vectors"] == 0 and summary["active_version_loads"])
        summary["bar_met"] = ok
        if args.json:
            print(json.dumps(summary, indent=2))
        else:
            for key, value in summary.items():
                print(f"{key:32} {value}")
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"work folder kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
