"""Teaching Tagger a user's labels: the DeViSE-style residual head, trained on stored backbone features.

The model (``tagger.engine.projection``) adds a linear residual on the backbone features to ConSE's word-space vector; it
starts at zero. Here that residual is trained with DeViSE's hinge rank loss (margin 0.1; negatives: the other labels
and words sampled from the tag vocabulary), on features the catalog already holds, so nothing is decoded again.
A stratified validation split picks the epoch (early stopping) and reports accuracy before and after.

Training only moves what the labels need. Scoring (``tagger.engine.scoring``) keeps the zero-training expert for every word
that was not trained and mixes the trained head in only for the trained labels, with a calibration (lam, gamma)
measured on the training images (``calibrate``), never on test data: this is what keeps zero-shot ability, where
a head that replaces the embedding pulls everything onto the seen labels (GZSL collapse).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from tagger.engine import head
from tagger.engine.head import RESIDUAL_HIDDEN
from tagger.engine.vectors import unit
from tagger.progress import Cancelled, ProgressFn

DEFAULT_LAM = 0.5  # trained and zero-training experts weigh the same for a trained label
DEFAULT_GAMMA = 0.2  # used when there are too few labels to calibrate (measured on Caltech-101 seen labels)
MIN_LABELS_TO_CALIBRATE = 4
MIN_STEPS_PER_EPOCH = 20
VAL_NEGATIVES = 256  # vocabulary words beside the labels when measuring validation accuracy
LAM_GRID = (0.25, 0.5, 0.75, 1.0)
GAMMA_GRID = tuple(round(0.05 * i, 2) for i in range(13))  # 0 .. 0.6


@dataclass
class TrainConfig:
    margin: float = 0.1  # DeViSE's
    lr: float = 1e-3
    weight_decay: float = 1e-4  # L2 on the residual: pulls it toward zero, i.e. toward the zero-training model
    epochs: int = 100
    patience: int = 20  # epochs without a better validation accuracy before stopping
    batch_size: int = 128
    vocab_negatives: int = 64  # tag-vocabulary words sampled as extra negatives per batch
    anchor_weight: float = 1.0  # weight of (1 - cos(trained, zero-training)) on unlabelled photos
    photo_negative_weight: float = 8.0  # weight of the hinge that ranks unlabelled photos below labelled ones
    val_fraction: float = 0.15
    seed: int = 0
    hidden: int = RESIDUAL_HIDDEN  # 0: a linear residual (DeViSE's projection); >0: one hidden layer (LeakyReLU 0.2, dropout 0.1)


@dataclass
class TrainingSet:
    """Labelled photos as the trainer needs them; rows of ``features``, ``conse`` and ``y`` go together."""

    features: np.ndarray  # (N, F) backbone features
    conse: np.ndarray  # (N, D) ConSE mix (unnormalised): what the ONNX graph adds the residual to
    y: np.ndarray  # (N,) index into label_vectors
    label_texts: list[str]
    label_vectors: np.ndarray  # (L, D) unit
    negative_vectors: np.ndarray  # (V, D) unit vocabulary vectors used as extra negatives
    # unlabelled photos (features, ConSE mix) whose embeddings should stay where the zero-training model puts them:
    # without them, a single label ("zorblax") is learnt by pulling EVERY photo toward its vector
    anchor_features: np.ndarray | None = None
    anchor_conse: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.y)
        if not (len(self.features) == len(self.conse) == n):
            raise ValueError("features, conse and y must have the same number of rows")
        if n == 0:
            raise ValueError("no labelled photos to train on")


@dataclass
class TrainedHead:
    """The residual in raw-feature space (standardisation folded into the first layer), ready to export or to
    re-project: ``layers`` are (weight (out, in), bias (out,)) pairs with LeakyReLU(0.2) between them."""

    layers: list[tuple[np.ndarray, np.ndarray]]
    label_texts: list[str]
    history: list[dict] = field(default_factory=list)  # per epoch: loss, val_loss, val_acc
    # top-1 accuracy on the held-out labelled photos, candidates = the labels + VAL_NEGATIVES vocabulary words
    val_acc_before: float = float("nan")  # the zero-training model
    val_acc_after: float = float("nan")
    best_epoch: int = 0
    seconds: float = 0.0
    n_train: int = 0
    n_val: int = 0

    @property
    def hidden(self) -> int:
        return self.layers[0][0].shape[0] if len(self.layers) > 1 else 0

    def residual(self, features: np.ndarray) -> np.ndarray:
        return head.residual(self.layers, features)

    def project(self, features: np.ndarray, conse: np.ndarray) -> np.ndarray:
        """Unit embeddings of the trained model, exactly what the exported ONNX gives (``tagger.engine.head``)."""
        return head.project(self.layers, features, conse)


def stratified_split(y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows): each label with at least 3 photos gives ~``fraction`` of them to validation."""
    rng = np.random.default_rng(seed)
    val, train = [], []
    for label in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == label))
        k = int(round(len(rows) * fraction)) if len(rows) >= 3 else 0
        k = max(1, k) if len(rows) >= 3 else 0
        val.extend(rows[:k])
        train.extend(rows[k:])
    return np.sort(np.asarray(train, np.int64)), np.sort(np.asarray(val, np.int64))


def train_head(data: TrainingSet, config: TrainConfig = TrainConfig(), *, progress: ProgressFn | None = None,
               should_stop: Callable[[], bool] | None = None,
               on_epoch: Callable[[dict], None] | None = None) -> TrainedHead:
    """Hinge-rank training of the residual with early stopping on a stratified validation split."""
    with single_threaded_torch():
        return _train_head(data, config, progress, should_stop, on_epoch)


@contextlib.contextmanager
def single_threaded_torch():
    """The head's matrices are small: one torch thread is as fast on an idle machine and up to 10x faster on a busy
    one, where worker threads spin against other processes (measured: 10 epochs 5.4 s on 1 thread, 54 s on 2)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _train_head(data: TrainingSet, config: TrainConfig, progress: ProgressFn | None,
                should_stop: Callable[[], bool] | None, on_epoch: Callable[[dict], None] | None) -> TrainedHead:
    import torch

    start = time.perf_counter()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    tr, val = stratified_split(data.y, config.val_fraction, config.seed)
    if len(val) == 0:  # tiny label sets: validate on the training photos rather than not at all
        val = tr
    # standardise with every photo the head will see (labelled and anchors): statistics of a few labelled photos
    # alone would blow up the inputs of every other photo
    pool = data.features[tr] if data.anchor_features is None else np.concatenate([data.features[tr],
                                                                                    data.anchor_features])
    mu = pool.mean(axis=0)
    sd = pool.std(axis=0) + 1e-6
    xf = torch.from_numpy(((data.features - mu) / sd).astype(np.float32))
    xc = torch.from_numpy(np.asarray(data.conse, np.float32))
    y = torch.from_numpy(np.asarray(data.y, np.int64))
    labels = torch.from_numpy(np.asarray(data.label_vectors, np.float32))
    negatives = torch.from_numpy(np.asarray(data.negative_vectors, np.float32))
    dim, fdim = labels.shape[1], xf.shape[1]
    from tagger.engine.projection import residual_head

    layer = residual_head(fdim, dim, config.hidden)
    last = layer if config.hidden <= 0 else layer[-1]
    opt = torch.optim.Adam(layer.parameters(), lr=config.lr)

    # validation candidates: the labels and a fixed sample of other words, so that accuracy means something even
    # for a single label ("is this photo zorblax rather than anything else?"); ties go to the lower hinge loss
    val_negatives = _sample(negatives, VAL_NEGATIVES, np.random.default_rng(config.seed + 99))
    candidates = torch.cat([labels, val_negatives])

    def validate() -> tuple[float, float]:
        layer.eval()
        with torch.no_grad():
            emb = torch.nn.functional.normalize(xc[val] + layer(xf[val]), dim=-1)
            acc = float(((emb @ candidates.T).argmax(1) == y[val]).float().mean())
            loss = float(hinge_rank_loss(emb, y[val], labels, val_negatives, config.margin))
            if anchors is not None:
                loss += float(anchor_loss(anchors[4], emb, y[val]))
        layer.train()
        return acc, loss

    anchors = None
    if data.anchor_features is not None and len(data.anchor_features) and config.anchor_weight > 0:
        a_order = np.random.default_rng(config.seed + 7).permutation(len(data.anchor_features))
        n_val_a = max(1, int(len(a_order) * config.val_fraction))
        af_np = ((data.anchor_features - mu) / sd).astype(np.float32)
        af = torch.from_numpy(af_np)
        ac = torch.from_numpy(np.asarray(data.anchor_conse, np.float32))
        reliable = torch.from_numpy(reliable_negatives(((data.features[tr] - mu) / sd).astype(np.float32),
                                                       data.y[tr], af_np, len(data.label_texts)))
        anchors = (af, ac, torch.nn.functional.normalize(ac, dim=-1), a_order[n_val_a:], a_order[:n_val_a],
                   reliable)

    def anchor_loss(rows, emb, yb) -> torch.Tensor:
        """Unlabelled photos stay where the zero-training model put them (drift), and rank below the labelled
        photos for their labels (photo-side hinge: an unlabelled photo is most likely not "zorblax")."""
        af, ac, a0, _, _, reliable = anchors
        rows = torch.from_numpy(np.asarray(rows))
        e = torch.nn.functional.normalize(ac[rows] + layer(af[rows]), dim=-1)
        ok = reliable[rows]  # (A, L): anchor is a reliable negative for the label
        drift = ((1 - (e * a0[rows]).sum(-1)) * ok.all(1)).sum() / ok.all(1).sum().clamp(min=1)
        true = (emb * labels[yb]).sum(-1, keepdim=True)  # (B, 1)
        other = labels[yb] @ e.T  # (B, A): each anchor's score for the photo's label
        mask = ok[:, yb].T.float()
        hinge = (torch.clamp(config.margin - true + other, min=0) * mask).sum() / mask.sum().clamp(min=1)
        return config.anchor_weight * drift + config.photo_negative_weight * hinge

    before, best_loss = validate()
    best = before
    stopper = EarlyStopping(layer, config.patience)
    history: list[dict] = []
    for epoch in range(1, config.epochs + 1):
        # an epoch is at least MIN_STEPS_PER_EPOCH batches: a folder of 20 photos would otherwise get one step an
        # epoch and stop long before it learnt anything
        repeats = max(1, -(-MIN_STEPS_PER_EPOCH * config.batch_size // max(1, len(tr))))
        order = np.concatenate([rng.permutation(tr) for _ in range(repeats)])
        total, batches = 0.0, 0
        for lo in range(0, len(order), config.batch_size):
            if should_stop is not None and should_stop():
                raise Cancelled()
            bi = torch.from_numpy(order[lo:lo + config.batch_size])
            emb = torch.nn.functional.normalize(xc[bi] + layer(xf[bi]), dim=-1)
            loss = hinge_rank_loss(emb, y[bi], labels, _sample(negatives, config.vocab_negatives, rng), config.margin)
            loss = loss + config.weight_decay * (last.weight ** 2).sum()
            if anchors is not None:
                loss = loss + anchor_loss(rng.choice(anchors[3], min(len(anchors[3]), config.batch_size)), emb, y[bi])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach())
            batches += 1
        acc, val_loss = validate()
        history.append({"epoch": epoch, "loss": total / max(1, batches), "val_loss": val_loss, "val_acc": acc})
        if on_epoch:
            on_epoch(history[-1])
        if progress:
            progress("training", epoch, config.epochs)
        improved = acc > best + 1e-9 or (acc > best - 1e-9 and val_loss < best_loss - 1e-4)
        if improved:
            best, best_loss = acc, val_loss
        if stopper.step(epoch, improved):
            break
    stopper.restore()
    best_epoch = stopper.best_epoch
    linears = [layer] if config.hidden <= 0 else [m for m in layer if isinstance(m, torch.nn.Linear)]
    layers = [(m.weight.detach().numpy().astype(np.float32), m.bias.detach().numpy().astype(np.float32))
              for m in linears]
    w0, b0 = layers[0]
    w0f = w0 / sd[None, :]  # fold the standardisation into the first layer
    layers[0] = (w0f.astype(np.float32), (b0 - w0f @ mu).astype(np.float32))
    return TrainedHead(layers, list(data.label_texts), history, before, best, best_epoch,
                       time.perf_counter() - start, len(tr), len(val))


def reliable_negatives(features: np.ndarray, y: np.ndarray, anchor_features: np.ndarray, n_labels: int,
                       quantile: float = 0.1) -> np.ndarray:
    """(A, L) bool: which unlabelled photos can safely be told "you are not this label".

    Unlabelled photos are positive-unlabelled data: the library holds more okapis than the folder the user
    labelled. An anchor that is closer (cosine, standardised backbone features) to a label's centroid than 90% of
    that label's own photos is probably one of them, so it is neither pushed away from the label nor held in place;
    the rest are reliable negatives (the two-step PU heuristic)."""
    f, a = unit(features), unit(anchor_features)
    out = np.ones((len(anchor_features), n_labels), bool)
    for label in range(n_labels):
        own = f[y == label]
        if not len(own):
            continue
        centre = unit(own.mean(0, keepdims=True))[0]
        out[:, label] = a @ centre < np.quantile(own @ centre, quantile)
    return out


class EarlyStopping:
    """Keeps a copy of the module's best weights and says when ``patience`` epochs have passed without a better one:
    the one early-stopping rule of every trainer here (the head, the seed recipes, the VGSE analysis)."""

    def __init__(self, module, patience: int):
        self.module, self.patience = module, patience
        self.best_epoch, self.bad = 0, 0
        self.state = {k: v.clone() for k, v in module.state_dict().items()}

    def step(self, epoch: int, improved: bool) -> bool:
        """Record an epoch; True when training should stop."""
        if improved:
            self.best_epoch, self.bad = epoch, 0
            self.state = {k: v.clone() for k, v in self.module.state_dict().items()}
            return False
        self.bad += 1
        return self.bad >= self.patience

    def restore(self) -> None:
        self.module.load_state_dict(self.state)


def hinge_rank_loss(emb, y, labels, negatives, margin: float):
    """DeViSE: sum over false labels j of max(0, margin - t_y.e + t_j.e), plus the same for sampled vocabulary words.

    ``emb`` (B, D) unit, ``labels`` (L, D), ``negatives`` (K, D) (tensors)."""
    import torch

    scores = emb @ labels.T
    true = scores.gather(1, y[:, None])
    per_label = torch.clamp(margin - true + scores, min=0).sum(1) - margin  # the true label contributes exactly margin
    if len(negatives):
        per_label = per_label + torch.clamp(margin - true + emb @ negatives.T, min=0).sum(1)
    return per_label.mean()


def _sample(vectors, k: int, rng: np.random.Generator):
    if len(vectors) == 0 or k <= 0:
        return vectors[:0]
    import torch

    return vectors[torch.from_numpy(rng.integers(0, len(vectors), min(k, len(vectors))))]


# ---------------------------------------------------------------------------- calibration


@dataclass
class Calibration:
    """How the trained expert joins the zero-training one for trained labels (see ``tagger.engine.scoring.Experts``)."""

    lam: float = DEFAULT_LAM
    gamma: float = DEFAULT_GAMMA
    source: str = "default"  # 'validation' when measured, 'default' when there were too few labels
    harmonic_mean: float = float("nan")  # validation H at the chosen point

    def to_json(self) -> dict:
        return {"lam": self.lam, "gamma": self.gamma, "source": self.source,
                "validation_H": None if math.isnan(self.harmonic_mean) else self.harmonic_mean}


def combine(s0: np.ndarray, s1: np.ndarray, trained: np.ndarray, lam: float, gamma: float) -> np.ndarray:
    """Scores of every label: the zero-training score, or for trained labels lam*trained + (1-lam)*zero - gamma."""
    mixed = lam * s1 + (1 - lam) * s0 - gamma
    return np.where(trained[None, :], mixed, s0)


def calibrate(data: TrainingSet, zero_scores: np.ndarray, candidate_is_label: np.ndarray,
              config: TrainConfig = TrainConfig(), *, repeats: int = 3, closed: bool | None = None,
              should_stop: Callable[[], bool] | None = None) -> Calibration:
    """Choose (lam, gamma) by generalized zero-shot H on the training photos alone.

    The trained labels are split into pseudo-seen (70%) and pseudo-unseen (30%); a head trained on the pseudo-seen
    photos is scored on held-out pseudo-seen photos and on all pseudo-unseen photos, with every candidate in play;
    the grid point with the best mean H over ``repeats`` random splits wins. ``closed`` (default: every candidate
    is a training label) skips that and only picks lam by held-out accuracy; the app passes False, because every
    word of the vocabulary is a candidate there even though only labels are scored here. ``zero_scores`` (N, C) are the
    zero-training scores of the labelled photos against the C candidates; ``candidate_is_label`` (C,) maps the
    training labels into the candidates (the index of label i is ``np.flatnonzero(candidate_is_label)[i]``).
    """
    labels = np.unique(data.y)
    if (candidate_is_label.all() if closed is None else closed):
        return _calibrate_closed(data, zero_scores, config, should_stop)
    if len(labels) < MIN_LABELS_TO_CALIBRATE:
        return Calibration()
    cand_of_label = np.flatnonzero(candidate_is_label)
    grid = np.zeros((len(LAM_GRID), len(GAMMA_GRID)))
    for r in range(repeats):
        rng = np.random.default_rng(config.seed + 1000 + r)
        pseudo_unseen = rng.choice(labels, size=max(1, int(round(0.3 * len(labels)))), replace=False)
        seen_mask = ~np.isin(data.y, pseudo_unseen)
        seen_rows = np.flatnonzero(seen_mask)
        fit, held = stratified_split(data.y[seen_rows], config.val_fraction, config.seed + r)
        fit_rows, held_rows = seen_rows[fit], seen_rows[held]
        sub = TrainingSet(data.features[fit_rows], data.conse[fit_rows], data.y[fit_rows], data.label_texts,
                          data.label_vectors, data.negative_vectors)
        head = train_head(sub, TrainConfig(**{**config.__dict__, "seed": config.seed + r}), should_stop=should_stop)
        eval_rows = np.concatenate([held_rows, np.flatnonzero(~seen_mask)])
        e1 = head.project(data.features[eval_rows], data.conse[eval_rows])
        s1 = np.zeros((len(eval_rows), len(candidate_is_label)), np.float32)
        s1[:, cand_of_label] = e1 @ data.label_vectors.T
        trained = np.zeros(len(candidate_is_label), bool)
        trained[cand_of_label[np.setdiff1d(labels, pseudo_unseen)]] = True
        truth = cand_of_label[data.y[eval_rows]]
        is_seen = np.isin(data.y[eval_rows], pseudo_unseen, invert=True)
        s0 = zero_scores[eval_rows]
        for i, lam in enumerate(LAM_GRID):
            for j, gamma in enumerate(GAMMA_GRID):
                pred = combine(s0, s1, trained, lam, gamma).argmax(1)
                grid[i, j] += harmonic_mean(pred, truth, is_seen) / repeats
    i, j = np.unravel_index(np.argmax(grid), grid.shape)
    return Calibration(float(LAM_GRID[i]), float(GAMMA_GRID[j]), "validation", float(grid[i, j]))


def _calibrate_closed(data: TrainingSet, zero_scores: np.ndarray, config: TrainConfig,
                      should_stop: Callable[[], bool] | None) -> Calibration:
    """Every candidate is a trained label (a closed set, e.g. supervised evaluation): no unseen label to protect, so
    only lam matters; pick it by held-out accuracy."""
    fit, held = stratified_split(data.y, config.val_fraction, config.seed + 7)
    if not len(held):
        return Calibration(1.0, 0.0, "default")
    sub = TrainingSet(data.features[fit], data.conse[fit], data.y[fit], data.label_texts, data.label_vectors,
                      data.negative_vectors)
    head = train_head(sub, config, should_stop=should_stop)
    s1 = head.project(data.features[held], data.conse[held]) @ data.label_vectors.T
    s0 = zero_scores[held]
    trained = np.ones(s0.shape[1], bool)
    acc = [float((combine(s0, s1, trained, lam, 0.0).argmax(1) == data.y[held]).mean()) for lam in LAM_GRID]
    best = int(np.argmax(acc))
    return Calibration(float(LAM_GRID[best]), 0.0, "validation (closed set)", acc[best])


def harmonic_mean(pred: np.ndarray, truth: np.ndarray, is_seen: np.ndarray) -> float:
    """GZSL H of top-1 accuracy on seen-label photos and on unseen-label photos."""
    s = float((pred[is_seen] == truth[is_seen]).mean()) if is_seen.any() else 0.0
    u = float((pred[~is_seen] == truth[~is_seen]).mean()) if (~is_seen).any() else 0.0
    return 2 * s * u / (s + u) if s + u > 0 else 0.0


def labels_vocabulary_negatives(vocab_vectors: np.ndarray, label_vectors: np.ndarray, max_cos: float = 0.9,
                                limit: int = 20000, seed: int = 0) -> np.ndarray:
    """Vocabulary words usable as negatives: not (near-)synonyms of any label, so "kitten" is never pushed away from
    a photo labelled "cat"."""
    rng = np.random.default_rng(seed)
    rows = rng.permutation(len(vocab_vectors))[:limit]
    cand = vocab_vectors[rows]
    keep = (cand @ label_vectors.T).max(axis=1) < max_cos if len(label_vectors) else np.ones(len(cand), bool)
    return cand[keep]
