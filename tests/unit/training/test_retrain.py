"""Retraining: labels, the trainer, exported versions, one-click training over a catalog, cancel and rollback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tagger.cli import main
from tagger.engine.head import conse_mix
from tagger.engine.runtime import ModelRuntime
from tagger.engine.scoring import top_classes
from tagger.library.catalog import Catalog, CatalogError
from tagger.library.indexer import Indexer
from tagger.library.search import Library
from tagger.progress import Cancelled
from tagger.training.retrain import RetrainError, activate_catalog_version, train_version, use_version
from tagger.training.trainer import TrainConfig, TrainedHead, TrainingSet, train_head
from tagger.training.versions import swap_head
from tests.shared import caltech_files

FAST = TrainConfig(epochs=15, patience=5, batch_size=32)


# ------------------------------------------------------------------ the exported graph


def test_untrained_embedding_is_derived_exactly_from_the_top_classes(engine, rng):
    pixels = rng.uniform(-1, 1, (3, 3, 224, 224)).astype(np.float32)
    out = engine.infer(pixels)
    np.testing.assert_allclose(engine.untrained_embeddings(out.top_classes, out.top_probs), out.embeddings, atol=1e-5)


def test_a_version_graph_equals_its_head_applied_to_the_features(engine, rng, tmp_path):
    """Swapping the trained weights into the base graph gives what re-projecting stored features gives."""
    layers = [(rng.normal(0, 0.02, (512, 1280)).astype(np.float32), rng.normal(0, 0.1, 512).astype(np.float32)),
              (rng.normal(0, 0.05, (50, 512)).astype(np.float32), rng.normal(0, 0.1, 50).astype(np.float32))]
    swap_head(engine.folder / engine.manifest["onnx"]["file"], tmp_path / "v.onnx", layers)
    pixels = rng.uniform(-1, 1, (4, 3, 224, 224)).astype(np.float32)
    base = engine.runtime.run(pixels)
    trained = ModelRuntime.open(tmp_path / "v.onnx").run(pixels)
    np.testing.assert_allclose(trained["features"], base["features"], atol=1e-5)
    idx, p = top_classes(base["logits"], engine.top_t)
    expected = TrainedHead(layers, []).project(base["features"], conse_mix(idx, p, engine.class_vectors))
    np.testing.assert_allclose(trained["embedding"], expected, atol=1e-4)
    assert np.abs(trained["embedding"] - base["embedding"]).max() > 0.05  # the head really changed the output


def test_reprojecting_through_the_untrained_head_skips_its_layers(rng, monkeypatch):
    """Every version's residual head is zero now (the label model learns the labels): its output is exactly zero, so
    re-projecting 100k photos must not multiply them through the hidden layer (4 s of a 20 s bar) to add nothing."""
    from tagger.engine import head

    untrained = TrainedHead([(rng.normal(0, 1, (64, 32)).astype(np.float32), np.ones(64, np.float32)),
                             (np.zeros((8, 64), np.float32), np.zeros(8, np.float32))], [])
    features, conse = rng.gamma(1.0, 1.0, (10, 32)).astype(np.float32), rng.normal(0, 1, (10, 8)).astype(np.float32)
    expected = head.project(untrained.layers, features, conse)

    def no_residual(*_):
        raise AssertionError("the residual of a zero head was computed")

    monkeypatch.setattr(head, "residual", no_residual)
    np.testing.assert_array_equal(head.project(untrained.layers, features, conse), expected)
    np.testing.assert_allclose(expected, conse / np.linalg.norm(conse, axis=1, keepdims=True), atol=1e-6)


def test_swap_head_refuses_a_head_of_another_shape(engine, tmp_path):
    from tagger.engine.version import VersionError

    with pytest.raises(VersionError):
        swap_head(engine.folder / engine.manifest["onnx"]["file"], tmp_path / "v.onnx",
                  [(np.zeros((50, 1280), np.float32), np.zeros(50, np.float32))])


# ------------------------------------------------------------------ the trainer on synthetic data


def _toy(rng, n_per=40, labels=3, dim=8, fdim=16, anchors=0):
    centres = rng.normal(0, 3, (labels, fdim))
    y = np.repeat(np.arange(labels), n_per)
    feats = (centres[y] + rng.normal(0, 1, (len(y), fdim))).astype(np.float32)
    vectors = rng.normal(0, 1, (labels, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    conse = rng.normal(0, 1, (len(y), dim)).astype(np.float32)  # a zero-training guess that knows nothing
    negs = rng.normal(0, 1, (50, dim)).astype(np.float32)
    negs /= np.linalg.norm(negs, axis=1, keepdims=True)
    a_f = a_c = None
    if anchors:
        a_f = rng.normal(0, 3, (anchors, fdim)).astype(np.float32)
        a_c = rng.normal(0, 1, (anchors, dim)).astype(np.float32)
    return TrainingSet(feats, conse, y, [f"l{i}" for i in range(labels)], vectors, negs, a_f, a_c)


def test_trainer_learns_separable_labels_and_reports_before_and_after(rng):
    head = train_head(_toy(rng), TrainConfig(hidden=32, epochs=40, patience=10))
    assert head.val_acc_after >= 0.9 > head.val_acc_before
    assert head.history and {"epoch", "loss", "val_loss", "val_acc"} <= set(head.history[0])
    assert 1 <= head.best_epoch <= len(head.history)


def test_unlabelled_photos_that_look_like_a_label_are_not_used_as_its_negatives(rng):
    """Positive-unlabelled data: the library holds more okapis than the labelled folder; those must not be pushed
    away from "okapi", while clearly different photos are reliable negatives."""
    from tagger.training.trainer import reliable_negatives

    centres = rng.normal(0, 1, (2, 64)) * 3
    feats = np.concatenate([centres[0] + rng.normal(0, 1, (30, 64)), centres[1] + rng.normal(0, 1, (30, 64))])
    y = np.repeat([0, 1], 30)
    look_alike = centres[0] + rng.normal(0, 1, (10, 64))
    different = rng.normal(0, 1, (10, 64)) * 3
    ok = reliable_negatives(feats, y, np.concatenate([look_alike, different]), 2)
    # label-0 look-alikes are negatives for label 1, and only as often for label 0 as its own photos would be (10%)
    assert ok[:10, 0].sum() <= 2 and ok[:10, 1].all()
    assert ok[10:].all()


def test_training_can_be_cancelled(rng):
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] > 3

    with pytest.raises(Cancelled):
        train_head(_toy(rng), TrainConfig(hidden=32), should_stop=stop)


# ------------------------------------------------------------------ one-click training over a catalog


@pytest.fixture(scope="module")
def labelled(engine, tmp_path_factory):
    """A library where 24 okapi photos sit in a folder to label "zorblax" (a word nobody knows), and the other 15
    okapi photos are unlabelled among photos of seven other classes."""
    root = tmp_path_factory.mktemp("retrain") / "photos"
    okapi = caltech_files("okapi", 39)
    for sub, files in (("zorblax", okapi[:24]), ("unlabelled/okapi", okapi[24:])):
        (root / sub).mkdir(parents=True)
        for f in files:
            shutil.copy(f, root / sub / f.name)
    for folder in ("airplanes", "kangaroo", "Leopards", "Motorbikes", "pizza", "ketch", "sunflower", "llama"):
        (root / "unlabelled" / folder).mkdir(parents=True)
        for f in caltech_files(folder, 8):
            shutil.copy(f, root / "unlabelled" / folder / f.name)
    db = root.parent / "catalog.db"
    cat = Catalog.open(db)
    Indexer(cat, engine).index([root])
    cat.close()
    return root, db


@pytest.fixture
def own(engine, labelled, tmp_path):
    """(library root, a private copy of the indexed catalog); the shared engine is reset to untrained afterwards."""
    root, db = labelled
    shutil.copy(db, tmp_path / "catalog.db")
    cat = Catalog.open(tmp_path / "catalog.db")
    yield root, cat
    engine.use_version(None)
    cat.close()


def _precision(lib: Library, text: str, folder: Path, k: int = 10) -> float:
    hits = lib.search(text, k, folder)
    return sum(h.path.parent.name == "okapi" for h in hits) / k


def test_labels_are_listed_with_counts_and_the_deepest_folder_wins(labelled, tmp_path):
    root, db = labelled
    copy = tmp_path / "c.db"
    shutil.copy(db, copy)
    with Catalog.open(copy) as cat:
        cat.set_label(root / "unlabelled", "things")
        cat.set_label(root / "unlabelled" / "okapi", "okapi")
        rows = {r["label"]: r["photos"] for r in cat.labels()}
        assert rows == {"things": 64 + 15, "okapi": 15}
        labels = dict(cat.labelled_photos())
        assert sum(1 for v in labels.values() if v == "okapi") == 15
        assert cat.rename_label("okapi", "giraffe cousin") == 1
        assert cat.remove_label(root / "unlabelled")
        assert [r["label"] for r in cat.labels()] == ["giraffe cousin"]
        with pytest.raises(CatalogError, match="not inside a library folder"):
            cat.set_label(tmp_path, "outside")


def test_training_teaches_a_made_up_word_and_rollback_forgets_it(engine, own, tmp_path):
    root, cat = own
    lib = Library(cat, engine)
    activate_catalog_version(cat, engine)
    before = _precision(lib, "zorblax", root / "unlabelled")
    cat.set_label(root / "zorblax", "zorblax")
    instant = _precision(lib, "zorblax", root / "unlabelled")  # labelled, not trained: the prototypes count at once
    assert lib.label_scores().source == "prototypes (no training)"
    report = train_version(cat, engine, config=FAST)
    assert report.version == 1 and cat.active_version() == 1 and engine.version.number == 1
    assert engine.version.label_model is not None and report.calibration["source"].startswith("cross-validation")
    assert report.val_acc_after == 1.0  # one label: every held-out photo is it
    assert report.photos_reprojected == cat.counts()["indexed"]
    assert lib.label_scores().source == "version 1"
    after = _precision(lib, "zorblax", root / "unlabelled")
    assert after >= 0.8 > before and instant >= 0.8
    # the trained word joins the tag cloud of the unlabelled okapi photos, and other words still work
    cloud = [t.tag for t in lib.tag_cloud(cat.photos_under(root / "unlabelled" / "okapi"))]
    assert "zorblax" in cloud
    assert lib.search("airplane", 5, root / "unlabelled")[0].path.parent.name == "airplanes"
    # rollback to the untrained model (the label still counts, by its prototypes), then forward again
    use_version(cat, engine, 0)
    assert engine.version is None and cat.active_version() == 0
    assert lib.label_scores().source == "prototypes (no training)"
    assert _precision(lib, "zorblax", root / "unlabelled") == instant
    use_version(cat, engine, 1)
    assert _precision(lib, "zorblax", root / "unlabelled") == after
    # without the label, the word means nothing again
    cat.remove_label(root / "zorblax")
    use_version(cat, engine, 0)
    assert _precision(lib, "zorblax", root / "unlabelled") == before


def test_cancelled_or_failed_training_leaves_the_active_model_untouched(engine, own, tmp_path):
    root, cat = own
    with pytest.raises(RetrainError):
        train_version(cat, engine, config=FAST)  # nothing labelled yet
    cat.set_label(root / "zorblax", "zorblax")
    train_version(cat, engine, config=FAST)
    state = (cat.active_version(), len(cat.versions()), sorted(cat.stored_models()))
    asked = []

    def stop_on_second_question():  # the first fold of the cross-validation runs, the second is refused
        asked.append(1)
        return len(asked) >= 2

    cat.set_label(root / "unlabelled" / "kangaroo", "kangaroo")
    with pytest.raises(Cancelled):
        train_version(cat, engine, config=FAST, should_stop=stop_on_second_question)
    assert (cat.active_version(), len(cat.versions()), sorted(cat.stored_models())) == state
    assert engine.version is not None and engine.version.number == 1
    assert sorted(p.name for p in (tmp_path / "catalog.models").iterdir()) == ["v1"]


def test_photos_indexed_later_get_the_active_version_and_rollback_fills_gaps(engine, labelled, tmp_path):
    root, db = labelled
    copy = tmp_path / "catalog.db"
    shutil.copy(db, copy)
    extra = tmp_path / "later"
    extra.mkdir()
    for f in caltech_files("okapi", 39)[30:33] + caltech_files("pizza", 3):
        shutil.copy(f, extra / f.name)
    cat = Catalog.open(copy)
    try:
        cat.set_label(root / "zorblax", "zorblax")
        v1 = train_version(cat, engine, config=FAST).model
        Indexer(cat, engine).index([extra])  # with version 1 active: both vectors in the same batch
        assert cat.photos_missing_model(v1) == []
        use_version(cat, engine, 0)
        more = tmp_path / "later2"
        more.mkdir()
        for f in caltech_files("ketch", 3):
            shutil.copy(f, more / f.name)
        Indexer(cat, engine).index([more])  # untrained: no version-1 vectors for these
        assert len(cat.photos_missing_model(v1)) == 3
        use_version(cat, engine, 1)
        assert cat.photos_missing_model(v1) == []
    finally:
        engine.use_version(None)
        cat.close()


def test_a_damaged_version_is_refused_and_the_untrained_model_used(engine, own, tmp_path):
    root, cat = own
    cat.set_label(root / "zorblax", "zorblax")
    train_version(cat, engine, config=FAST)
    head = tmp_path / "catalog.models" / "v1" / "head.npz"
    head.write_bytes(head.read_bytes()[:-10])
    notices = []
    assert activate_catalog_version(cat, engine, notice=notices.append) is None
    assert engine.version is None and "damaged" in notices[0]
    assert cat.active_version() == 1  # nothing changed on disk: the user decides with `tagger models --use`


def test_cli_label_train_models(engine, labelled, tmp_path, capsys):
    root, db = labelled
    copy = tmp_path / "catalog.db"
    shutil.copy(db, copy)
    assert main(["label", str(root / "zorblax"), "zorblax", "--db", str(copy)]) == 0
    capsys.readouterr()
    assert main(["labels", "--db", str(copy), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"label": "zorblax", "folder": str(root / "zorblax"),
                                                   "photos": 24}]
    assert main(["train", "--db", str(copy), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["version"] == 1 and report["labels"] == {"zorblax": 24}
    assert main(["models", "--db", str(copy), "--json"]) == 0
    versions = json.loads(capsys.readouterr().out)
    assert [(v["version"], v["active"]) for v in versions] == [(0, False), (1, True)]
    assert main(["search", "zorblax", "--db", str(copy), "--json", "--limit", "5",
                 "--folder", str(root / "unlabelled")]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert sum(Path(h["path"]).parent.name == "okapi" for h in hits) >= 4
    assert main(["models", "--db", str(copy), "--use", "0"]) == 0
    capsys.readouterr()
    assert main(["status", "--db", str(copy), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model_version"] == 0
    assert main(["models", "--db", str(copy), "--use", "7"]) == 2
    assert main(["label", str(root / "zorblax"), "--remove", "--db", str(copy)]) == 0


# ------------------------------------------------------------------ two trainings, one catalog (issue 12)


def _once(stage: str, action):
    """A progress callback that runs ``action`` the first time ``stage`` is reported: "meanwhile, elsewhere"."""
    done = []

    def progress(name, *_):
        if name == stage and not done:
            done.append(True)
            action()
    return progress


def test_a_second_training_or_switch_is_refused_while_one_runs(engine, own):
    """Another process (or the app and the CLI) training the same catalog while this training re-projects: refused
    with who holds it, and this training finishes untouched."""
    import os

    from tagger.errors import TaggerError

    root, cat = own
    cat.set_label(root / "zorblax", "zorblax")
    answers = []

    def meanwhile():
        with Catalog.open(cat.path) as other:
            for attempt in (lambda: train_version(other, engine.twin(), config=FAST),
                            lambda: use_version(other, engine.twin(), 0)):
                try:
                    attempt()
                    answers.append("ran")
                except TaggerError as exc:
                    answers.append(str(exc))

    report = train_version(cat, engine, config=FAST, progress=_once("re-projecting photos", meanwhile))
    assert len(answers) == 2 and all(f"already running (pid {os.getpid()})" in a for a in answers), answers
    assert "a training is already running" in answers[0]
    assert report.version == 1 and cat.active_version() == 1 and [v["version"] for v in cat.versions()] == [0, 1]
    assert (cat.path.parent / "catalog.models" / "v1" / "manifest.json").is_file()
    assert cat.photos_missing_model(report.model) == []


def test_two_runs_that_miss_the_lock_never_clobber_each_other(engine, own, monkeypatch):
    """Defence in depth, for a lock that does not hold (a filesystem without locks): each run has its own version
    number and folders, and no cleanup deletes a version the catalog records. Before: both runs were "v1", the
    second one's IntegrityError cleanup deleted the first one's active version."""
    import contextlib

    from tagger.errors import TaggerError

    monkeypatch.setattr("tagger.training.retrain.training_lock", lambda *a, **k: contextlib.nullcontext(),
                        raising=False)
    root, cat = own
    cat.set_label(root / "zorblax", "zorblax")
    inner = {}

    def meanwhile():
        with Catalog.open(cat.path) as other:
            inner["report"] = train_version(other, engine.twin(), config=FAST)

    with pytest.raises(TaggerError, match="train again"):  # its folder was removed under it: it stops, cleanly
        train_version(cat, engine, config=FAST, progress=_once("re-projecting photos", meanwhile))
    second = inner["report"]
    assert second.version == 2 and cat.active_version() == 2 and [v["version"] for v in cat.versions()] == [0, 2]
    assert activate_catalog_version(cat, engine).number == 2
    assert cat.photos_missing_model(second.model) == []
    assert not any(m.endswith("+v1") for m in cat.stored_models())
    assert sorted(p.name for p in (cat.path.parent / "catalog.models").iterdir()) == ["v2"]


def test_a_version_recorded_with_a_relative_folder_is_found_and_kept(engine, own, tmp_path, monkeypatch):
    """An older Tagger recorded `--db catalog.db` versions relative to the working directory: from elsewhere the
    version was "damaged", and the next training deleted it (rollback gone)."""
    root, cat = own
    cat.set_label(root / "zorblax", "zorblax")
    train_version(cat, engine, config=FAST)
    with cat.transaction():
        cat.db.execute("UPDATE model_versions SET folder = 'catalog.models/v1'")  # trained in tmp_path
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    engine.use_version(None)
    notices = []
    version = activate_catalog_version(cat, engine, notice=notices.append)
    assert version is not None and version.number == 1 and notices == []
    cat.set_label(root / "unlabelled" / "kangaroo", "kangaroo")
    assert train_version(cat, engine, config=FAST).version == 2
    assert (tmp_path / "catalog.models" / "v1" / "manifest.json").is_file()
    assert use_version(cat, engine, 1).number == 1 and cat.active_version() == 1


def test_photos_indexed_elsewhere_while_a_training_finishes_get_its_vectors(engine, labelled, tmp_path):
    """Issue 12: an `index` running in another process next to a finishing `train` wrote the vectors of the version
    active when it started; 1,648 of 5,160 photos never got the new version's. Photos committed before the switch
    are caught by the switch itself, those committed after it by the end of the index run, and any left (a killed
    run) by the next start of any command or the app."""
    root, db = labelled
    copy = tmp_path / "catalog.db"
    shutil.copy(db, copy)
    early, late = tmp_path / "early", tmp_path / "late"
    for folder, files in ((early, caltech_files("pizza", 3)), (late, caltech_files("ketch", 3))):
        folder.mkdir()
        for f in files:
            shutil.copy(f, folder / f.name)
    indexing = engine.twin()  # the other process's engine: loaded before the training finished (untrained)

    def index(folder):
        with Catalog.open(copy) as other:
            Indexer(other, indexing).index([folder])

    cat = Catalog.open(copy)
    try:
        cat.set_label(root / "zorblax", "zorblax")
        reprojected = []

        def stop() -> bool:  # asked once more after re-projecting, right before the switch: index then
            if reprojected and reprojected.pop():
                index(early)
            return False

        model = train_version(cat, engine, config=FAST, should_stop=stop,
                              progress=_once("re-projecting photos", lambda: reprojected.append(True))).model
        assert cat.photos_missing_model(model) == []
        index(late)  # its engine still runs the untrained model: the run gives them version 1's vectors at its end
        assert cat.photos_missing_model(model) == []
        late_ids = cat.photos_under(late)
        with cat.transaction():  # a run killed before its end left them without
            cat.db.execute(f"DELETE FROM embeddings WHERE model = ? AND photo_id IN ({','.join('?' * 3)})",
                           [model, *late_ids])
        activate_catalog_version(cat, engine.twin())  # what every command and the app do when they start
        assert cat.photos_missing_model(model) == []
    finally:
        engine.use_version(None)
        cat.close()


def test_reprojecting_a_label_model_version_skips_the_tags_it_never_stores(engine, own, monkeypatch):
    """A version with a label model puts no label among the stored automatic tags (search scores its labels when
    asked): re-projecting 100k photos must not read each photo's weakest tag nor score the labels (issue 16: seconds
    of a 20 s bar) only to throw both away."""
    root, cat = own

    def no_floors(*_):
        raise AssertionError("tag floors were read for a version that stores no label tags")

    monkeypatch.setattr(Catalog, "lowest_auto_tag_weights", no_floors)
    cat.set_label(root / "zorblax", "zorblax")
    report = train_version(cat, engine, config=FAST)
    assert report.photos_reprojected == cat.counts()["indexed"]
    assert cat.photos_missing_model(report.model) == []
    assert cat.db.execute("SELECT COUNT(*) FROM auto_tags WHERE model = ?", [report.model]).fetchone()[0] == 0
