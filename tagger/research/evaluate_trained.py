"""``tagger eval --train``: the app's label scorer trained on a list of photos, against baselines on the same features.

Every row of a run is computed from one extraction of the photos (cached in the research cache, so the next run on
the same files decodes nothing). The label scorer is ``tagger.training.label_model`` (prototypes, a Tip-Adapter cache
and a linear classifier mixed with the zero-shot prior, hyper-parameters cross-validated on the training photos; with
a split, a gate calibrated by pseudo-GZSL keeps the untrained words findable). Beside it: the previous scorer (the
residual head mixed with the zero-training expert, ``tagger.training.trainer`` and ``calibration``), the simple
baselines (nearest-class-mean, logistic regression: ``tagger.research.baselines``), the seed recipes and the untrained
model. Nothing is tuned on the evaluated photos; nothing is written except the feature cache.

The label scorer is given every photo of the run (training list and evaluated photos, unlabelled) as its library, as
the app gives it the catalog; the baselines of the issue see the labelled photos only, and two nearest-class-mean rows
with the library (its statistics; the label model's refined prototypes) show where the library's gain comes from.

``--shots K --draws N`` repeats the protocol on N seeded draws of K training photos per label and reports the mean and
spread of each figure: how the scorers compare at every amount of data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from tagger.engine.scoring import LabelSet, harmonic_mean, hits_at
from tagger.engine.vectors import unit
from tagger.research.evaluate import KS, Dataset, DatasetError
from tagger.training.calibration import calibrate, combine
from tagger.training.label_model import fit_open_set
from tagger.training.trainer import TrainConfig, TrainingSet, labels_vocabulary_negatives, train_head

if TYPE_CHECKING:
    from tagger.engine.core import Embedded


@dataclass(frozen=True)
class Candidates:
    """The labels of a trained protocol: every label of the training and evaluated photos is a candidate; the seen
    ones are those a head is trained for."""

    labels: list[str]  # sorted; a photo's truth is an index into this list
    seen: list[str]

    @property
    def index(self) -> dict[str, int]:
        return {c: i for i, c in enumerate(self.labels)}

    @property
    def trained(self) -> np.ndarray:
        """(C,) bool: which candidates are seen labels."""
        seen = set(self.seen)
        return np.array([c in seen for c in self.labels])


def trained_labels(dataset: Dataset, train_files: Sequence[str], split: dict[str, str] | None = None) -> Candidates:
    """The candidates of a trained protocol, after checking the lists agree: candidates are every label of the
    training and evaluated photos; seen ones are those the split calls seen (else those with training photos)."""
    train_files = list(train_files)
    bad = sorted({f.split("/", 1)[0] for f in train_files if f.split("/", 1)[0] not in dataset.folder_labels})
    if bad:
        raise DatasetError(f"the training list names folders that are not in {dataset.root}: {', '.join(bad[:10])}")
    overlap = set(train_files) & set(dataset.files)
    if overlap:
        raise DatasetError(f"{len(overlap)} photos are both in the training list and in the evaluated images")
    candidates = sorted({dataset.label_of(f) for f in list(dataset.files) + train_files})
    if split is not None:
        missing = [c for c in candidates if c not in split]
        if missing:
            raise DatasetError(f"the split file does not say whether these labels are seen: {', '.join(missing[:10])}")
        seen_labels = [c for c in candidates if split[c] == "seen"]
    else:
        seen_labels = sorted({dataset.label_of(f) for f in train_files})
    return Candidates(candidates, seen_labels)


@dataclass(frozen=True)
class TrainedPhotos:
    """The model's outputs for the training photos followed by the evaluated ones, those that decoded."""

    embedded: Embedded  # of train_files + dataset.files
    conse: np.ndarray  # (N, D) ConSE mix (what the trained head adds its residual to)
    zero: np.ndarray  # (N, D) unit: the zero-training embedding
    truth: np.ndarray  # (N,) candidate index
    train_rows: np.ndarray  # training photos of trained labels
    test_rows: np.ndarray  # the evaluated photos
    failures: list[dict[str, str]]  # {"file", "reason"} of the photos that did not decode

    @classmethod
    def of(cls, engine, dataset: Dataset, train_files: list[str], candidates: Candidates,
           embedded: Embedded) -> TrainedPhotos:
        from tagger.engine.head import conse_mix

        all_files = train_files + list(dataset.files)
        ok = np.asarray(embedded.ok)
        is_train = ok < len(train_files)
        index = candidates.index
        truth = np.array([index[dataset.label_of(all_files[i])] for i in ok])
        conse = conse_mix(embedded.top_classes, embedded.top_probs, engine.class_vectors)
        train_rows = np.flatnonzero(is_train & candidates.trained[truth])
        if not len(train_rows):
            raise DatasetError("no training photo has a label to train on")
        return cls(embedded, conse, unit(conse), truth, train_rows, np.flatnonzero(~is_train),
                   [{"file": all_files[i], "reason": r} for i, r in sorted(embedded.failures)])


def _training_set(engine, photos: TrainedPhotos, candidates: Candidates, cand_vectors: np.ndarray) -> TrainingSet:
    """The trainer's view of the training photos: seen labels only, indexed among themselves, with the vocabulary
    words that are not near-synonyms of any candidate as negatives."""
    from tagger.engine.vocabulary import load_vocabulary

    seen_cands = np.flatnonzero(candidates.trained)
    label_pos = {c: i for i, c in enumerate(seen_cands)}
    rows = photos.train_rows
    vocab_vectors = engine.word_space.text_vectors(load_vocabulary())
    return TrainingSet(photos.embedded.features[rows], photos.conse[rows],
                       np.array([label_pos[t] for t in photos.truth[rows]]),
                       [candidates.labels[i] for i in seen_cands], cand_vectors[seen_cands],
                       labels_vocabulary_negatives(vocab_vectors, cand_vectors))


@dataclass(frozen=True)
class _TestSet:
    """What every method's test scores are summarised against."""

    truth: np.ndarray  # (n,) candidate index of each evaluated photo
    is_seen: np.ndarray  # (n,) its label is a trained one
    gzsl: bool  # a split was given: report H

    def summarise(self, scores: np.ndarray, description: str) -> dict[str, Any]:
        """hit@k overall and over seen / unseen labels' photos (all candidates in play), and H under a split."""
        truth, is_seen = self.truth, self.is_seen
        m = {"description": description, **{f"hit@{k}": v for k, v in hits_at(scores, truth, KS).items()}}
        for name, mask in (("seen", is_seen), ("unseen", ~is_seen)):
            if mask.any():
                for k, v in hits_at(scores[mask], truth[mask], KS).items():
                    m[f"{name}_hit@{k}"] = v
        if self.gzsl:
            m["H"] = harmonic_mean(scores.argmax(1), truth, is_seen)
        return m


@dataclass(frozen=True)
class _Run:
    """What a trained protocol computes once and every draw reuses: the photos' model outputs, the candidates, their
    word vectors and every photo's zero-shot scores for every candidate."""

    engine: Any
    dataset: Dataset
    candidates: Candidates
    photos: TrainedPhotos
    cand_vectors: np.ndarray  # (C, D)
    zero_scores: np.ndarray  # (N, C) the untrained model's scores (ConSE + WordNet + CSLS)
    gzsl: bool


def _prepare(engine, dataset: Dataset, train_files: list[str], split: dict[str, str] | None, batch_size: int,
             progress, embedded: Embedded | None, cache: bool) -> _Run:
    candidates = trained_labels(dataset, train_files, split)
    if embedded is None:
        paths = [dataset.root / f for f in train_files + list(dataset.files)]
        if cache:
            from tagger.research.vgse import cached_embedding, default_cache_dir

            embedded = cached_embedding(engine, paths, batch_size=batch_size, cache_dir=default_cache_dir(engine),
                                        progress=progress)
        else:
            embedded = engine.embed_files(paths, batch_size=batch_size, progress=progress)
    photos = TrainedPhotos.of(engine, dataset, train_files, candidates, embedded)
    cand_vectors = engine.word_space.text_vectors(candidates.labels)
    zero_scores = LabelSet.build(candidates.labels, cand_vectors, engine.class_vectors).scores(
        photos.zero, embedded.top_classes, embedded.top_probs)
    return _Run(engine, dataset, candidates, photos, cand_vectors, zero_scores, split is not None)


def _header(run: _Run) -> dict[str, Any]:
    trained = run.candidates.trained
    return {"dataset": str(run.dataset.root), "protocol": "gzsl" if run.gzsl else "supervised",
            "n_images": int(len(run.photos.test_rows)), "n_failed": len(run.photos.failures),
            "failures": run.photos.failures, "n_labels": len(run.candidates.labels),
            "n_seen_labels": int(trained.sum()), "n_unseen_labels": int((~trained).sum()),
            "model": run.engine.model_id, "provider": run.engine.runtime.provider}


def evaluate_trained(engine, dataset: Dataset, train_files: Sequence[str], split: dict[str, str] | None = None, *,
                     batch_size: int = 32, progress=None, seed: int = 0, baselines: bool = True,
                     embedded=None, keep_scores: bool = False, cache: bool = True) -> dict[str, Any]:
    """Fit the label scorer on ``train_files`` (only ``seen`` labels when a split is given), evaluate it on the data
    set's images with every label as a candidate, next to the baselines fitted on the same features. ``embedded``: the
    model's outputs for ``train_files + dataset.files`` when the caller already has them (``tagger.research.vgse``);
    ``cache``: otherwise read and keep them in the research cache; ``baselines``: also the residual head and the seed
    recipes (slow; nearest-class-mean and logistic regression always run); ``keep_scores``: also return the scorer's
    test scores (``test_scores``: scores, truth, trained), for analyses that combine them with other scorers
    (``tagger.research.evaluate_vgse``)."""
    run = _prepare(engine, dataset, list(train_files), split, batch_size, progress, embedded, cache)
    scored = _score(run, run.photos.train_rows, seed, baselines, progress, keep_scores)
    main = scored["methods"].pop("tagger")
    return {**_header(run), "n_train_images": scored["n_train_images"], "label_model": scored["label_model"],
            "calibration": scored["label_model"]["gate"], **main, "baselines": scored["methods"],
            **{k: scored[k] for k in ("residual_head", "test_scores") if k in scored}}


def evaluate_shots(engine, dataset: Dataset, train_files: Sequence[str], shots: int, draws: int = 5,
                   split: dict[str, str] | None = None, *, batch_size: int = 32, progress=None, seed: int = 0,
                   baselines: bool = True, cache: bool = True) -> dict[str, Any]:
    """The trained protocol on ``draws`` seeded draws of ``shots`` training photos per trained label (draw d uses seed
    ``seed + d``), every draw on the same extracted features: each method's figures as mean and spread over the draws,
    and every draw's own."""
    if shots < 1 or draws < 1:
        raise DatasetError("--shots and --draws must be at least 1")
    run = _prepare(engine, dataset, list(train_files), split, batch_size, progress, None, cache)
    pool = run.photos.train_rows
    per_draw = []
    for d in range(draws):
        if progress:
            progress(f"draw {d + 1} of {draws}", d, draws)
        rows = pool[draw_shots(run.photos.truth[pool], shots, seed + d)]
        per_draw.append(_score(run, rows, seed + d, baselines, progress))
    names = list(per_draw[0]["methods"])
    return {**_header(run), "shots": shots, "draws": draws, "seed": seed,
            "n_train_images": [p["n_train_images"] for p in per_draw],
            "methods": {name: _mean_and_spread([p["methods"][name] for p in per_draw]) for name in names},
            "label_model": [p["label_model"] for p in per_draw],
            "per_draw": [{name: {k: v for k, v in p["methods"][name].items() if k != "description"}
                          for name in names} for p in per_draw]}


def draw_shots(truth: np.ndarray, shots: int, seed: int) -> np.ndarray:
    """Positions of ``shots`` items of each distinct label in ``truth`` (all of a label's items when it has fewer),
    drawn with ``seed``, in their original order."""
    truth = np.asarray(truth)
    rng = np.random.default_rng(seed)
    out: list[int] = []
    for label in np.unique(truth):
        rows = np.flatnonzero(truth == label)
        out.extend(rng.choice(rows, min(shots, len(rows)), replace=False).tolist())
    return np.sort(np.asarray(out, np.int64))


def _mean_and_spread(summaries: list[dict[str, Any]]) -> dict[str, Any]:
    """Per figure: the mean over draws, and ``<figure>_sd`` its standard deviation (population, over the draws)."""
    out: dict[str, Any] = {"description": summaries[0]["description"]}
    for key, value in summaries[0].items():
        if isinstance(value, float):
            values = np.array([s[key] for s in summaries], np.float64)
            out[key] = float(values.mean())
            out[f"{key}_sd"] = float(values.std())
    return out


# ---------------------------------------------------------------------------- one fit, every method


def _score(run: _Run, train_rows: np.ndarray, seed: int, baselines: bool, progress,
           keep_scores: bool = False) -> dict[str, Any]:
    """Every method fitted on ``train_rows`` and scored on the evaluated photos."""
    from tagger.research.baselines import library_nearest_class_mean, logistic_regression, nearest_class_mean

    photos = replace(run.photos, train_rows=np.asarray(train_rows))
    trained = run.candidates.trained
    cols = np.flatnonzero(trained)
    label_pos = -np.ones(len(trained), np.int64)
    label_pos[cols] = np.arange(len(cols))
    features = photos.embedded.features
    test = photos.test_rows
    y = label_pos[photos.truth[train_rows]]
    truth = photos.truth[test]
    summary = _TestSet(truth, trained[truth], run.gzsl)
    s0 = run.zero_scores

    if progress:
        progress("fitting the label model", 0, 1)
    # the library: every photo of the run, the evaluated ones too, unlabelled (the app's situation: it learns from
    # the labelled folders with every photo of the catalog at hand, and scores those photos)
    library = features
    open_set = fit_open_set(features[train_rows], y, s0[train_rows], trained, seed=seed, progress=progress,
                            library=library)
    scores = open_set.scores(features[test], s0[test])
    model = open_set.model
    methods: dict[str, dict[str, Any]] = {
        "tagger": summary.summarise(scores, "label model: prototypes (refined on the unlabelled library) + "
                                            "Tip-Adapter cache + linear classifier + zero-shot prior, mix "
                                            "cross-validated on the training photos"
                                    + ("; untrained words by the zero-shot scorer behind a calibrated gate"
                                       if not trained.all() else "")),
        "zero_training": summary.summarise(s0[test], "the default model before training (ConSE + WordNet + CSLS)"),
        "conse": summary.summarise(photos.zero[test] @ run.cand_vectors.T, "plain ConSE, no training (recipe d)"),
    }

    def closed(label_scores: np.ndarray) -> np.ndarray:
        out = np.full((len(test), len(trained)), -np.inf, np.float32)
        out[:, cols] = label_scores
        return out

    n = len(cols)
    methods["ncm"] = summary.summarise(closed(nearest_class_mean(features[train_rows], y, features[test], n)),
                                       "nearest-class-mean: cosine to the mean L2-normalised feature of each label")
    methods["ncm_standardised"] = summary.summarise(
        closed(nearest_class_mean(features[train_rows], y, features[test], n, standardise=True)),
        "nearest-class-mean on standardised, then L2-normalised features")
    methods["ncm_library_map"] = summary.summarise(
        closed(library_nearest_class_mean(features[train_rows], y, features[test], n, library)),
        "nearest-class-mean on the label model's feature map with the library's statistics (library centring)")
    methods["ncm_library_refined"] = summary.summarise(
        closed(library_nearest_class_mean(features[train_rows], y, features[test], n, library, refine=True)),
        "nearest-class-mean with the label model's prototypes refined on the unlabelled library")
    methods["logistic_regression"] = summary.summarise(
        closed(logistic_regression(features[train_rows], y, features[test], n, seed=seed)),
        "multinomial logistic regression, L2 (C = 1), standardised features")
    out: dict[str, Any] = {"n_train_images": int(len(train_rows)),
                           "label_model": {**model.summary(), "gate": open_set.gate.to_json()}}
    if baselines:
        head_rows, head_info = _residual_head(run, photos, seed, summary, progress)
        methods.update(head_rows)
        out["residual_head"] = head_info
    out["methods"] = methods
    if keep_scores:
        out["test_scores"] = {"scores": scores, "truth": truth, "trained": trained}
    return out


def _residual_head(run: _Run, photos: TrainedPhotos, seed: int, summary: _TestSet,
                   progress) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """The previous scorer (residual head + zero-training expert, calibrated mix), the head alone and the seed
    recipes, all trained on the same photos: comparison rows."""
    trained = run.candidates.trained
    s0 = run.zero_scores
    data = _training_set(run.engine, photos, run.candidates, run.cand_vectors)
    config = TrainConfig(seed=seed)
    if progress:
        progress("calibrating the residual head", 0, 1)
    calibration = calibrate(data, s0[photos.train_rows], trained, config)
    head = train_head(data, config, progress=progress)
    test = photos.test_rows
    features = photos.embedded.features[test]
    seen_cands = np.flatnonzero(trained)
    s1 = np.zeros_like(s0[test])
    s1[:, seen_cands] = head.project(features, photos.conse[test]) @ run.cand_vectors[seen_cands].T
    rows = {
        "residual_head": summary.summarise(combine(s0[test], s1, trained, calibration.lam, calibration.gamma),
                                           "the previous scorer: zero-training scorer mixed with the trained "
                                           f"residual head (lam {calibration.lam}, gamma {calibration.gamma}, "
                                           f"{calibration.source})"),
        "trained_head_alone": summary.summarise(head.project(features, photos.conse[test]) @ run.cand_vectors.T,
                                                "the trained residual head scored by cosine alone, no zero-training "
                                                "expert (DeViSE-style replacement)"),
    }
    rows.update(_recipe_baselines(data, config, features, run.cand_vectors, summary, progress))
    info = {"calibration": calibration.to_json(),
            "training": {"epochs_run": len(head.history), "best_epoch": head.best_epoch,
                         "seconds": round(head.seconds, 2), "val_acc_before": head.val_acc_before,
                         "val_acc_after": head.val_acc_after, "n_val": head.n_val}}
    return rows, info


def _recipe_baselines(data: TrainingSet, config: TrainConfig, test_features: np.ndarray, cand_vectors: np.ndarray,
                      summary: _TestSet, progress) -> dict[str, dict[str, Any]]:
    """The seed documents' recipes (``tagger.research.recipes``) trained on the same photos, scored by cosine."""
    from tagger.research import recipes

    out = {}
    for name, fit in recipes.RECIPES.items():
        if progress:
            progress(f"baseline {name}", 0, 1)
        proj = fit(data, config)
        out[name] = summary.summarise(proj(test_features) @ cand_vectors.T, fit.__doc__ or name)
    return out
