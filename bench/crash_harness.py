"""Crash safety: SIGKILL `tagger index` (and `tagger train`) at seeded random moments, resume, check every time.

    python bench/crash_harness.py [--kills 20] [--seed 0] [--per-stage 60] [--train-kills 20] [--json]

Indexing. A library grows in stages (Caltech-101 class folders, ``--per-stage`` photos each, plus broken files, a
photo with embedded XMP/IPTC keywords and digiKam-style sidecars). Each run is `python -m tagger --db CAT index LIB`
in a fresh process (batches of 8, so a run commits often), killed with SIGKILL at a time drawn uniformly from
[start-up / 2, start-up + 1.1 x the time to index one stage] (seeded): kills land while the catalog is opened,
during scanning, decoding, inference and commits. After every kill the catalog
is opened and checked:
  - PRAGMA integrity_check is ok;
  - no duplicate photos (no path twice, no content twice among indexed photos);
  - every indexed photo has its backbone features, its embedding and its thumbnail (a batch is all or nothing);
  - every user tag and label the harness added earlier is still there (they are added between runs, through the
    catalog API, on photos indexed so far; moves are tracked).
A run that finishes before its kill time completes the stage; the next stage is then copied in, one photo is moved
(recognised by content), one re-encoded (changed), one sidecar edited. At the end the library is indexed to
completion and compared with a clean, never-killed run over the same files in a fresh catalog: the same counts and
the same (path, status, content hash) rows and keyword tags.

Training (after the indexing part, skipped with --train-kills 0). Four labelled Caltech folders; a full
`tagger train` is timed, then training is killed: every other kill at a uniform [0, 1.2 x that time] moment (the
time of the latest completed run: the machine's load changes), the
others at a uniform [0, 1] s after the new version's folder appears (writing the version, re-projecting the photos
and switching the active version all happen there, in the last second of a run). After each kill: integrity ok,
the active version loads and verifies (no fallback), its vectors cover every indexed photo, and a search answers.
Finally one more training completes. ``--fast-train`` runs the same ``train_version`` with 2 epochs (the test suite
uses it: seconds per run instead of minutes).

Prints a summary, or with --json one JSON object (per-kill details included).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.shared import CALTECH, PHOTO_FOLDER

SIDECAR = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/">
   <dc:subject><rdf:Bag>{items}</rdf:Bag></dc:subject>
   <lr:hierarchicalSubject><rdf:Bag><rdf:li>Harness|{leaf}</rdf:li></rdf:Bag></lr:hierarchicalSubject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>
"""


def tagger_cmd(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "tagger", "--db", str(db), *args]


def write_sidecar(photo: Path, words: list[str], leaf: str) -> None:
    items = "".join(f"<rdf:li>{w}</rdf:li>" for w in words)
    Path(str(photo) + ".xmp").write_text(SIDECAR.format(items=items, leaf=leaf), encoding="utf-8")


def caltech_classes() -> list[Path]:
    return sorted(p for p in CALTECH.iterdir() if p.is_dir() and not p.name.startswith(("BACKGROUND", "Faces")))


# ---------------------------------------------------------------------------- checks


def check_catalog(db: Path, expected_tags: dict[str, set[str]], expected_labels: set[tuple[str, str]],
                  final: bool = False) -> list[str]:
    """Everything that must hold after any kill; [] when it all does. Each harness tag is unique, so "not lost"
    means still stored; a kill between marking a moved photo's old path gone and re-pointing its row leaves the tag
    on the gone row until the next run, so only the ``final`` check asks for every tag on its photo's path."""
    from tagger.library.catalog import Catalog

    problems: list[str] = []
    with Catalog.open(db) as cat:
        problems += [f"integrity: {p}" for p in cat.integrity_problems()]
        q = cat.db.execute
        dup_paths = q("SELECT COUNT(*) FROM (SELECT 1 FROM photos GROUP BY root_id, path_key HAVING COUNT(*) > 1)"
                      ).fetchone()[0]
        dup_hash = q("SELECT COUNT(*) FROM (SELECT 1 FROM photos WHERE status = 'indexed' GROUP BY hash "
                     "HAVING COUNT(*) > 1)").fetchone()[0]
        if dup_paths or dup_hash:
            problems.append(f"duplicates: {dup_paths} paths, {dup_hash} contents")
        no_vec = q("SELECT COUNT(*) FROM photos p WHERE status = 'indexed' AND (NOT EXISTS (SELECT 1 FROM features f "
                   "WHERE f.photo_id = p.id) OR NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.photo_id = p.id))"
                   ).fetchone()[0]
        if no_vec:
            problems.append(f"{no_vec} indexed photos without features or embedding")
        no_thumb = [h for (h,) in q("SELECT hash FROM photos WHERE status = 'indexed'")
                    if not cat.thumbnail_path(h).is_file()]
        if no_thumb:
            problems.append(f"{len(no_thumb)} indexed photos without thumbnail")
        stored = {t for (t,) in q("SELECT u.tag FROM user_tags u JOIN photos p ON p.id = u.photo_id")}
        for path, tags in expected_tags.items():
            if final:
                pid = cat.find_photo(path)
                have = set(cat.user_tags([pid]).get(pid, [])) if pid else set()
            else:
                have = stored
            if not tags <= have:
                problems.append(f"lost user tags of {path}: {sorted(tags - have)}")
        labels = {(r["label"], str(r["folder"])) for r in cat.labels()}
        if not expected_labels <= labels:
            problems.append(f"lost labels: {sorted(expected_labels - labels)}")
    return problems


def catalog_snapshot(db: Path) -> dict:
    """What a clean run and a killed-and-resumed run must agree on."""
    from tagger.library.catalog import Catalog

    with Catalog.open(db) as cat:
        roots = {r.id: r for r in cat.roots()}
        rows = sorted((os.fsdecode(bytes(k)), st, h) for k, st, h in
                      cat.db.execute("SELECT path_key, status, hash FROM photos"))
        xmp = sorted((os.fsdecode(bytes(k)), t) for k, t in cat.db.execute(
            "SELECT p.path_key, u.tag FROM user_tags u JOIN photos p ON p.id = u.photo_id WHERE u.source = 'xmp'"))
        return {"counts": cat.counts(), "rows": rows, "xmp_tags": xmp, "roots": len(roots)}


# ---------------------------------------------------------------------------- indexing


@dataclass
class IndexHarness:
    work: Path
    per_stage: int = 60
    seed: int = 0
    log: callable = print
    lib: Path = field(init=False)
    db: Path = field(init=False)

    def __post_init__(self) -> None:
        self.lib = self.work / "library"
        self.db = self.work / "catalog.db"
        self.rng = random.Random(self.seed)
        self.classes = caltech_classes()
        self.stage = 0
        self.expected_tags: dict[str, set[str]] = {}
        self.moves: dict[str, str] = {}  # old path -> new path of the photos the harness moved
        self.expected_labels: set[tuple[str, str]] = set()
        self.tag_serial = 0

    def add_stage(self) -> None:
        """Copy the next class folder in; from the second stage on also move, change and re-tag earlier photos."""
        src = self.classes[self.stage % len(self.classes)]
        dest = self.lib / f"s{self.stage:02d}_{src.name}"
        dest.mkdir(parents=True)
        files = sorted(src.glob("*.jpg"))[:self.per_stage]
        for f in files:
            shutil.copy(f, dest / f.name)
        for f in files[:3]:
            write_sidecar(dest / f.name, [f"{src.name} keyword", f"stage {self.stage}"], src.name)
        if self.stage == 0:
            extra = self.lib / "extra"
            extra.mkdir()
            for name in ("zero_bytes.jpg", "text_not_image.jpg", "truncated_half_DSCN0010.jpg"):
                shutil.copy(PHOTO_FOLDER / "broken-synthetic" / name, extra / name)
            shutil.copy(PHOTO_FOLDER / "exif-samples/jpg/xmp/BlueSquare.jpg", extra / "BlueSquare.jpg")
        else:
            self._mutate()
        self.stage += 1

    def _mutate(self) -> None:
        from PIL import Image

        photos = sorted(p for p in self.lib.rglob("*.jpg") if p.parent.name != "extra" and p.stat().st_size)
        moved, changed, retag = self.rng.sample(photos, 3)
        target = moved.parent / f"moved_{moved.name}"
        for ext in (".xmp",):
            side = Path(str(moved) + ext)
            if side.exists():
                side.rename(Path(str(target) + ext))
        moved.rename(target)
        self.moves[str(moved)] = str(target)
        if str(moved) in self.expected_tags:
            self.expected_tags[str(target)] = self.expected_tags.pop(str(moved))
        with Image.open(changed) as img:  # new, unique content at the same path
            out = io.BytesIO()
            img.convert("RGB").transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(out, "JPEG", quality=90)
        changed.write_bytes(out.getvalue())
        write_sidecar(retag, [f"edited {self.stage}"], f"edit{self.stage}")

    def add_user_data(self) -> None:
        """Between runs (nothing running): a user tag on a few indexed photos, a label on an indexed folder."""
        from tagger.library.catalog import Catalog

        with Catalog.open(self.db) as cat:
            indexed = cat.photo_files("indexed")
            roots = {r.id: r for r in cat.roots()}
            for pid, rid, key, _ in self.rng.sample(indexed, min(3, len(indexed))):
                self.tag_serial += 1
                tag = f"user tag {self.tag_serial}"
                cat.add_user_tag(pid, tag)
                # a row whose file the harness moved since the last completed run: the tag belongs to the photo,
                # which the next run finds at its new path by content (and carries the tag there)
                path = str(roots[rid].absolute(key))
                while path in self.moves and not Path(path).exists():
                    path = self.moves[path]
                self.expected_tags.setdefault(path, set()).add(tag)
            folders = sorted({roots[rid].absolute(key).parent for _, rid, key, _ in indexed})
            if folders:
                folder = self.rng.choice(folders)
                cat.set_label(folder, f"label {folder.name}")
                self.expected_labels = {(lab, f) for lab, f in self.expected_labels if f != str(folder)}
                self.expected_labels.add((f"label {folder.name}", str(folder)))

    def run(self, kill_after: float | None) -> tuple[bool, float, int]:
        """One `tagger index` run; SIGKILLed after ``kill_after`` s unless it ends first. (killed, seconds, rc)."""
        t0 = time.monotonic()
        # small batches: more commits per run, so more kills land between and inside them
        proc = subprocess.Popen(tagger_cmd(self.db, "index", str(self.lib), "--json", "--batch-size", "8"), cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            rc = proc.wait(timeout=kill_after)
            return False, time.monotonic() - t0, rc
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True, time.monotonic() - t0, -9

    def indexed_count(self) -> int:
        from tagger.library.catalog import Catalog

        if not self.db.exists():
            return 0
        with Catalog.open(self.db) as cat:
            return cat.counts()["indexed"]


def index_kill_harness(work: Path, kills: int = 20, seed: int = 0, per_stage: int = 60, log=print,
                       max_runs: int | None = None) -> dict:
    h = IndexHarness(work, per_stage, seed, log)
    h.add_stage()
    _, _, rc = h.run(None)  # stage 0 in full (a first run also fills caches: not timed)
    if rc != 0:
        raise RuntimeError(f"the first, unkilled index run failed (exit {rc})")
    _, t_idle, _ = h.run(None)  # nothing to do: start-up and scan only
    h.add_stage()
    _, t_first, _ = h.run(None)  # start-up + one stage
    window = t_idle + max(t_first - t_idle, 0.5) * 1.1
    low = 0.5 * t_idle  # the first half of start-up is imports: nothing there touches the catalog
    log(f"index: start-up {t_idle:.1f} s, one stage {t_first - t_idle:.1f} s; kill window [{low:.1f}, {window:.1f}] s")
    h.add_user_data()
    h.add_stage()
    details = []
    done_kills = runs = 0
    max_runs = max_runs or kills * 4
    while done_kills < kills and runs < max_runs:
        runs += 1
        before = h.indexed_count()
        t_kill = h.rng.uniform(low, window)
        killed, secs, rc = h.run(t_kill)
        after = h.indexed_count()
        problems = check_catalog(h.db, h.expected_tags, h.expected_labels)
        entry = {"run": runs, "kill_at_s": round(t_kill, 3), "killed": killed, "indexed_before": before,
                 "indexed_after": after, "problems": problems}
        if killed:
            done_kills += 1
            entry["phase"] = "committing" if after > before else "start-up/scan/first batch"
        elif rc != 0:
            entry["problems"] = problems + [f"run ended with exit code {rc}"]
        details.append(entry)
        log(f"  run {runs}: {'KILLED' if killed else 'completed'} at {secs:.2f} s, indexed {before} -> {after}"
            + (f"  PROBLEMS {problems}" if entry["problems"] else ""))
        if not killed and rc == 0:
            h.add_stage()  # this stage is done: more work for the next kills
        h.add_user_data()
    killed_entries = [d for d in details if d["killed"]]
    _, _, rc = h.run(None)  # resume to the end
    final_problems = check_catalog(h.db, h.expected_tags, h.expected_labels, final=True)
    if rc != 0:
        final_problems.append(f"final run exit code {rc}")
    clean_db = work / "clean.db"
    subprocess.run(tagger_cmd(clean_db, "index", str(h.lib), "--json"), cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    resumed, clean = catalog_snapshot(h.db), catalog_snapshot(clean_db)
    equal = {k: resumed[k] == clean[k] for k in ("counts", "rows", "xmp_tags")}
    survived = sum(1 for d in killed_entries if not d["problems"])
    return {
        "kills": len(killed_entries), "survived": survived, "runs": runs,
        "completed_runs": sum(1 for d in details if not d["killed"]),
        "kills_while_committing": sum(1 for d in killed_entries if d["phase"] == "committing"),
        "stages": h.stage, "seed": seed, "kill_window_s": [round(low, 3), round(window, 3)],
        "final_problems": final_problems, "final_counts": resumed["counts"], "clean_counts": clean["counts"],
        "equal_to_clean_run": equal, "user_tags_checked": sum(len(v) for v in h.expected_tags.values()),
        "labels_checked": len(h.expected_labels),
        "ok": survived == len(killed_entries) and not final_problems and all(equal.values()),
        "details": details,
    }


# ---------------------------------------------------------------------------- training


TRAIN_CLASSES = ("kangaroo", "pizza", "sunflower", "ketch")


def check_training(db: Path, engine, word: str = "pizza") -> tuple[list[str], int]:
    """After a kill: integrity, the active version loads (no fallback), covers every photo, and search answers."""
    from tagger.library.catalog import Catalog
    from tagger.library.search import Library
    from tagger.training.retrain import activate_catalog_version

    problems: list[str] = []
    notices: list[str] = []
    with Catalog.open(db) as cat:
        problems += [f"integrity: {p}" for p in cat.integrity_problems()]
        active = cat.active_version()
        version = activate_catalog_version(cat, engine, notice=notices.append, fill=False)  # the gap, not its fill
        if active and version is None:
            problems.append(f"active version {active} is not usable: {notices}")
        if version is not None:
            missing = cat.photos_missing_model(version.model_id)
            if missing:
                problems.append(f"active version {active} lacks vectors for {len(missing)} photos")
        hits = Library(cat, engine).search(word, limit=5)
        if not hits:
            problems.append("search returned nothing")
        engine.use_version(None)
    return problems, active


FAST_TRAIN = """
import sys
from tagger.library.catalog import Catalog
from tagger.engine.core import Engine
from tagger.training.retrain import activate_catalog_version, train_version
from tagger.training.trainer import TrainConfig

catalog = Catalog.open(sys.argv[1])
engine = Engine.load("lite0")
activate_catalog_version(catalog, engine)
train_version(catalog, engine, config=TrainConfig(epochs=2, patience=2))
"""


def _train_cmd(db: Path, fast: bool) -> list[str]:
    """`tagger train`, or (``fast``, for the test suite) the same ``train_version`` with 2 epochs: every step of
    the commit protocol runs, in seconds instead of minutes."""
    return [sys.executable, "-c", FAST_TRAIN, str(db)] if fast else tagger_cmd(db, "train")


def _run_train(db: Path, fast: bool, kill_after: float | None, at_export: float | None) -> tuple[bool, float, int]:
    """One training run. ``kill_after``: SIGKILL after that many seconds; ``at_export``: SIGKILL that many seconds
    after the new version's folder appears (the export, re-projection and switch all follow within ~1 s)."""
    from tagger.engine.version import versions_dir

    vdir = versions_dir(db)
    before = set(os.listdir(vdir)) if vdir.is_dir() else set()
    start = time.monotonic()
    proc = subprocess.Popen(_train_cmd(db, fast), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = None if kill_after is None else start + kill_after
    while proc.poll() is None:
        now = time.monotonic()
        if at_export is not None and deadline is None and vdir.is_dir() and set(os.listdir(vdir)) - before:
            deadline = now + at_export
        if deadline is not None and now >= deadline:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True, now - start, -9
        time.sleep(0.005)
    return False, time.monotonic() - start, proc.returncode


def train_kill_harness(work: Path, kills: int = 20, seed: int = 0, photos: int = 12, log=print,
                       fast: bool = False, engine=None) -> dict:
    """Kill training at seeded random moments; the active model must stay usable after each kill. Half the kills
    are uniform over a whole run, half land at a uniform [0, 1] s after the new version's folder appears, where
    the version is written, the photos re-projected and the active version switched."""
    from tagger.engine.core import Engine
    from tagger.library.catalog import Catalog

    rng = random.Random(seed)
    lib, db = work / "train_library", work / "train.db"
    for name in TRAIN_CLASSES:
        (lib / name).mkdir(parents=True)
        for f in sorted((CALTECH / name).glob("*.jpg"))[:photos]:
            shutil.copy(f, lib / name / f.name)
    subprocess.run(tagger_cmd(db, "index", str(lib)), cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    with Catalog.open(db) as cat:
        for name in TRAIN_CLASSES:
            cat.set_label(lib / name, name)
    engine = engine or Engine.load("lite0")
    killed, t_train, rc = _run_train(db, fast, None, None)
    if rc != 0:
        raise RuntimeError(f"the first, unkilled training failed (exit {rc})")
    log(f"train: one full training {t_train:.1f} s ({'fast' if fast else 'tagger train'})")
    details = []
    done = runs = 0
    while done < kills and runs < kills * 4:
        runs += 1
        mode = "uniform" if runs % 2 else "at-export"
        delay = rng.uniform(0.0, 1.2 * t_train) if mode == "uniform" else rng.uniform(0.0, 1.0)
        killed, secs, rc = _run_train(db, fast, delay if mode == "uniform" else None,
                                      delay if mode == "at-export" else None)
        problems, active = check_training(db, engine)
        if not killed and rc != 0:
            problems.append(f"training ended with exit code {rc}")
        done += killed
        if not killed and rc == 0:
            t_train = secs  # the machine's load changes: the uniform window follows the latest full run
        details.append({"run": runs, "mode": mode, "delay_s": round(delay, 3), "killed": killed,
                        "seconds": round(secs, 2), "active_version": active, "problems": problems})
        log(f"  train run {runs} ({mode} {delay:.2f} s): {'KILLED' if killed else 'completed'} at {secs:.2f} s, "
            f"active version {active}" + (f"  PROBLEMS {problems}" if problems else ""))
    _, _, rc = _run_train(db, fast, None, None)
    final, active = check_training(db, engine)
    if rc != 0:
        final.append(f"final training exit code {rc}")
    killed_entries = [d for d in details if d["killed"]]
    survived = sum(1 for d in killed_entries if not d["problems"])
    return {"kills": len(killed_entries), "survived": survived, "runs": runs, "train_seconds": round(t_train, 2),
            "kills_at_export": sum(1 for d in killed_entries if d["mode"] == "at-export"),
            "final_active_version": active, "final_problems": final,
            "fast": fast, "ok": survived == len(killed_entries) and not final, "details": details}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kills", type=int, default=20, help="SIGKILLs of `tagger index` (0: skip)")
    ap.add_argument("--train-kills", type=int, default=20, help="SIGKILLs of `tagger train` (0: skip)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--per-stage", type=int, default=60, help="photos added per library stage")
    ap.add_argument("--fast-train", action="store_true",
                    help="train with 2 epochs (train_version in a subprocess) instead of the full `tagger train`")
    ap.add_argument("--workdir", type=Path, help="keep the library and catalogs here (default: a temp dir)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if not CALTECH.is_dir():
        print(f"shared Caltech-101 data not found at {CALTECH}", file=sys.stderr)
        return 2
    work = args.workdir or Path(tempfile.mkdtemp(prefix="tagger-crash-"))
    work.mkdir(parents=True, exist_ok=True)
    log = (lambda m: print(m, file=sys.stderr)) if args.json else print
    out: dict = {"seed": args.seed}
    t0 = time.monotonic()
    if args.kills:
        out["index"] = index_kill_harness(work / "index", args.kills, args.seed, args.per_stage, log)
    if args.train_kills:
        out["train"] = train_kill_harness(work / "train", args.train_kills, args.seed, log=log, fast=args.fast_train)
    out["seconds"] = round(time.monotonic() - t0, 1)
    ok = all(part["ok"] for key, part in out.items() if isinstance(part, dict))
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        if "index" in out:
            i = out["index"]
            print(f"index: {i['survived']}/{i['kills']} kills survived ({i['kills_while_committing']} while "
                  f"committing), {i['runs']} runs, {i['stages']} stages; final counts {i['final_counts']} vs clean "
                  f"{i['clean_counts']}; equal to a clean run: {i['equal_to_clean_run']}; "
                  f"{i['user_tags_checked']} user tags and {i['labels_checked']} labels checked after every kill")
        if "train" in out:
            t = out["train"]
            print(f"train: {t['survived']}/{t['kills']} kills survived ({t['kills_at_export']} while the new version "
                  f"was written and switched); final active version {t['final_active_version']}")
        print(f"{'OK' if ok else 'FAILED'} in {out['seconds']} s (seed {args.seed}, work dir {work})")
    if not args.workdir and ok:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
