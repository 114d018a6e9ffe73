"""Teaching Tagger a user's labels: the DeViSE-style residual head, trained on stored backbone features.

The model (``tagger.engine.projection``) adds a residual on the backbone features to ConSE's word-space vector: one
hidden layer (``RESIDUAL_HIDDEN`` wide, LeakyReLU, dropout) by default, or with ``hidden=0`` DeViSE's linear map. Its
last layer starts at zero, so the untrained head changes nothing. Here that residual is trained with DeViSE's hinge
rank loss (margin 0.1; negatives: the other labels and words sampled from the tag vocabulary), on features the catalog
already holds, so nothing is decoded again. Unlabelled photos ("anchors") keep the zero-training embedding in place
where no label claims them. A stratified validation split picks the epoch (early stopping) and reports accuracy
before and after.

Training only moves what the labels need: how a trained label mixes the trained head with the zero-training expert
is measured afterwards (``tagger.training.calibration``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from tagger.engine import head
from tagger.engine.head import RESIDUAL_HIDDEN
from tagger.engine.vectors import unit
from tagger.progress import Cancelled, ProgressFn

if TYPE_CHECKING:
    import torch

MIN_STEPS_PER_EPOCH = 20
VAL_NEGATIVES = 256  # vocabulary words beside the labels when measuring validation accuracy


@dataclass
class TrainConfig:
    margin: float = 0.1  # DeViSE's
    lr: float = 1e-3
    weight_decay: float = 1e-4  # L2 on the residual's last layer: pulls it toward zero, i.e. the zero-training model
    epochs: int = 100
    patience: int = 20  # epochs without a better validation accuracy before stopping
    batch_size: int = 128
    vocab_negatives: int = 64  # tag-vocabulary words sampled as extra negatives per batch
    anchor_weight: float = 1.0  # weight of (1 - cos(trained, zero-training)) on unlabelled photos
    photo_negative_weight: float = 8.0  # weight of the hinge that ranks unlabelled photos below labelled ones
    val_fraction: float = 0.15
    seed: int = 0
    hidden: int = RESIDUAL_HIDDEN  # 0: DeViSE's linear map; >0: one hidden layer (LeakyReLU 0.2, dropout 0.1)


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

    def subset(self, rows: np.ndarray) -> TrainingSet:
        """The labelled photos ``rows`` alone, same labels and negatives, no anchors (the calibration's heads)."""
        return TrainingSet(self.features[rows], self.conse[rows], self.y[rows], self.label_texts, self.label_vectors,
                           self.negative_vectors)


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


# ---------------------------------------------------------------------------- the training run, step by step


@dataclass(frozen=True)
class Standardisation:
    """Per-feature mean and spread the head's inputs are standardised with during training; folded into the first
    layer afterwards, so the exported head takes raw backbone features."""

    mean: np.ndarray  # (F,)
    sd: np.ndarray  # (F,)

    @classmethod
    def of(cls, data: TrainingSet, train_rows: np.ndarray) -> Standardisation:
        """Statistics of every photo the head will see, labelled and anchors: those of a few labelled photos alone
        would blow up the inputs of every other photo."""
        pool = data.features[train_rows] if data.anchor_features is None else np.concatenate(
            [data.features[train_rows], data.anchor_features])
        return cls(pool.mean(axis=0), pool.std(axis=0) + 1e-6)

    def apply(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.mean) / self.sd).astype(np.float32)

    def fold(self, layers: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[np.ndarray, np.ndarray]]:
        """The same layers on raw features: W' = W / sd, b' = b - W' mean in the first layer."""
        w0, b0 = layers[0]
        w0f = w0 / self.sd[None, :]
        return [(w0f.astype(np.float32), (b0 - w0f @ self.mean).astype(np.float32)), *layers[1:]]


@dataclass(frozen=True)
class Labelled:
    """The labelled photos and the word vectors as tensors: standardised features, ConSE mix, label index."""

    features: torch.Tensor  # (N, F) standardised
    conse: torch.Tensor  # (N, D)
    y: torch.Tensor  # (N,) int64
    labels: torch.Tensor  # (L, D) unit label vectors
    negatives: torch.Tensor  # (V, D) unit vocabulary vectors

    @classmethod
    def of(cls, data: TrainingSet, std: Standardisation) -> Labelled:
        import torch

        return cls(torch.from_numpy(std.apply(data.features)), torch.from_numpy(np.asarray(data.conse, np.float32)),
                   torch.from_numpy(np.asarray(data.y, np.int64)),
                   torch.from_numpy(np.asarray(data.label_vectors, np.float32)),
                   torch.from_numpy(np.asarray(data.negative_vectors, np.float32)))


@dataclass(frozen=True)
class Anchors:
    """Unlabelled photos that hold the zero-training embedding in place, split into training and validation rows."""

    features: torch.Tensor  # (A, F) standardised
    conse: torch.Tensor  # (A, D) ConSE mix
    zero: torch.Tensor  # (A, D) unit: where the zero-training model puts them
    train_rows: np.ndarray
    val_rows: np.ndarray
    reliable: torch.Tensor  # (A, L) bool: the photo is a reliable negative for the label (``reliable_negatives``)

    @classmethod
    def of(cls, data: TrainingSet, config: TrainConfig, std: Standardisation, train_rows: np.ndarray) -> Anchors | None:
        """None when there are no anchors or their weight is off."""
        if not (data.anchor_features is not None and len(data.anchor_features) and config.anchor_weight > 0):
            return None
        import torch

        order = np.random.default_rng(config.seed + 7).permutation(len(data.anchor_features))
        n_val = max(1, int(len(order) * config.val_fraction))
        features = std.apply(data.anchor_features)
        conse = torch.from_numpy(np.asarray(data.anchor_conse, np.float32))
        reliable = reliable_negatives(std.apply(data.features[train_rows]), data.y[train_rows], features,
                                      len(data.label_texts))
        return cls(torch.from_numpy(features), conse, torch.nn.functional.normalize(conse, dim=-1), order[n_val:],
                   order[:n_val], torch.from_numpy(reliable))


@dataclass
class HeadFit:
    """One training run's state: the residual module and its optimiser, the inputs, and the validation set."""

    config: TrainConfig
    layer: torch.nn.Module  # the residual (``tagger.engine.projection.residual_head``)
    optimiser: torch.optim.Optimizer
    inputs: Labelled
    val_rows: np.ndarray
    # validation candidates: the labels and a fixed sample of other words, so that accuracy means something even
    # for a single label ("is this photo zorblax rather than anything else?")
    val_negatives: torch.Tensor
    anchors: Anchors | None

    @property
    def last(self) -> torch.nn.Linear:
        """The residual's last layer, the one weight decay pulls toward zero."""
        return self.layer if self.config.hidden <= 0 else self.layer[-1]

    def embed(self, rows) -> torch.Tensor:
        """Unit embeddings of labelled photos ``rows``: normalize(ConSE + residual)."""
        import torch

        return torch.nn.functional.normalize(self.inputs.conse[rows] + self.layer(self.inputs.features[rows]), dim=-1)

    def anchor_loss(self, rows, emb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """Unlabelled photos stay where the zero-training model put them (drift), and rank below the labelled
        photos for their labels (photo-side hinge: an unlabelled photo is most likely not "zorblax")."""
        import torch

        a, cfg, labels = self.anchors, self.config, self.inputs.labels
        rows = torch.from_numpy(np.asarray(rows))
        e = torch.nn.functional.normalize(a.conse[rows] + self.layer(a.features[rows]), dim=-1)
        ok = a.reliable[rows]  # (A, L): anchor is a reliable negative for the label
        drift = ((1 - (e * a.zero[rows]).sum(-1)) * ok.all(1)).sum() / ok.all(1).sum().clamp(min=1)
        true = (emb * labels[yb]).sum(-1, keepdim=True)  # (B, 1)
        other = labels[yb] @ e.T  # (B, A): each anchor's score for the photo's label
        mask = ok[:, yb].T.float()
        hinge = (torch.clamp(cfg.margin - true + other, min=0) * mask).sum() / mask.sum().clamp(min=1)
        return cfg.anchor_weight * drift + cfg.photo_negative_weight * hinge

    def validate(self) -> tuple[float, float]:
        """(top-1 accuracy among the labels and VAL_NEGATIVES words, loss) on the validation photos."""
        import torch

        val, y, labels = self.val_rows, self.inputs.y, self.inputs.labels
        self.layer.eval()
        with torch.no_grad():
            emb = self.embed(val)
            candidates = torch.cat([labels, self.val_negatives])
            acc = float(((emb @ candidates.T).argmax(1) == y[val]).float().mean())
            loss = float(hinge_rank_loss(emb, y[val], labels, self.val_negatives, self.config.margin))
            if self.anchors is not None:
                loss += float(self.anchor_loss(self.anchors.val_rows, emb, y[val]))
        self.layer.train()
        return acc, loss

    def epoch(self, train_rows: np.ndarray, rng: np.random.Generator,
              should_stop: Callable[[], bool] | None) -> float:
        """One shuffled pass (repeated up to MIN_STEPS_PER_EPOCH batches: a folder of 20 photos would otherwise get
        one step an epoch and stop long before it learnt anything); the mean batch loss."""
        import torch

        cfg = self.config
        repeats = max(1, -(-MIN_STEPS_PER_EPOCH * cfg.batch_size // max(1, len(train_rows))))
        order = np.concatenate([rng.permutation(train_rows) for _ in range(repeats)])
        total, batches = 0.0, 0
        for lo in range(0, len(order), cfg.batch_size):
            if should_stop is not None and should_stop():
                raise Cancelled()
            total += self.step(torch.from_numpy(order[lo:lo + cfg.batch_size]), rng)
            batches += 1
        return total / max(1, batches)

    def step(self, batch: torch.Tensor, rng: np.random.Generator) -> float:
        """One optimiser step on a batch of labelled rows (vocabulary negatives and anchors drawn from ``rng``)."""
        cfg, y = self.config, self.inputs.y
        emb = self.embed(batch)
        negatives = _sample(self.inputs.negatives, cfg.vocab_negatives, rng)
        loss = hinge_rank_loss(emb, y[batch], self.inputs.labels, negatives, cfg.margin)
        loss = loss + cfg.weight_decay * (self.last.weight ** 2).sum()
        if self.anchors is not None:
            rows = self.anchors.train_rows
            loss = loss + self.anchor_loss(rng.choice(rows, min(len(rows), cfg.batch_size)), emb, y[batch])
        self.optimiser.zero_grad()
        loss.backward()
        self.optimiser.step()
        return float(loss.detach())

    def layers(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The residual's linear layers as (weight, bias) float32 arrays, still in standardised-feature space."""
        import torch

        linears = [self.layer] if self.config.hidden <= 0 else [m for m in self.layer if isinstance(m, torch.nn.Linear)]
        return [(m.weight.detach().numpy().astype(np.float32), m.bias.detach().numpy().astype(np.float32))
                for m in linears]


def _train_head(data: TrainingSet, config: TrainConfig, progress: ProgressFn | None,
                should_stop: Callable[[], bool] | None, on_epoch: Callable[[dict], None] | None) -> TrainedHead:
    import torch

    from tagger.engine.projection import residual_head

    start = time.perf_counter()
    torch.manual_seed(config.seed)  # the first layer's initial weights and dropout
    rng = np.random.default_rng(config.seed)  # batch order, sampled negatives and anchors
    tr, val = stratified_split(data.y, config.val_fraction, config.seed)
    if len(val) == 0:  # tiny label sets: validate on the training photos rather than not at all
        val = tr
    std = Standardisation.of(data, tr)
    inputs = Labelled.of(data, std)
    layer = residual_head(inputs.features.shape[1], inputs.labels.shape[1], config.hidden)
    fit = HeadFit(config, layer, torch.optim.Adam(layer.parameters(), lr=config.lr), inputs, val,
                  _sample(inputs.negatives, VAL_NEGATIVES, np.random.default_rng(config.seed + 99)),
                  Anchors.of(data, config, std, tr))

    before, best_loss = fit.validate()
    best = before
    stopper = EarlyStopping(layer, config.patience)
    history: list[dict] = []
    for epoch in range(1, config.epochs + 1):
        loss = fit.epoch(tr, rng, should_stop)
        acc, val_loss = fit.validate()
        history.append({"epoch": epoch, "loss": loss, "val_loss": val_loss, "val_acc": acc})
        if on_epoch:
            on_epoch(history[-1])
        if progress:
            progress("training", epoch, config.epochs)
        # a better accuracy wins; at the same accuracy, a clearly lower validation loss
        improved = acc > best + 1e-9 or (acc > best - 1e-9 and val_loss < best_loss - 1e-4)
        if improved:
            best, best_loss = acc, val_loss
        if stopper.step(epoch, improved):
            break
    stopper.restore()
    return TrainedHead(std.fold(fit.layers()), list(data.label_texts), history, before, best, stopper.best_epoch,
                       time.perf_counter() - start, len(tr), len(val))


# ---------------------------------------------------------------------------- losses, negatives, early stopping


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


def labels_vocabulary_negatives(vocab_vectors: np.ndarray, label_vectors: np.ndarray, max_cos: float = 0.9,
                                limit: int = 20000, seed: int = 0) -> np.ndarray:
    """Vocabulary words usable as negatives: not (near-)synonyms of any label, so "kitten" is never pushed away from
    a photo labelled "cat"."""
    rng = np.random.default_rng(seed)
    rows = rng.permutation(len(vocab_vectors))[:limit]
    cand = vocab_vectors[rows]
    keep = (cand @ label_vectors.T).max(axis=1) < max_cos if len(label_vectors) else np.ones(len(cand), bool)
    return cand[keep]
