"""Scoring a person's labels from stored backbone features: the few-shot label model, as search and the indexer run it.

Fitting the full model (cross-validated mix, logistic classifier, calibrated gate) is training
(``tagger.training.label_model``); running one, and fitting the part that needs no optimiser (prototypes plus the
zero-shot prior: what makes a label count the moment a folder is labelled or photos are tagged), is pure numpy and
lives here, below the library, so search never imports the trainer.

The parts (see ``LabelModel.logits``): each label's prototype (mean mapped feature, scored by cosine; refined on the
unlabelled library when one is given, ``library_prototypes``), a Tip-Adapter cache over the training photos, a
linear classifier and the zero-shot prior. Untrained words stay findable through
``OpenSet``: a gate says how likely a photo is one of the trained labels, from the energy of the label logits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tagger.engine.vectors import unit

# one photo a label: nothing to hold out. Prototypes + zero-shot prior at the weight that does best on 1-shot draws
# of Caltech-101 *training* photos scored on other training photos (docs/research.md); the temperature likewise; and
# given a library, prototypes refined on it (+0.08 hit@1 at one photo a label there)
DEFAULT_MIX_WEIGHTS = {"linear": 0.0, "prior": 0.45, "cache": 0.0, "beta": 5.0, "c": 1.0, "library": 1.0}
DEFAULT_TEMPERATURE = 0.05
SPREAD_PRIOR_PHOTOS = 16  # see FeatureMap.of
OWN_STATISTICS_LABELS = 4  # fewer labels than this: the library's statistics map the features (``feature_map``)
SYNTH_TEMPERATURE = 0.05
# too few trained labels to calibrate: what pseudo-GZSL picks on Caltech-101's 49 seen labels (docs/research.md),
# without the synthesised prototypes (a relation over two or three labels says little)
DEFAULT_GATE = {"scale": 1.0, "threshold": -0.2, "unseen_temperature": 0.1, "synth_weight": 0.0}
# prototypes refined on the unlabelled library (``library_prototypes``): soft k-means rounds, the temperature of the
# assignments (in mapped-feature cosines), the probability below which a library photo is left out of a prototype,
# how far above the library's typical cosine to a label's labelled photos a photo must stand to join it (robust sds),
# and the most library photos it looks at (an evenly spaced subset beyond that: the cost is linear in it)
REFINE_ROUNDS = 3
REFINE_TEMPERATURE = 0.02
REFINE_CONFIDENCE = 0.5
REFINE_MIN_Z = 6.0
REFINE_MAX_PHOTOS = 10_000


@dataclass(frozen=True)
class Mix:
    """How the four parts add up to a label's logit (see ``LabelModel.logits``)."""

    linear: float
    prior: float
    cache: float
    beta: float
    c: float  # the classifier's inverse L2 strength
    # weight of the library's confidently assigned photos in the prototypes, next to the labelled photos' weight 1
    # (``library_prototypes``); counts only when the model is given a library (``LabelModel.library_photos``)
    library: float = 0.0

    def to_json(self) -> dict:
        return {"linear": self.linear, "prior": self.prior, "cache": self.cache, "beta": self.beta, "C": self.c,
                "library": self.library}


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
        feature's spread is mostly noise, and dividing by a tiny one blows that feature up.

        The statistics are the labelled photos', not the library's (SimpleShot's centring by the base data): measured
        on Caltech-101 (docs/research.md), the library's gain nothing at 1 to 5 photos a label (the mean of a few
        hundred photos is already a good one, and the spreads are shrunk), and cost 0.03 of generalized zero-shot H
        (photos of untrained words in the library move the energies the gate reads)."""
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
    library_photos: int = 0  # how many library photos the prototypes were refined against (0: not refined)

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
        return mix_logits(self.parts(features), prior, self.key_labels, self.n_labels, self.mix)

    def log_probs(self, features: np.ndarray, prior: np.ndarray) -> np.ndarray:
        """(n, L) log p(label | photo is one of the labels): the calibrated logits, normalised."""
        return log_softmax(self.logits(features, prior) / self.temperature)

    def summary(self) -> dict:
        return {"mix": self.mix.to_json(), "temperature": self.temperature, "source": self.source,
                "cv_accuracy": None if math.isnan(self.cv_accuracy) else self.cv_accuracy,
                "library_photos": self.library_photos, "seconds": round(self.seconds, 2)}


def leave_one_out_logits(model: LabelModel, features: np.ndarray, y: np.ndarray, prior: np.ndarray, *,
                         sums: np.ndarray | None = None) -> np.ndarray:
    """The training photos' logits with each photo taken out of its own label's prototype and cache: what the gate's
    reference energy is measured on when nothing was held out (a photo scored by a prototype made of itself would
    set the bar at cosine 1). A label's only photo leaves it with the prior alone: a low bar, so new photos of the
    trained labels clear it. The classifier part, when it counts, stays in-sample. ``sums``: the prototypes'
    unnormalised sums when they are not the labelled photos' alone (``library_prototypes``)."""
    u = unit(model.fmap.apply(features))
    onehot = np.zeros((len(y), model.n_labels), np.float32)
    onehot[np.arange(len(y)), y] = 1
    if sums is None:
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


def prototypes(u: np.ndarray, y: np.ndarray, n_labels: int) -> np.ndarray:
    """(L, F) unit mean of each label's unit mapped features (a label without photos gets a zero row)."""
    return unit(prototype_sums(u, y, n_labels))


def prototype_sums(u: np.ndarray, y: np.ndarray, n_labels: int) -> np.ndarray:
    sums = np.zeros((n_labels, u.shape[1]), np.float32)
    np.add.at(sums, np.asarray(y, np.int64), u)
    return sums


def library_sample(library: np.ndarray) -> np.ndarray:
    """At most REFINE_MAX_PHOTOS evenly spaced rows of ``library``: deterministic, and the whole of a small one."""
    if len(library) <= REFINE_MAX_PHOTOS:
        return library
    return library[np.linspace(0, len(library) - 1, REFINE_MAX_PHOTOS).astype(np.int64)]


def library_prototypes(u: np.ndarray, y: np.ndarray, n_labels: int, u_library: np.ndarray, weight: float = 1.0,
                       *, rounds: int = REFINE_ROUNDS, temperature: float = REFINE_TEMPERATURE,
                       confidence: float = REFINE_CONFIDENCE, min_z: float = REFINE_MIN_Z) -> np.ndarray:
    """(L, F) unnormalised prototype sums refined on the unlabelled library (transductive soft k-means): each round,
    every library photo (``u_library`` (M, F), unit mapped) is assigned to the labels by softmax(cosine / temperature),
    and a label's sum becomes its labelled photos' sum plus ``weight`` x the library photos it holds with probability
    ``confidence`` or more, each counted by that probability (``confidence`` >= 0.5: a photo counts for one label at
    most, its best) -- provided the photo stands out for that label: its cosine to the labelled photos' own prototype
    is ``min_z`` robust standard deviations (median, MAD) above the library's median cosine to it.

    Why: with three photos a label the prototype is three draws from the label's photos; the library holds dozens
    more, unlabelled (docs/research.md has the figures). The softmax alone is relative: in a library where most
    photos are of no trained label (the app's, unlike a benchmark's) every photo is some label's best and would be
    pulled in (nearly all 8,677 Caltech photos into three trained labels' prototypes); the floor is absolute, and
    anchored to the labelled photos so that the rounds cannot drift."""
    if confidence < 0.5:
        raise ValueError("confidence below 0.5 would let a photo count for two labels")
    sums = prototype_sums(u, y, n_labels)
    if not weight or not len(u_library):
        return sums
    absent = ~np.any(sums, axis=1)  # a label without labelled photos takes no library photo either
    cos = u_library @ unit(sums).T
    median = np.median(cos, axis=0)
    spread = 1.4826 * np.median(np.abs(cos - median), axis=0) + 1e-6
    stands_out = (cos - median) / spread >= min_z  # (M, L), against the labelled photos' prototypes: fixed
    rows = np.arange(len(u_library))
    out = sums
    for r in range(rounds):
        z = (cos if r == 0 else u_library @ unit(out).T) / temperature
        z[:, absent] = -np.inf
        best = z.argmax(1)
        p_best = 1.0 / np.exp(z - z[rows, best][:, None]).sum(1)
        held = np.flatnonzero((p_best >= confidence) & stands_out[rows, best])
        held = held[np.argsort(best[held], kind="stable")]
        labels, starts = np.unique(best[held], return_index=True)
        out = sums.copy()
        if len(held):
            out[labels] += weight * np.add.reduceat(u_library[held] * p_best[held, None], starts, axis=0)
    return out


def cache_scores(cos: np.ndarray, key_labels: np.ndarray, n_labels: int, beta: float) -> np.ndarray:
    """Tip-Adapter's cache: exp(-beta (1 - cos)) to every stored photo, averaged per label (a mean, not a sum, so a
    label with 500 photos does not drown one with 5)."""
    onehot = np.zeros((len(key_labels), n_labels), np.float32)
    onehot[np.arange(len(key_labels)), key_labels] = 1
    counts = np.maximum(onehot.sum(0), 1)
    return (np.exp(-beta * (1 - cos)) @ onehot) / counts


def mix_logits(parts: dict[str, np.ndarray], prior: np.ndarray, key_labels, n_labels: int, mix: Mix) -> np.ndarray:
    z = parts["proto"] + mix.prior * np.asarray(prior, np.float32)
    if mix.cache:
        z = z + mix.cache * cache_scores(parts["affinity"], key_labels, n_labels, mix.beta)
    if mix.linear:
        z = z + mix.linear * parts["linear"]
    return z


def log_softmax(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, np.float64)
    return (z - logsumexp(z)[:, None]).astype(np.float32)


def logsumexp(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, np.float64)
    top = z.max(axis=1)
    return top + np.log(np.exp(z - top[:, None]).sum(axis=1))


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
        z = mix_logits(parts, zero_scores[:, cols], self.model.key_labels, self.model.n_labels, self.model.mix)
        z = z / self.model.temperature
        if self.trained.all():
            return log_softmax(z)
        synth_cos = None if self.synth is None else unit(self.model.fmap.apply(features)) @ self.synth.T
        return open_scores(z, zero_scores, self.trained, self.gate, self.model.reference_energy, synth_cos)


def open_scores(z: np.ndarray, zero_scores: np.ndarray, trained: np.ndarray, gate: Gate,
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


def feature_map(features: np.ndarray, y: np.ndarray, library: np.ndarray | None = None) -> FeatureMap:
    """The feature map a fit uses: the labelled photos' statistics when they span OWN_STATISTICS_LABELS labels or
    more (measured on Caltech-101: as good as the library's, and better for generalized zero-shot, docs/research.md),
    else the library's. Centring a few labels' photos on their own mean removes what they share: one label's three
    okapis come out at cosine -0.5 to each other, and its prototype points nowhere."""
    if library is not None and len(library) and len(np.unique(y)) < OWN_STATISTICS_LABELS:
        return FeatureMap.of(library_sample(library))
    return FeatureMap.of(features)


def prototype_model(features: np.ndarray, y: np.ndarray, prior: np.ndarray, n_labels: int, *,
                    mix: Mix = DEFAULT_MIX, temperature: float = DEFAULT_TEMPERATURE,
                    source: str = "prototypes (no training)", weight: np.ndarray | None = None,
                    bias: np.ndarray | None = None, library: np.ndarray | None = None,
                    reference_energy: tuple[float, float] | None = None) -> LabelModel:
    """A label model from its parts: the feature map and prototypes of ``features`` (N, F) with labels ``y``, the
    given classifier (``weight``/``bias``, fitted by training when ``mix.linear``), and, when nothing was held out
    to measure it on, a reference energy between the training photos' own and their leave-one-out energies.

    With the default mix this is the instant label scorer: milliseconds for thousands of photos, no optimiser.
    ``library`` (M, F): the raw features of every photo of the library, labelled or not: at ``mix.library`` the
    prototypes are refined on it (``library_prototypes``)."""
    y = np.asarray(y, np.int64)
    fmap = feature_map(features, y, library)
    u = unit(fmap.apply(features))
    sums, sample = None, None
    if library is not None and len(library) and mix.library:
        sample = library_sample(library)
        sums = library_prototypes(u, y, n_labels, unit(fmap.apply(sample)), mix.library)
    protos = prototypes(u, y, n_labels) if sums is None else unit(sums)
    model = LabelModel(fmap, protos, u, y, weight, bias, mix, temperature, source)
    model.library_photos = 0 if sample is None else len(sample)
    if reference_energy is not None:  # measured on held-out photos by the caller (2 s at 5,784 photos saved)
        model.reference_energy = reference_energy
        return model
    prior = np.asarray(prior, np.float32)
    own = logsumexp(model.logits(features, prior) / temperature)
    out = logsumexp(leave_one_out_logits(model, features, y, prior, sums=sums) / temperature)
    model.reference_energy = (float((own.mean() + out.mean()) / 2), float(out.std() + 1e-6))
    return model


def save_open_set(path: Path, open_set: OpenSet, labels: list[str]) -> None:
    """Write ``open_set`` (and the label texts, in model order) as one .npz (no pickles)."""
    from tagger.fileio import atomic_path

    m = open_set.model
    arrays = {"labels": np.array(labels), "mean": m.fmap.mean, "sd": m.fmap.sd, "prototypes": m.prototypes,
              "keys": m.keys.astype(np.float16), "key_labels": m.key_labels, "trained": open_set.trained,
              "mix": np.array([m.mix.linear, m.mix.prior, m.mix.cache, m.mix.beta, m.mix.c, m.mix.library],
                              np.float64),
              "temperature": np.array(m.temperature), "reference_energy": np.array(m.reference_energy),
              "gate": np.array([open_set.gate.scale, open_set.gate.threshold, open_set.gate.unseen_temperature,
                                open_set.gate.synth_weight], np.float64),
              "source": np.array([m.source, open_set.gate.source])}
    if m.weight is not None:
        arrays["weight"], arrays["bias"] = m.weight, m.bias
    if open_set.synth is not None:
        arrays["synth"] = open_set.synth
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def load_open_set(path: Path) -> tuple[OpenSet, list[str]]:
    """What ``save_open_set`` wrote: the open-set label model and its label texts."""
    with np.load(path, allow_pickle=False) as z:
        mix = Mix(*(float(v) for v in z["mix"]))  # 5 numbers in files written before the library weight
        sources = [str(s) for s in z["source"]]
        model = LabelModel(FeatureMap(z["mean"], z["sd"]), z["prototypes"], z["keys"].astype(np.float32),
                           z["key_labels"], z["weight"] if "weight" in z else None,
                           z["bias"] if "bias" in z else None, mix, float(z["temperature"]), sources[0])
        model.reference_energy = tuple(float(v) for v in z["reference_energy"])
        scale, threshold, unseen_t, synth_w = (float(v) for v in z["gate"])
        gate = Gate(scale, threshold, unseen_t, synth_w, sources[1])
        synth = z["synth"] if "synth" in z else None
        return OpenSet(model, z["trained"].astype(bool), gate, synth), [str(t) for t in z["labels"]]

