"""The library in `tagger eval --train`: the label model learns with every photo of the run at hand, unlabelled (the
app's situation), and the report shows nearest-class-mean with the library's statistics and with the label model's
library-refined prototypes, so a reader sees where the gain comes from. Fake engine, seconds."""

from __future__ import annotations

import json

import numpy as np

from tagger.cli import main
from tagger.engine.label_scorer import FeatureMap, Mix, prototype_model
from tagger.engine.vectors import unit
from tagger.research.baselines import library_nearest_class_mean, nearest_class_mean
from tests.unit.research.test_eval_shots import shots_setup  # noqa: F401 (a fixture, used by name)


def test_the_label_model_sees_every_photo_of_the_run_as_its_library(shots_setup, capsys):  # noqa: F811
    root, train, test, _ = shots_setup
    assert main(["eval", str(root), "--train", str(train), "--images", str(test), "--shots", "1", "--draws", "2",
                 "--no-baselines", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    n_photos = 30 + 18  # the training list and the evaluated photos, none of them labelled but the drawn ones
    assert [lm["library_photos"] for lm in result["label_model"]] == [n_photos, n_photos]
    methods = result["methods"]
    assert {"ncm", "ncm_library_map", "ncm_library_refined", "logistic_regression"} <= set(methods)
    assert "library" in methods["ncm_library_refined"]["description"]


def test_the_text_report_says_how_many_library_photos_the_model_used(shots_setup, capsys):  # noqa: F811
    root, train, test, _ = shots_setup
    assert main(["eval", str(root), "--train", str(train), "--images", str(test), "--no-baselines"]) == 0
    out = capsys.readouterr().out
    assert "ncm_library_refined" in out and "library " in out.split("label model:")[1].splitlines()[0]


def _photos(seed: int = 0, n_labels: int = 5, dim: int = 24):
    rng = np.random.default_rng(seed)
    patterns = rng.gamma(0.6, 1.0, (n_labels, dim))

    def draw(per_label: int):
        y = np.repeat(np.arange(n_labels), per_label)
        return (patterns[y] * np.exp(rng.normal(0, 1.0, (len(y), dim)))).astype(np.float32), y

    return draw


def test_library_centring_is_nearest_class_mean_on_the_librarys_feature_map():
    draw = _photos(0)
    train, y = draw(2)
    library, _ = draw(30)
    test, _ = draw(4)
    fmap = FeatureMap.of(library)
    expected = nearest_class_mean(fmap.apply(train), y, fmap.apply(test), 5)
    np.testing.assert_allclose(library_nearest_class_mean(train, y, test, 5, library), expected, atol=1e-5)


def test_refined_nearest_class_mean_is_the_label_models_prototype_part():
    draw = _photos(1)
    train, y = draw(2)
    library, _ = draw(30)
    test, _ = draw(4)
    prototypes_only = Mix(linear=0.0, prior=0.0, cache=0.0, beta=5.0, c=1.0, library=1.0)
    model = prototype_model(train, y, np.zeros((len(y), 5), np.float32), 5, mix=prototypes_only, library=library)
    expected = unit(model.fmap.apply(test)) @ model.prototypes.T
    np.testing.assert_allclose(library_nearest_class_mean(train, y, test, 5, library, refine=True), expected,
                               atol=1e-5)
