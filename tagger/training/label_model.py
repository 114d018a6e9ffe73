"""Learning a user's labels from the stored backbone features: the few-shot scorer that replaces the residual head.

What is known to work on frozen features, in one model (``LabelModel``), computed from what the catalog already holds
(backbone features and the zero-shot scores; nothing is decoded again):

- **prototypes**: each label's mean feature, scored by cosine (nearest-class-mean);
- **a cache** over the training photos (Tip-Adapter): affinity exp(-beta (1 - cos)) to each stored photo of the label;
- **a linear softmax classifier** (multinomial logistic regression, L2) started from the prototypes;
- **the zero-shot prior**: the untrained scorer's scores for the same labels, which is what makes one photo a label
  already worth something.

Features are mapped once (``FeatureMap``: square root, unit length, standardised by the training photos, the power
transform that helps every few-shot classifier on pooled activations). The weights of the four parts and the
classifier's L2 strength are chosen by stratified cross-validation on the training photos alone; with a single photo
of a label there is nothing to hold out, and measured defaults are used (``DEFAULT_MIX``).

Given the library (``library=``: every photo's features, labelled or not, which the catalog always has), the
prototypes may also be refined on the unlabelled photos (``library_prototypes``: transductive soft k-means with a
floor that keeps photos of no trained label out); whether they are is one more choice of the cross-validation, and,
with untrained words among the candidates, of the pseudo-GZSL too. With three photos a label this is most of what the
label model gains over nearest-class-mean (docs/research.md).

Untrained words must stay findable (``OpenSet``): a photo's scores are log-probabilities of one model, a gate says how
likely the photo is one of the trained labels (from the energy of the trained classifier, which is high on what
resembles the training photos), the trained labels share that mass by the classifier and every other word shares the
rest by the zero-shot scores. The gate is calibrated by pseudo generalized zero-shot learning on the training photos:
some trained labels play unseen, and the gate that gives the best harmonic mean of seen and unseen accuracy wins.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from tagger.engine.label_scorer import (
    DEFAULT_MIX,
    DEFAULT_TEMPERATURE,
    Gate,
    LabelModel,
    Mix,
    OpenSet,
    cache_scores,
    feature_map,
    library_prototypes,
    library_sample,
    log_softmax,
    logsumexp,
    prototype_model,
    prototypes,
    synthesised_prototypes,
)
from tagger.engine.scoring import harmonic_mean
from tagger.engine.vectors import unit
from tagger.progress import Cancelled

# a linear weight of 0 means prototypes (+ cache + prior) alone; the classifier's logits are in nats, the prototype
# cosines differ by ~0.1 between labels, so 0.01 .. 1 spans "prototypes lead" to "classifier leads"
LINEAR_GRID = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
# the zero-shot weight, in prototype-cosine units; up to 5, where the prior outweighs photos that say little
PRIOR_GRID = (0.0, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0, 2.0, 5.0)
CACHE_GRID = (0.0, 0.1, 0.3)  # weight of the cache's mean affinity
BETA_GRID = (5.0, 10.0)  # cache sharpness
C_GRID = (0.3, 1.0, 3.0)  # inverse L2 strength of the classifier (scikit-learn's convention: sum of losses + |W|^2/2C)
# weight of the library's confidently assigned photos in the prototypes (``library_prototypes``): 0 = the labelled
# photos alone; tried only when a library is given
LIBRARY_GRID = (0.0, 1.0)
TEMPERATURES = tuple(float(t) for t in np.geomspace(0.003, 3.0, 46))
FOLDS = 3
# every label with this many photos or more: two folds (each label keeps 10+ photos in training, and 2,800 held-out
# photos of 5,784 resolve accuracy to ~0.004); a third of the classifier fits saved, test accuracy unchanged
# (Caltech-101 train, 3 seeded splits of 3,758 photos to learn and 1,880 to test: mean 0.9548 with 3 folds, 0.9562
# with 2)
SCALE_PHOTOS_PER_LABEL = 20
SCALE_FOLDS = 2
LBFGS_ITERATIONS = 200
# with thousands of photos the held-out accuracy is settled long before L-BFGS meets its tolerance (Caltech-101 train,
# 3,729 photos, C 0.3: 0.9476 after 10 iterations, 0.9481 after 30, 0.9487 at convergence, 112 evaluations): the
# iterations past 30 cost a third of a 5,784-photo retraining (issue 16) and buy nothing
LBFGS_ITERATIONS_LARGE = 30
LARGE_FIT_PHOTOS = 2000  # a fit on this many photos or more stops at LBFGS_ITERATIONS_LARGE
LIKELIHOOD_SAMPLE = 1500  # held-out photos the log-likelihood is measured on (speed; accuracy uses all)


def fit_label_model(features: np.ndarray, y: np.ndarray, prior: np.ndarray, n_labels: int | None = None, *,
                    seed: int = 0, mix: Mix | None = None, folds: int | None = None,
                    should_stop: Callable[[], bool] | None = None, library: np.ndarray | None = None) -> LabelModel:
    """Fit on ``features`` (N, F) raw backbone features, ``y`` (N,) label indices, ``prior`` (N, L) zero-shot scores.

    ``library`` (M, F): the raw features of every photo of the library, labelled or not (the catalog has them all),
    the photos to be scored among them: the prototypes may be refined on it (``library_prototypes``; whether they
    are is chosen by the cross-validation, on held-out photos that are in the library, unlabelled, as those to be
    scored are; with one photo a label, they are). None: the labelled photos alone, as before.

    ``mix`` fixes the hyper-parameters (no cross-validation; the calibration's pseudo-splits reuse the main model's);
    otherwise they are chosen by ``folds``-fold stratified cross-validation when some label has two photos or more,
    else ``DEFAULT_MIX``; ``folds`` None: ``FOLDS``, or ``SCALE_FOLDS`` when every label has
    ``SCALE_PHOTOS_PER_LABEL`` photos or more. Deterministic for a given ``seed``."""
    return _fit(features, y, prior, n_labels, seed=seed, mix=mix, folds=folds, should_stop=should_stop,
                library=library)[0]


def _fit(features, y, prior, n_labels, *, seed, mix, folds, should_stop,
         library) -> tuple[LabelModel, Callable[[], LabelModel] | None]:
    """``fit_label_model``, and when the model it chose refines on the library, how to build the best one that does
    not (lazily: only the open set asks, ``fit_open_set``)."""
    from tagger.training.trainer import single_threaded_torch

    start = time.perf_counter()
    y = np.asarray(y, np.int64)
    n_labels = int(n_labels if n_labels is not None else y.max() + 1)
    if len(y) == 0:
        raise ValueError("no labelled photos to learn from")
    if folds is None:
        folds = SCALE_FOLDS if np.unique(y, return_counts=True)[1].min() >= SCALE_PHOTOS_PER_LABEL else FOLDS
    fold_of = stratified_folds(y, folds, seed)
    with single_threaded_torch():
        if mix is not None or fold_of.max() < 1:
            source = "given" if mix is not None else "default (one photo a label: nothing to hold out)"
            mix = mix or DEFAULT_MIX
            model = _fit_all(features, y, prior, n_labels, mix, DEFAULT_TEMPERATURE, source, seed, library)

            def plain() -> LabelModel:
                return _fit_all(features, y, prior, n_labels, replace(mix, library=0.0), DEFAULT_TEMPERATURE,
                                source, seed, None)
        else:
            model, plain = _fit_cross_validated(features, y, prior, n_labels, fold_of, seed, should_stop, library)
    model.seconds = time.perf_counter() - start
    return model, (plain if model.library_photos else None)


# ---------------------------------------------------------------------------- cross-validation


def stratified_folds(y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """(N,) fold of each photo, -1 for photos never held out: a label's photos are dealt round-robin over the folds in
    a seeded order, so every label with two photos or more keeps one in training in every fold; a label with one photo
    is never held out."""
    rng = np.random.default_rng(seed)
    out = -np.ones(len(y), np.int64)
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        if len(rows) >= 2:
            k = min(folds, len(rows))
            out[rows] = np.arange(len(rows)) % k
    return out


def _fit_cross_validated(features, y, prior, n_labels, fold_of, seed, should_stop,
                         library) -> tuple[LabelModel, Callable[[], LabelModel]]:
    """Held-out parts for every photo that has a fold, every mix of the grid scored on them, the best refitted; and
    how to refit the best of the mixes that do not refine on the library.

    The best mix by the one-standard-error rule: among the mixes whose held-out accuracy is within one standard error
    of the best, the one with the best held-out log-likelihood (at its own best temperature). With a few hundred
    held-out photos, accuracy alone picks noise among hundreds of mixes (measured: 0.005 hit@1 lost at 3 shots); the
    likelihood is smoother, and with thousands of photos the accuracy band narrows to what accuracy can resolve."""
    held = np.flatnonzero(fold_of >= 0)
    oof, solutions = _held_out(features, y, n_labels, fold_of, seed, should_stop, library)
    truth = y[held]
    sample = np.sort(np.random.default_rng(seed).permutation(len(held))[:LIKELIHOOD_SAMPLE])
    held_sample = held[sample]
    libraries = LIBRARY_GRID if library is not None else (0.0,)
    base = {(lw, p): oof[_proto_key(lw)][held] + p * prior[held] for lw in libraries for p in PRIOR_GRID}
    caches = [(0.0, BETA_GRID[0])] + [(w, beta) for beta in BETA_GRID for w in CACHE_GRID if w]
    linears = [(0.0, C_GRID[0])] + [(w, c) for c in C_GRID for w in LINEAR_GRID if w]
    grid: list[dict] = []
    for linear, c in linears:
        lin = linear * oof[f"linear{c}"][held] if linear else 0.0
        for cache, beta in caches:
            cached = cache * oof[f"cache{beta}"][held] if cache else 0.0
            for (library_w, prior_w), proto in base.items():
                z = proto + cached + lin
                grid.append({**Mix(linear, prior_w, cache, beta, c, library_w).to_json(),
                             "accuracy": float((z.argmax(1) == truth).mean()), "log_likelihood": None})
    source = f"cross-validation ({int(fold_of.max()) + 1} folds, {len(held)} held-out photos)"

    def likelihood(g: dict) -> float:
        """Measured only for the mixes in a band (the slow part of the grid; None on the others)."""
        if g["log_likelihood"] is None:
            # only the sampled rows are mixed (row-wise sums: the same floats as mixing all and taking the sample)
            z = _mix_held_out(oof, prior, _mix_of(g), held_sample)
            g["log_likelihood"] = _best_log_likelihood(z, truth[sample])
        return g["log_likelihood"]

    def refit(candidates: list[dict]) -> LabelModel:
        top = max(g["accuracy"] for g in candidates)
        band = top - math.sqrt(top * (1 - top) / len(held))
        chosen = max((g for g in candidates if g["accuracy"] >= band - 1e-12), key=likelihood)
        best = _mix_of(chosen)
        z = _mix_held_out(oof, prior, best, held)
        temperature = fit_temperature(z, truth)
        energies = logsumexp(z / temperature)
        reference = (float(energies.mean()), float(energies.std() + 1e-6))
        # the folds' classifiers at the chosen C are near the solution on every photo (the same problem on most of
        # the photos): started there, L-BFGS needs about half the evaluations it needs from the prototypes (5,638
        # photos: 82 instead of 151)
        start = tuple(np.mean(parts, axis=0) for parts in zip(*solutions[best.c])) if best.linear else None
        model = _fit_all(features, y, prior, n_labels, best, temperature, source, seed, library, init=start,
                         reference_energy=reference)
        model.cv_accuracy, model.grid = chosen["accuracy"], grid
        return model

    return refit(grid), lambda: refit([g for g in grid if not g["library"]])


def _best_log_likelihood(z: np.ndarray, truth: np.ndarray) -> float:
    """Mean held-out log-likelihood of logits ``z`` at the best temperature of a coarse grid."""
    z = np.asarray(z, np.float32)
    own = z[np.arange(len(truth)), truth]
    top = z.max(1)
    shifted, gap = z - top[:, None], own - top  # float32 and only the truth's entry: the grid runs this 1,000s of times
    return max(float((gap / t - np.log(np.exp(shifted / t).sum(1))).mean()) for t in TEMPERATURES[::4])


def _proto_key(library_weight: float) -> str:
    return f"proto{library_weight}" if library_weight else "proto"


def _held_out(features, y, n_labels, fold_of, seed, should_stop,
              library) -> tuple[dict[str, np.ndarray], dict[float, list[tuple[np.ndarray, np.ndarray]]]]:
    """Every part of the model for every photo, from a model fitted without that photo's fold: prototype cosines
    (also refined on the library, when one is given, at every weight of LIBRARY_GRID: the held-out photos are in the
    library, unlabelled, as the photos the model will score are), cache scores per beta, linear logits per C (rows
    of photos never held out stay zero); and each fold's classifier (W, b) per C, where the refit starts.

    Only the first classifier fit starts cold: each fold starts from the previous fold's solution at the same C (the
    same problem on mostly the same photos) and each C from the previous C's; the problem is convex, so the start
    changes the time (3,758 photos, C 0.3: 112-124 evaluations cold, 82-91 from the previous fold), not the
    solution."""
    out = {"proto": np.zeros((len(y), n_labels), np.float32)}
    weights = [w for w in LIBRARY_GRID if w] if library is not None else []
    out.update({_proto_key(w): np.zeros((len(y), n_labels), np.float32) for w in weights})
    out.update({f"cache{beta}": np.zeros((len(y), n_labels), np.float32) for beta in BETA_GRID})
    out.update({f"linear{c}": np.zeros((len(y), n_labels), np.float32) for c in C_GRID})
    library = None if library is None else library_sample(library)
    solutions: dict[float, list[tuple[np.ndarray, np.ndarray]]] = {c: [] for c in C_GRID}
    for fold in range(int(fold_of.max()) + 1):
        if should_stop is not None and should_stop():
            raise Cancelled()
        test, train = np.flatnonzero(fold_of == fold), np.flatnonzero(fold_of != fold)
        fmap = feature_map(features[train], y[train], library)
        u_library = None if library is None else unit(fmap.apply(library))
        x_train, x_test = fmap.apply(features[train]), fmap.apply(features[test])
        u_train, u_test = unit(x_train), unit(x_test)
        out["proto"][test] = u_test @ prototypes(u_train, y[train], n_labels).T
        for w in weights:
            out[_proto_key(w)][test] = u_test @ unit(library_prototypes(u_train, y[train], n_labels, u_library, w)).T
        cos = u_test @ u_train.T
        for beta in BETA_GRID:
            out[f"cache{beta}"][test] = cache_scores(cos, y[train], n_labels, beta)
        start = solutions[C_GRID[0]][-1] if fold else None  # the previous fold's solution at the first C
        for c in C_GRID:
            w, b = fit_logistic(x_train, y[train], n_labels, c, init=start, seed=seed)
            solutions[c].append((w, b))
            start = (w, b)  # the next (weaker) regularisation starts where this one ended
            out[f"linear{c}"][test] = x_test @ w.T + b
    return out, solutions


def _mix_held_out(oof: dict[str, np.ndarray], prior: np.ndarray, mix: Mix, rows: np.ndarray) -> np.ndarray:
    """The held-out logits of ``mix`` for ``rows``, in the order the grid adds them up (the same floats)."""
    z = oof[_proto_key(mix.library)][rows] + mix.prior * prior[rows]
    if mix.cache:
        z = z + mix.cache * oof[f"cache{mix.beta}"][rows]
    return z + mix.linear * oof[f"linear{mix.c}"][rows] if mix.linear else z


def _mix_of(g: dict) -> Mix:
    return Mix(g["linear"], g["prior"], g["cache"], g["beta"], g["C"], g["library"])


# ---------------------------------------------------------------------------- the parts


def _fit_all(features, y, prior, n_labels, mix: Mix, temperature: float, source: str, seed: int,
             library: np.ndarray | None = None, init: tuple[np.ndarray, np.ndarray] | None = None,
             reference_energy: tuple[float, float] | None = None) -> LabelModel:
    """The model on every photo: the classifier (when the mix uses it) started from ``init`` (the cross-validated
    solutions) or else the prototypes, then the rest (``tagger.engine.label_scorer.prototype_model``; its
    ``reference_energy`` when the cross-validation measured it on held-out photos)."""
    weight = bias = None
    if mix.linear:
        fmap = feature_map(features, y, library)
        x = fmap.apply(features)
        if init is None:
            protos = prototypes(unit(x), np.asarray(y, np.int64), n_labels)
            init = (4.0 * protos, np.zeros(n_labels, np.float32))
        weight, bias = fit_logistic(x, y, n_labels, mix.c, init=init, seed=seed)
    return prototype_model(features, y, prior, n_labels, mix=mix, temperature=temperature, source=source,
                           weight=weight, bias=bias, library=library, reference_energy=reference_energy)


def fit_logistic(x: np.ndarray, y: np.ndarray, n_labels: int, c: float = 1.0, *,
                 init: tuple[np.ndarray, np.ndarray] | None = None, seed: int = 0,
                 iterations: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression with L2 (scikit-learn's objective: sum of cross-entropies + |W|^2 / 2C, the
    bias not penalised), full-batch L-BFGS. Returns (W (L, F), b (L,)). ``init``: a starting point (the prototypes,
    or the solution at a neighbouring C); the problem is convex, so it only changes how fast it gets there.
    ``iterations``: L-BFGS's cap; by default fewer on large fits (``LBFGS_ITERATIONS_LARGE``)."""
    import torch

    if iterations is None:
        iterations = LBFGS_ITERATIONS_LARGE if len(x) >= LARGE_FIT_PHOTOS else LBFGS_ITERATIONS

    torch.manual_seed(seed)
    xt = torch.from_numpy(np.ascontiguousarray(x, np.float32))
    yt = torch.from_numpy(np.asarray(y, np.int64))
    if init is None:
        w = torch.zeros(n_labels, xt.shape[1])
        b = torch.zeros(n_labels)
    else:
        w = torch.from_numpy(np.array(init[0], np.float32))
        b = torch.from_numpy(np.array(init[1], np.float32))
    w.requires_grad_(True)
    b.requires_grad_(True)
    opt = torch.optim.LBFGS([w, b], lr=1, max_iter=iterations, history_size=20, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-6, tolerance_change=1e-9)
    n = len(yt)

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(xt @ w.T + b, yt) + (w ** 2).sum() / (2 * c * n)
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy(), b.detach().numpy()


def fit_temperature(logits: np.ndarray, truth: np.ndarray) -> float:
    """The temperature that gives the held-out predictions the best log-likelihood (temperature scaling)."""
    nll = [float(-log_softmax(logits / t)[np.arange(len(truth)), truth].mean()) for t in TEMPERATURES]
    return TEMPERATURES[int(np.argmin(nll))]


# ---------------------------------------------------------------------------- untrained words: the open set

GATE_SCALES = (0.5, 1.0, 2.0, 4.0)
GATE_THRESHOLDS = tuple(round(float(t), 2) for t in np.linspace(-2.5, 1.5, 41))  # in sds of the reference energy
UNSEEN_TEMPERATURES = (0.02, 0.05, 0.1, 0.2)
SYNTH_WEIGHTS = (0.0, 0.5, 1.0)
PSEUDO_UNSEEN_FRACTION = 0.3
MIN_LABELS_TO_CALIBRATE = 4


def fit_open_set(features: np.ndarray, y: np.ndarray, zero_scores: np.ndarray, trained: np.ndarray, *,
                 seed: int = 0, repeats: int = 3, model: LabelModel | None = None,
                 should_stop: Callable[[], bool] | None = None,
                 progress: Callable[[str, int, int], None] | None = None,
                 library: np.ndarray | None = None) -> OpenSet:
    """The label model (fitted here unless given) and its gate, calibrated on the training photos alone.

    ``features`` (N, F) and ``y`` (N,) the training photos and their label (index among the trained candidates, in
    candidate order); ``zero_scores`` (N, C) their zero-shot scores for every candidate; ``trained`` (C,) bool;
    ``library`` (M, F) every photo of the library, labelled or not (``fit_label_model``): it may hold photos of the
    untrained words too, so the gate is calibrated with it in play as it will be used, and prototypes refined on it
    are kept only if they also win the pseudo-GZSL (``calibrate_gate``'s H) against the best model without."""
    trained = np.asarray(trained, bool)
    cols = np.flatnonzero(trained)
    plain = None
    if model is None:
        model, plain = _fit(features, y, zero_scores[:, cols], len(cols), seed=seed, mix=None, folds=None,
                            should_stop=should_stop, library=library)
    if trained.all():
        return OpenSet(model, trained, Gate(source="closed set: every candidate is trained"), None)
    gate = calibrate_gate(features, y, zero_scores, trained, model.mix, model.temperature, seed=seed,
                          repeats=repeats, should_stop=should_stop, progress=progress, library=library)
    if plain is not None:
        # the cross-validation sees only trained labels' photos; whether refining on a library that holds photos of
        # untrained words costs them is what the pseudo-GZSL measures: the refined model must win there too (where
        # it cannot measure, too few labels or photos, the library is left out)
        start = time.perf_counter()
        alternative = plain()
        plain_gate = calibrate_gate(features, y, zero_scores, trained, alternative.mix, alternative.temperature,
                                    seed=seed, repeats=repeats, should_stop=should_stop, progress=progress,
                                    library=library)
        if not gate.harmonic_mean > plain_gate.harmonic_mean:
            alternative.seconds = model.seconds + time.perf_counter() - start
            alternative.source += "; prototypes refined on the library did worse on pseudo-GZSL: left unrefined"
            model, gate = alternative, plain_gate
    synth = synthesised_prototypes(model, zero_scores[:, ~trained], y) if gate.synth_weight else None
    return OpenSet(model, trained, gate, synth)


def calibrate_gate(features: np.ndarray, y: np.ndarray, zero_scores: np.ndarray, trained: np.ndarray, mix: Mix,
                   temperature: float, *, seed: int = 0, repeats: int = 3,
                   should_stop: Callable[[], bool] | None = None,
                   progress: Callable[[str, int, int], None] | None = None,
                   library: np.ndarray | None = None) -> Gate:
    """Choose the gate by pseudo generalized zero-shot H on the training photos: in each of ``repeats`` seeded
    splits 30% of the trained labels play unseen; a model with the main model's mix is fitted on most photos of the
    rest; their held-out photos (seen) and every photo of the pseudo-unseen labels (unseen) are scored with all
    candidates in play; the gate with the best mean H wins."""
    labels = np.unique(y)
    if len(labels) < MIN_LABELS_TO_CALIBRATE:
        return Gate(source=f"default (fewer than {MIN_LABELS_TO_CALIBRATE} trained labels)")
    grid_shape = (len(SYNTH_WEIGHTS), len(UNSEEN_TEMPERATURES), len(GATE_SCALES), len(GATE_THRESHOLDS))
    total, done = np.zeros(grid_shape), 0
    for r in range(repeats):
        if should_stop is not None and should_stop():
            raise Cancelled()
        if progress:
            progress("calibrating the gate", r, repeats)
        grid = _pseudo_gzsl(features, y, zero_scores, trained, mix, temperature, seed + 1000 + r, library)
        if grid is not None:
            total, done = total + grid, done + 1
    if not done:
        return Gate(source="default (one photo a label: none to hold out)")
    total /= done
    i, j, k, m = np.unravel_index(np.argmax(total), grid_shape)
    return Gate(GATE_SCALES[k], GATE_THRESHOLDS[m], UNSEEN_TEMPERATURES[j], SYNTH_WEIGHTS[i],
                f"pseudo-GZSL on training photos ({repeats} splits)", float(total[i, j, k, m]))


def _pseudo_gzsl(features, y, zero_scores, trained, mix, temperature, seed, library) -> np.ndarray | None:
    """H over the whole gate grid for one split of the trained labels into pseudo-seen and pseudo-unseen; None when
    no pseudo-seen label has a photo to hold out."""
    rng = np.random.default_rng(seed)
    labels = np.unique(y)
    cols = np.flatnonzero(trained)
    unseen = rng.choice(labels, size=max(1, int(round(PSEUDO_UNSEEN_FRACTION * len(labels)))), replace=False)
    seen = np.setdiff1d(labels, unseen)
    seen_rows = np.flatnonzero(np.isin(y, seen))
    folds = stratified_folds(y[seen_rows], 5, seed)
    fit_rows, held_rows = seen_rows[folds != 0], seen_rows[folds == 0]
    if not len(held_rows):
        return None
    new_index = -np.ones(len(trained), np.int64)
    new_index[seen] = np.arange(len(seen))
    pseudo_trained = np.zeros(len(trained), bool)
    pseudo_trained[cols[seen]] = True
    model = fit_label_model(features[fit_rows], new_index[y[fit_rows]], zero_scores[fit_rows][:, cols[seen]],
                            len(seen), seed=seed, mix=mix, library=library)
    eval_rows = np.concatenate([held_rows, np.flatnonzero(np.isin(y, unseen))])
    truth = cols[y[eval_rows]]
    is_seen = np.isin(y[eval_rows], seen)
    s0 = zero_scores[eval_rows]
    z = model.logits(features[eval_rows], s0[:, cols[seen]]) / temperature
    held_energy = logsumexp(z[: len(held_rows)])
    energy = (logsumexp(z) - held_energy.mean()) / (held_energy.std() + 1e-6)
    # the best trained label and the best other word, each with its log-probability within its block: the photo goes
    # to the trained one iff log g - log(1 - g) = scale (energy - threshold) beats the difference
    t_lp = log_softmax(z)
    t_best, t_pred = t_lp.max(1), cols[seen][t_lp.argmax(1)]
    other = np.flatnonzero(~pseudo_trained)
    synth_cos = None
    out = np.zeros((len(SYNTH_WEIGHTS), len(UNSEEN_TEMPERATURES), len(GATE_SCALES), len(GATE_THRESHOLDS)))
    thresholds = np.asarray(GATE_THRESHOLDS)[None, :]
    for i, sw in enumerate(SYNTH_WEIGHTS):
        u = s0[:, other]
        if sw:
            if synth_cos is None:
                synth = synthesised_prototypes(model, zero_scores[fit_rows][:, other], new_index[y[fit_rows]])
                synth_cos = unit(model.fmap.apply(features[eval_rows])) @ synth.T
            u = u + sw * synth_cos
        for j, ut in enumerate(UNSEEN_TEMPERATURES):
            o_lp = log_softmax(u / ut)
            margin = (o_lp.max(1) - t_best)[:, None]
            o_pred = other[o_lp.argmax(1)]
            for k, scale in enumerate(GATE_SCALES):
                to_trained = scale * (energy[:, None] - thresholds) > margin  # (n, thresholds)
                pred = np.where(to_trained, t_pred[:, None], o_pred[:, None])
                out[i, j, k] = [harmonic_mean(pred[:, m], truth, is_seen) for m in range(pred.shape[1])]
    return out
