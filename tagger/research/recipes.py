"""The seed documents' recipes, reimplemented on our features as baselines for ``tagger eval --train``.

Each maps backbone features straight into the word space (replacing ConSE) and is scored by cosine with the label
vectors, as in its source:
- ``seed_mlp``: the seed article's ImgToWord MLP: fully connected blocks (Linear + LeakyReLU(0.2) + Dropout(0.1))
  with the article's width ratios (2048 -> 6144 -> 4096 -> 1024 -> 300 becomes F -> 3F -> 2F -> F/2 -> D),
  CosineEmbeddingLoss with target +1, Adam 1e-3; best checkpoint on the validation split (the article trains 2,000
  epochs; we stop early).
- ``devise_linear``: DeViSE's linear projection with the hinge rank loss (margin 0.1).
- ``uw_loss``: the UW paper's loss 1 - cos(x^, x) + max(0, cos(x^, x') - margin) with x' a random wrong label.
The zero-training recipe (ConSE) needs no code here: it is the untrained model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tagger.training.trainer import (
    EarlyStopping,
    TrainConfig,
    TrainingSet,
    hinge_rank_loss,
    single_threaded_torch,
    stratified_split,
)


@dataclass
class Projector:
    """A trained features -> word-space map (numpy in, unit vectors out)."""

    name: str
    model: object
    mu: np.ndarray
    sd: np.ndarray
    best_epoch: int
    val_acc: float

    def __call__(self, features: np.ndarray) -> np.ndarray:
        import torch

        self.model.eval()
        with torch.no_grad():
            x = torch.from_numpy(((features - self.mu) / self.sd).astype(np.float32))
            e = self.model(x)
            return torch.nn.functional.normalize(e, dim=-1).numpy()


def _mlp(fdim: int, dim: int):
    import torch.nn as nn

    widths = [fdim, 3 * fdim, 2 * fdim, fdim // 2]
    layers: list = []
    for a, b in zip(widths, widths[1:]):
        layers += [nn.Linear(a, b), nn.LeakyReLU(0.2), nn.Dropout(0.1)]
    return nn.Sequential(*layers, nn.Linear(widths[-1], dim))


def _fit(name: str, model, loss_fn: Callable, data: TrainingSet, config: TrainConfig, max_epochs: int) -> Projector:
    with single_threaded_torch():
        return _fit_one_thread(name, model, loss_fn, data, config, max_epochs)


def _fit_one_thread(name: str, model, loss_fn: Callable, data: TrainingSet, config: TrainConfig,
                    max_epochs: int) -> Projector:
    import torch

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    tr, val = stratified_split(data.y, config.val_fraction, config.seed)
    val = val if len(val) else tr
    mu, sd = data.features[tr].mean(0), data.features[tr].std(0) + 1e-6
    x = torch.from_numpy(((data.features - mu) / sd).astype(np.float32))
    y = torch.from_numpy(np.asarray(data.y, np.int64))
    labels = torch.from_numpy(np.asarray(data.label_vectors, np.float32))
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)

    def val_acc() -> float:
        model.eval()
        with torch.no_grad():
            e = torch.nn.functional.normalize(model(x[val]), dim=-1)
            acc = float(((e @ labels.T).argmax(1) == y[val]).float().mean())
        model.train()
        return acc

    best, stopper = -1.0, EarlyStopping(model, config.patience)
    model.train()
    for epoch in range(1, max_epochs + 1):
        order = rng.permutation(tr)
        for lo in range(0, len(order), config.batch_size):
            bi = torch.from_numpy(order[lo:lo + config.batch_size])
            loss = loss_fn(model(x[bi]), y[bi], labels, rng)
            opt.zero_grad()
            loss.backward()
            opt.step()
        acc = val_acc()
        improved = acc > best
        best = max(best, acc)
        if stopper.step(epoch, improved):
            break
    stopper.restore()
    return Projector(name, model, mu, sd, stopper.best_epoch, best)


def seed_mlp(data: TrainingSet, config: TrainConfig = TrainConfig(), max_epochs: int = 200) -> Projector:
    import torch

    def loss(out, y, labels, rng):
        return torch.nn.functional.cosine_embedding_loss(out, labels[y], torch.ones(len(y)))

    return _fit("seed_mlp", _mlp(data.features.shape[1], data.label_vectors.shape[1]), loss, data, config, max_epochs)


def devise_linear(data: TrainingSet, config: TrainConfig = TrainConfig(), max_epochs: int = 200) -> Projector:
    import torch

    negatives = torch.from_numpy(np.asarray(data.negative_vectors, np.float32))

    def loss(out, y, labels, rng):
        emb = torch.nn.functional.normalize(out, dim=-1)
        k = min(config.vocab_negatives, len(negatives))
        negs = negatives[torch.from_numpy(rng.integers(0, len(negatives), k))] if k else negatives[:0]
        return hinge_rank_loss(emb, y, labels, negs, config.margin)

    model = torch.nn.Linear(data.features.shape[1], data.label_vectors.shape[1])
    return _fit("devise_linear", model, loss, data, config, max_epochs)


def uw_loss(data: TrainingSet, config: TrainConfig = TrainConfig(), max_epochs: int = 200) -> Projector:
    import torch

    def loss(out, y, labels, rng):
        n_labels = len(labels)
        wrong = (y + torch.from_numpy(rng.integers(1, max(2, n_labels), len(y)))) % n_labels
        cos_true = torch.nn.functional.cosine_similarity(out, labels[y])
        cos_wrong = torch.nn.functional.cosine_similarity(out, labels[wrong])
        return (1 - cos_true + torch.clamp(cos_wrong - config.margin, min=0)).mean()

    model = torch.nn.Linear(data.features.shape[1], data.label_vectors.shape[1])
    return _fit("uw_loss", model, loss, data, config, max_epochs)


RECIPES = {"seed_mlp": seed_mlp, "devise_linear": devise_linear, "uw_loss": uw_loss}
