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

Untrained words must stay findable (``OpenSet``): a photo's scores are log-probabilities of one model, a gate says how
likely the photo is one of the trained labels (from the energy of the trained classifier, which is high on what
resembles the training photos), the trained labels share that mass by the classifier and every other word shares the
rest by the zero-shot scores. The gate is calibrated by pseudo generalized zero-shot learning on the training photos:
some trained labels play unseen, and the gate that gives the best harmonic mean of seen and unseen accuracy wins.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

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
TEMPERATURES = tuple(float(t) for t in np.geomspace(0.003, 3.0, 46))
FOLDS = 3
# one photo a label: nothing to hold out. Prototypes + zero-shot prior at the weight that does best on 1-shot draws
# of Caltech-101 *training* photos scored on other training photos (docs/research.md); the temperature likewise
DEFAULT_MIX_WEIGHTS = {"linear": 0.0, "prior": 0.45, "cache": 0.0, "beta": 5.0, "c": 1.0}
DEFAULT_TEMPERATURE = 0.05
LBFGS_ITERATIONS = 200
SPREAD_PRIOR_PHOTOS = 16  # see FeatureMap.of
LIKELIHOOD_SAMPLE = 1500  # held-out photos the log-likelihood is measured on (speed; accuracy uses all)


@dataclass(frozen=True)
class Mix:
    """How the four parts add up to a label's logit (see ``LabelModel.logits``)."""

    linear: float
    prior: float
    cache: float
    beta: float
    c: float  # the classifier's inverse L2 strength

    def to_json(self) -> dict:
        return {"linear": self.linear, "prior": self.prior, "cache": self.cache, "beta": self.beta, "C": self.c}


DEFAULT_MIX = Mix(**DEFAULT_MIX_WEIGHTS)


@dataclass(frozen=True)
class FeatureMap:
    """sqrt -> unit length -> standardised: the statistics of the training photos (mean, spread) fixed at fit time."""

    mean: np.ndarray  # (F,)
    sd: np.ndarray  # (F,)

    @staticmethod
    def _root(features: np.ndarray) -> np.ndarray:
        return unit(np.sqrt(np.maximum(np.asarray(features, np.float32), 0)))

    @classmethod
    def of(cls, features: np.ndarray) -> FeatureMap:
        """Spreads shrunk toward their average by SPREAD_PRIOR_PHOTOS pseudo-photos: from a handful of photos a
        feature's spread is mostly noise, and dividing by a tiny one blows that feature up."""
        r = cls._root(features)
        var = r.var(0)
        n = len(r)
        var = (n * var + SPREAD_PRIOR_PHOTOS * var.mean()) / (n + SPREAD_PRIOR_PHOTOS)
        return cls(r.mean(0), np.sqrt(var) + 1e-6)

    def apply(self, features: np.ndarray) -> np.ndarray:
        return ((self._root(features) - self.mean) / self.sd).astype(np.float32)


@dataclass
class LabelModel:
    """A fitted label model over ``n_labels`` labels (indices of the training ``y``)."""

    fmap: FeatureMap
    prototypes: np.ndarray  # (L, F) unit, in mapped space
    keys: np.ndarray  # (N, F) unit mapped training photos: the cache
    key_labels: np.ndarray  # (N,)
    weight: np.ndarray | None  # (L, F) linear classifier on mapped features (None when its weight is 0)
    bias: np.ndarray | None  # (L,)
    mix: Mix
    temperature: float  # logits / temperature are calibrated log-odds (fitted on held-out predictions)
    source: str  # 'cross-validation (k folds)' or 'default (...)'
    cv_accuracy: float = float("nan")  # held-out accuracy of the chosen mix
    reference_energy: tuple[float, float] = (0.0, 1.0)  # mean, sd of held-out photos' energies (``OpenSet``)
    seconds: float = 0.0
    grid: list[dict] = field(default_factory=list)  # every mix tried, with its held-out accuracy

    @property
    def n_labels(self) -> int:
        return len(self.prototypes)

    def parts(self, features: np.ndarray) -> dict[str, np.ndarray]:
        """The parts the mix adds up: prototype cosines, cosines to the cached photos (only when the cache counts: an
        (n, N) matrix), linear logits (only when the classifier counts)."""
        x = self.fmap.apply(features)
        u = unit(x)
        out = {"proto": u @ self.prototypes.T}
        if self.mix.cache:
            out["affinity"] = u @ self.keys.T
        if self.weight is not None:
            out["linear"] = x @ self.weight.T + self.bias
        return out

    def logits(self, features: np.ndarray, prior: np.ndarray) -> np.ndarray:
        """(n, L) scores: linear * classifier + prototype cosine + cache * mean affinity + prior * zero-shot score.
        ``prior`` (n, L): the zero-shot scores of these labels for these photos."""
        return _mix(self.parts(features), prior, self.key_labels, self.n_labels, self.mix)

    def log_probs(self, features: np.ndarray, prior: np.ndarray) -> np.ndarray:
        """(n, L) log p(label | photo is one of the labels): the calibrated logits, normalised."""
        return log_softmax(self.logits(features, prior) / self.temperature)

    def summary(self) -> dict:
        return {"mix": self.mix.to_json(), "temperature": self.temperature, "source": self.source,
                "cv_accuracy": None if math.isnan(self.cv_accuracy) else self.cv_accuracy,
                "seconds": round(self.seconds, 2)}


def fit_label_model(features: np.ndarray, y: np.ndarray, prior: np.ndarray, n_labels: int | None = None, *,
                    seed: int = 0, mix: Mix | None = None, folds: int = FOLDS,
                    should_stop: Callable[[], bool] | None = None) -> LabelModel:
    """Fit on ``features`` (N, F) raw backbone features, ``y`` (N,) label indices, ``prior`` (N, L) zero-shot scores.

    ``mix`` fixes the hyper-parameters (no cross-validation; the calibration's pseudo-splits reuse the main model's);
    otherwise they are chosen by ``folds``-fold stratified cross-validation when some label has two photos or more,
    else ``DEFAULT_MIX``. Deterministic for a given ``seed``."""
    import time

    from tagger.training.trainer import single_threaded_torch

    start = time.perf_counter()
    y = np.asarray(y, np.int64)
    n_labels = int(n_labels if n_labels is not None else y.max() + 1)
    if len(y) == 0:
        raise ValueError("no labelled photos to learn from")
    fold_of = stratified_folds(y, folds, seed)
    with single_threaded_torch():
        if mix is not None or fold_of.max() < 1:
            source = "given" if mix is not None else "default (one photo a label: nothing to hold out)"
            model = _fit_all(features, y, prior, n_labels, mix or DEFAULT_MIX, DEFAULT_TEMPERATURE, source, seed)
            # nothing held out: a new photo's energy lies between the training photos' own (scored by prototypes that
            # contain them: too high) and their leave-one-out energies (too low with one photo a label); the midpoint
            own = logsumexp(model.logits(features, prior) / model.temperature)
            out = logsumexp(_leave_one_out_logits(model, features, y, prior) / model.temperature)
            model.reference_energy = (float((own.mean() + out.mean()) / 2), float(out.std() + 1e-6))
        else:
            model = _fit_cross_validated(features, y, prior, n_labels, fold_of, seed, should_stop)
    model.seconds = time.perf_counter() - start
    return model


def _leave_one_out_logits(model: LabelModel, features: np.ndarray, y: np.ndarray, prior: np.ndarray) -> np.ndarray:
    """The training photos' logits with each photo taken out of its own label's prototype and cache: what the gate's
    reference energy is measured on when nothing was held out (a photo scored by a prototype made of itself would
    set the bar at cosine 1). A label's only photo leaves it with the prior alone: a low bar, so new photos of the
    trained labels clear it. The classifier part, when it counts, stays in-sample."""
    u = unit(model.fmap.apply(features))
    onehot = np.zeros((len(y), model.n_labels), np.float32)
    onehot[np.arange(len(y)), y] = 1
    sums = onehot.T @ u
    rows = np.arange(len(y))
    proto = u @ unit(sums).T
    proto[rows, y] = np.sum(u * unit(sums[y] - u), axis=1)  # 0 when the photo was its label's only one
    z = proto + model.mix.prior * np.asarray(prior, np.float32)
    if model.mix.cache:
        counts = onehot.sum(0)
        cache = (np.exp(-model.mix.beta * (1 - u @ model.keys.T)) @ onehot)  # sums, self included
        cache[rows, y] -= 1.0  # exp(0): the photo itself
        own = np.maximum(counts[y] - 1, 1)
        cache = cache / np.maximum(counts, 1)
        cache[rows, y] = cache[rows, y] * counts[y] / own
        z = z + model.mix.cache * cache
    if model.mix.linear:
        z = z + model.mix.linear * (model.fmap.apply(features) @ model.weight.T + model.bias)
    return z


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


def _fit_cross_validated(features, y, prior, n_labels, fold_of, seed, should_stop) -> LabelModel:
    """Held-out parts for every photo that has a fold, every mix of the grid scored on them, the best refitted.

    The best mix by the one-standard-error rule: among the mixes whose held-out accuracy is within one standard error
    of the best, the one with the best held-out log-likelihood (at its own best temperature). With a few hundred
    held-out photos, accuracy alone picks noise among hundreds of mixes (measured: 0.005 hit@1 lost at 3 shots); the
    likelihood is smoother, and with thousands of photos the accuracy band narrows to what accuracy can resolve."""
    held = np.flatnonzero(fold_of >= 0)
    oof = _held_out(features, y, n_labels, fold_of, seed, should_stop)
    truth = y[held]
    sample = np.sort(np.random.default_rng(seed).permutation(len(held))[:LIKELIHOOD_SAMPLE])
    base = {p: oof["proto"][held] + p * prior[held] for p in PRIOR_GRID}
    caches = [(0.0, BETA_GRID[0])] + [(w, beta) for beta in BETA_GRID for w in CACHE_GRID if w]
    linears = [(0.0, C_GRID[0])] + [(w, c) for c in C_GRID for w in LINEAR_GRID if w]
    grid: list[dict] = []
    for linear, c in linears:
        lin = linear * oof[f"linear{c}"][held] if linear else 0.0
        for cache, beta in caches:
            cached = cache * oof[f"cache{beta}"][held] if cache else 0.0
            for prior_w in PRIOR_GRID:
                z = base[prior_w] + cached + lin
                grid.append({**Mix(linear, prior_w, cache, beta, c).to_json(),
                             "accuracy": float((z.argmax(1) == truth).mean()),
                             "log_likelihood": _best_log_likelihood(z[sample], truth[sample])})
    top = max(g["accuracy"] for g in grid)
    band = top - math.sqrt(top * (1 - top) / len(held))
    chosen = max((g for g in grid if g["accuracy"] >= band - 1e-12), key=lambda g: g["log_likelihood"])
    best = Mix(chosen["linear"], chosen["prior"], chosen["cache"], chosen["beta"], chosen["C"])
    z = _mix_held_out(oof, prior, best)[held]
    temperature = fit_temperature(z, truth)
    n_folds = int(fold_of.max()) + 1
    model = _fit_all(features, y, prior, n_labels, best, temperature,
                     f"cross-validation ({n_folds} folds, {len(held)} held-out photos)", seed)
    model.cv_accuracy, model.grid = chosen["accuracy"], grid
    energies = logsumexp(z / temperature)
    model.reference_energy = (float(energies.mean()), float(energies.std() + 1e-6))
    return model


def _best_log_likelihood(z: np.ndarray, truth: np.ndarray) -> float:
    """Mean held-out log-likelihood of logits ``z`` at the best temperature of a coarse grid."""
    rows = np.arange(len(truth))
    return max(float(log_softmax(z / t)[rows, truth].mean()) for t in TEMPERATURES[::4])


def _held_out(features, y, n_labels, fold_of, seed, should_stop) -> dict[str, np.ndarray]:
    """Every part of the model for every photo, from a model fitted without that photo's fold: prototype cosines,
    cache scores per beta, linear logits per C (rows of photos never held out stay zero)."""
    out = {"proto": np.zeros((len(y), n_labels), np.float32)}
    out.update({f"cache{beta}": np.zeros((len(y), n_labels), np.float32) for beta in BETA_GRID})
    out.update({f"linear{c}": np.zeros((len(y), n_labels), np.float32) for c in C_GRID})
    for fold in range(int(fold_of.max()) + 1):
        if should_stop is not None and should_stop():
            raise Cancelled()
        test, train = np.flatnonzero(fold_of == fold), np.flatnonzero(fold_of != fold)
        fmap = FeatureMap.of(features[train])
        x_train, x_test = fmap.apply(features[train]), fmap.apply(features[test])
        u_train, u_test = unit(x_train), unit(x_test)
        out["proto"][test] = u_test @ prototypes(u_train, y[train], n_labels).T
        cos = u_test @ u_train.T
        for beta in BETA_GRID:
            out[f"cache{beta}"][test] = cache_scores(cos, y[train], n_labels, beta)
        start = None
        for c in C_GRID:
            w, b = fit_logistic(x_train, y[train], n_labels, c, init=start, seed=seed)
            start = (w, b)  # the next (weaker) regularisation starts where this one ended
            out[f"linear{c}"][test] = x_test @ w.T + b
    return out


def _mix_held_out(oof: dict[str, np.ndarray], prior: np.ndarray, mix: Mix) -> np.ndarray:
    z = oof["proto"] + mix.prior * prior
    if mix.cache:
        z = z + mix.cache * oof[f"cache{mix.beta}"]
    return z + mix.linear * oof[f"linear{mix.c}"] if mix.linear else z


# ---------------------------------------------------------------------------- the parts


def prototypes(u: np.ndarray, y: np.ndarray, n_labels: int) -> np.ndarray:
    """(L, F) unit mean of each label's unit mapped features (a label without photos gets a zero row)."""
    sums = np.zeros((n_labels, u.shape[1]), np.float32)
    np.add.at(sums, y, u)
    return unit(sums)


def cache_scores(cos: np.ndarray, key_labels: np.ndarray, n_labels: int, beta: float) -> np.ndarray:
    """Tip-Adapter's cache: exp(-beta (1 - cos)) to every stored photo, averaged per label (a mean, not a sum, so a
    label with 500 photos does not drown one with 5)."""
    onehot = np.zeros((len(key_labels), n_labels), np.float32)
    onehot[np.arange(len(key_labels)), key_labels] = 1
    counts = np.maximum(onehot.sum(0), 1)
    return (np.exp(-beta * (1 - cos)) @ onehot) / counts


def _mix(parts: dict[str, np.ndarray], prior: np.ndarray, key_labels, n_labels: int, mix: Mix) -> np.ndarray:
    z = parts["proto"] + mix.prior * np.asarray(prior, np.float32)
    if mix.cache:
        z = z + mix.cache * cache_scores(parts["affinity"], key_labels, n_labels, mix.beta)
    if mix.linear:
        z = z + mix.linear * parts["linear"]
    return z


def _fit_all(features, y, prior, n_labels, mix: Mix, temperature: float, source: str, seed: int) -> LabelModel:
    fmap = FeatureMap.of(features)
    x = fmap.apply(features)
    u = unit(x)
    protos = prototypes(u, y, n_labels)
    weight = bias = None
    if mix.linear:
        weight, bias = fit_logistic(x, y, n_labels, mix.c, init=(4.0 * protos, np.zeros(n_labels, np.float32)),
                                    seed=seed)
    return LabelModel(fmap, protos, u, y, weight, bias, mix, temperature, source)


def fit_logistic(x: np.ndarray, y: np.ndarray, n_labels: int, c: float = 1.0, *,
                 init: tuple[np.ndarray, np.ndarray] | None = None, seed: int = 0,
                 iterations: int = LBFGS_ITERATIONS) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression with L2 (scikit-learn's objective: sum of cross-entropies + |W|^2 / 2C, the
    bias not penalised), full-batch L-BFGS. Returns (W (L, F), b (L,)). ``init``: a starting point (the prototypes,
    or the solution at a neighbouring C); the problem is convex, so it only changes how fast it gets there."""
    import torch

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


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, np.float64)
    return (z - logsumexp(z)[:, None]).astype(np.float32)


def logsumexp(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, np.float64)
    top = z.max(axis=1)
    return top + np.log(np.exp(z - top[:, None]).sum(axis=1))


# ---------------------------------------------------------------------------- untrained words: the open set

GATE_SCALES = (0.5, 1.0, 2.0, 4.0)
GATE_THRESHOLDS = tuple(round(float(t), 2) for t in np.linspace(-2.5, 1.5, 41))  # in sds of the reference energy
UNSEEN_TEMPERATURES = (0.02, 0.05, 0.1, 0.2)
SYNTH_WEIGHTS = (0.0, 0.5, 1.0)
SYNTH_TEMPERATURE = 0.05
PSEUDO_UNSEEN_FRACTION = 0.3
MIN_LABELS_TO_CALIBRATE = 4
# too few trained labels to calibrate: what pseudo-GZSL picks on Caltech-101's 49 seen labels (docs/research.md),
# without the synthesised prototypes (a relation over two or three labels says little)
DEFAULT_GATE = {"scale": 1.0, "threshold": -0.2, "unseen_temperature": 0.1, "synth_weight": 0.0}


@dataclass(frozen=True)
class Gate:
    """How the probability mass of a photo splits between the trained labels and every other word (``OpenSet``)."""

    scale: float = DEFAULT_GATE["scale"]  # slope of the logistic gate per sd of the energy
    threshold: float = DEFAULT_GATE["threshold"]  # energy (in reference sds) where a photo is even odds trained
    unseen_temperature: float = DEFAULT_GATE["unseen_temperature"]  # zero-shot scores / T = untrained words' logits
    synth_weight: float = DEFAULT_GATE["synth_weight"]  # weight of an untrained word's synthesised prototype
    source: str = "default"
    harmonic_mean: float = float("nan")  # pseudo-GZSL H on training photos at the chosen point

    def to_json(self) -> dict:
        return {"scale": self.scale, "threshold": self.threshold, "unseen_temperature": self.unseen_temperature,
                "synth_weight": self.synth_weight, "source": self.source,
                "validation_H": None if math.isnan(self.harmonic_mean) else self.harmonic_mean}


@dataclass
class OpenSet:
    """A label model for some of the candidates (``trained`` columns), the zero-shot scorer for the rest.

    Scores are log-probabilities: log g + log p(label | trained) for a trained label and log (1 - g) + log
    softmax(zero-shot / T) for any other word, where g = sigmoid(scale (energy - threshold)) says how much the photo
    looks like the training photos. An untrained word also gets a prototype synthesised from the trained ones
    (weighted by how strongly the zero-shot scorer calls each label's training photos that word), so the stored
    photos of the trained labels help recognise what they are not."""

    model: LabelModel
    trained: np.ndarray  # (C,) bool: which candidates the model's labels are (in order)
    gate: Gate
    synth: np.ndarray | None  # (untrained, F) unit synthesised prototypes, None when synth_weight is 0

    def scores(self, features: np.ndarray, zero_scores: np.ndarray) -> np.ndarray:
        """(n, C) log-probability of every candidate; ``zero_scores`` (n, C): the zero-shot scores of all of them."""
        cols = np.flatnonzero(self.trained)
        parts = self.model.parts(features)
        z = _mix(parts, zero_scores[:, cols], self.model.key_labels, self.model.n_labels, self.model.mix)
        z = z / self.model.temperature
        if self.trained.all():
            return log_softmax(z)
        synth_cos = None if self.synth is None else unit(self.model.fmap.apply(features)) @ self.synth.T
        return _open_scores(z, zero_scores, self.trained, self.gate, self.model.reference_energy, synth_cos)


def _open_scores(z: np.ndarray, zero_scores: np.ndarray, trained: np.ndarray, gate: Gate,
                 reference: tuple[float, float], synth_cos: np.ndarray | None) -> np.ndarray:
    energy = (logsumexp(z) - reference[0]) / reference[1]
    a = gate.scale * (energy - gate.threshold)
    log_in, log_out = -np.logaddexp(0, -a), -np.logaddexp(0, a)
    other = ~trained
    u = zero_scores[:, other]
    if synth_cos is not None and gate.synth_weight:
        u = u + gate.synth_weight * synth_cos
    out = np.empty(zero_scores.shape, np.float32)
    out[:, trained] = log_in[:, None] + log_softmax(z)
    out[:, other] = log_out[:, None] + log_softmax(u / gate.unseen_temperature)
    return out


def synthesised_prototypes(model: LabelModel, zero_scores_train: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(U, F) a prototype for each untrained candidate: the trained prototypes weighted by softmax over labels of the
    mean zero-shot score the word gets on each label's training photos (``zero_scores_train`` (N, U))."""
    onehot = np.zeros((len(y), model.n_labels), np.float32)
    onehot[np.arange(len(y)), y] = 1
    relation = (onehot.T @ zero_scores_train) / np.maximum(onehot.sum(0), 1)[:, None]  # (L, U)
    relation = relation.T / SYNTH_TEMPERATURE
    weights = np.exp(relation - relation.max(1, keepdims=True))
    weights /= weights.sum(1, keepdims=True)
    return unit(weights @ model.prototypes)


def fit_open_set(features: np.ndarray, y: np.ndarray, zero_scores: np.ndarray, trained: np.ndarray, *,
                 seed: int = 0, repeats: int = 3, model: LabelModel | None = None,
                 should_stop: Callable[[], bool] | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> OpenSet:
    """The label model (fitted here unless given) and its gate, calibrated on the training photos alone.

    ``features`` (N, F) and ``y`` (N,) the training photos and their label (index among the trained candidates, in
    candidate order); ``zero_scores`` (N, C) their zero-shot scores for every candidate; ``trained`` (C,) bool."""
    trained = np.asarray(trained, bool)
    cols = np.flatnonzero(trained)
    if model is None:
        model = fit_label_model(features, y, zero_scores[:, cols], len(cols), seed=seed, should_stop=should_stop)
    if trained.all():
        return OpenSet(model, trained, Gate(source="closed set: every candidate is trained"), None)
    gate = calibrate_gate(features, y, zero_scores, trained, model.mix, model.temperature, seed=seed,
                          repeats=repeats, should_stop=should_stop, progress=progress)
    synth = synthesised_prototypes(model, zero_scores[:, ~trained], y) if gate.synth_weight else None
    return OpenSet(model, trained, gate, synth)


def calibrate_gate(features: np.ndarray, y: np.ndarray, zero_scores: np.ndarray, trained: np.ndarray, mix: Mix,
                   temperature: float, *, seed: int = 0, repeats: int = 3,
                   should_stop: Callable[[], bool] | None = None,
                   progress: Callable[[str, int, int], None] | None = None) -> Gate:
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
        grid = _pseudo_gzsl(features, y, zero_scores, trained, mix, temperature, seed + 1000 + r)
        if grid is not None:
            total, done = total + grid, done + 1
    if not done:
        return Gate(source="default (one photo a label: none to hold out)")
    total /= done
    i, j, k, m = np.unravel_index(np.argmax(total), grid_shape)
    return Gate(GATE_SCALES[k], GATE_THRESHOLDS[m], UNSEEN_TEMPERATURES[j], SYNTH_WEIGHTS[i],
                f"pseudo-GZSL on training photos ({repeats} splits)", float(total[i, j, k, m]))


def _pseudo_gzsl(features, y, zero_scores, trained, mix, temperature, seed) -> np.ndarray | None:
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
                            len(seen), seed=seed, mix=mix)
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
