"""From ImageNet logits and backbone features to a vector in word space.

The default needs no training data: ConSE (Norouzi et al. 2014) mixes the word vectors of the classifier's top-T
classes, weighted by their renormalised softmax probabilities. A DeViSE-style head on the backbone features (one
hidden layer, LeakyReLU 0.2) is added as a residual whose last layer starts at zero, so an untrained model outputs
exactly ConSE and retraining only learns a correction. Every trained version is this same graph with other weights
(``tagger.training.versions`` swaps the initializers), so a version costs a file copy, not a re-export.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tagger.engine.head import LEAKY_SLOPE, RESIDUAL_HIDDEN


class ConSE(nn.Module):
    """Convex combination of the top-T class vectors; class vectors are a fixed buffer, not learned."""

    def __init__(self, class_vectors: torch.Tensor, top_t: int = 10, temperature: float = 1.0):
        super().__init__()
        if class_vectors.ndim != 2:
            raise ValueError("class_vectors must be (classes, dim)")
        self.register_buffer("class_vectors", class_vectors.float().contiguous())
        self.top_t = int(top_t)
        self.temperature = float(temperature)

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        probs = torch.softmax(logits / self.temperature, dim=-1)
        top_p, top_i = torch.topk(probs, self.top_t, dim=-1)
        weights = top_p / top_p.sum(dim=-1, keepdim=True)
        return torch.einsum("nt,ntd->nd", weights, self.class_vectors[top_i])


def residual_head(feature_dim: int, dim: int, hidden: int = RESIDUAL_HIDDEN, dropout: float = 0.1) -> nn.Module:
    """The trainable residual (hidden > 0: Linear-LeakyReLU-Dropout-Linear; 0: one Linear, DeViSE's projection),
    last layer zeroed so that it adds nothing until trained."""
    if hidden <= 0:
        head = nn.Linear(feature_dim, dim)
        nn.init.zeros_(head.weight)
        nn.init.zeros_(head.bias)
        return head
    head = nn.Sequential(nn.Linear(feature_dim, hidden), nn.LeakyReLU(LEAKY_SLOPE), nn.Dropout(dropout),
                         nn.Linear(hidden, dim))
    nn.init.zeros_(head[-1].weight)
    nn.init.zeros_(head[-1].bias)
    return head


class Projection(nn.Module):
    """ConSE plus the zero-initialised residual head on the features; output is unit-norm."""

    def __init__(self, conse: ConSE, feature_dim: int, hidden: int = RESIDUAL_HIDDEN):
        super().__init__()
        self.conse = conse
        dim = conse.class_vectors.shape[1]
        torch.manual_seed(0)  # the (inert) first layer's weights: reproducible graphs
        self.residual = residual_head(feature_dim, dim, hidden)

    @property
    def dim(self) -> int:
        return int(self.conse.class_vectors.shape[1])

    def forward(self, features: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.conse(logits) + self.residual(features), dim=-1, eps=1e-12)


class TaggerNet(nn.Module):
    """Pixels -> (backbone features, word-space embedding, ImageNet logits): the one graph that is exported."""

    def __init__(self, backbone: nn.Module, projection: Projection):
        super().__init__()
        self.backbone = backbone
        self.projection = projection

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        fmap = self.backbone.forward_features(pixels)
        features = self.backbone.forward_head(fmap, pre_logits=True)
        logits = self.backbone.get_classifier()(features)
        return features, self.projection(features, logits), logits
