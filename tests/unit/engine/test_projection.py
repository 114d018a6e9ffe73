"""ConSE arithmetic and the zero-start residual head."""

from __future__ import annotations

import numpy as np
import torch

from tagger.engine.projection import ConSE, Projection


def test_conse_is_the_renormalised_top_t_mixture():
    class_vectors = torch.eye(4)  # class i -> axis i
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05]]))
    out = ConSE(class_vectors, top_t=2)(logits)
    assert torch.allclose(out, torch.tensor([[0.5 / 0.8, 0.3 / 0.8, 0.0, 0.0]]), atol=1e-6)


def test_conse_top_1_is_the_best_class_vector(rng):
    vecs = torch.from_numpy(rng.standard_normal((10, 5)).astype(np.float32))
    logits = torch.from_numpy(rng.standard_normal((3, 10)).astype(np.float32))
    out = ConSE(vecs, top_t=1)(logits)
    assert torch.allclose(out, vecs[logits.argmax(1)])


def test_temperature_flattens_the_mixture():
    vecs = torch.eye(3)
    logits = torch.tensor([[2.0, 1.0, 0.0]])
    sharp = ConSE(vecs, top_t=3, temperature=0.5)(logits)[0]
    flat = ConSE(vecs, top_t=3, temperature=4.0)(logits)[0]
    assert sharp[0] > flat[0] and sharp[2] < flat[2]
    assert torch.allclose(sharp.sum(), torch.tensor(1.0)) and torch.allclose(flat.sum(), torch.tensor(1.0))


def test_untrained_projection_equals_normalised_conse(rng):
    vecs = torch.from_numpy(rng.standard_normal((20, 8)).astype(np.float32))
    conse = ConSE(vecs, top_t=5)
    proj = Projection(conse, feature_dim=16)
    feats = torch.from_numpy(rng.standard_normal((4, 16)).astype(np.float32))
    logits = torch.from_numpy(rng.standard_normal((4, 20)).astype(np.float32))
    expected = torch.nn.functional.normalize(conse(logits), dim=-1)
    assert torch.allclose(proj(feats, logits), expected, atol=1e-6)
    assert torch.allclose(proj(feats, logits).norm(dim=-1), torch.ones(4), atol=1e-5)
    # the residual is what training changes: once it moves, the output moves
    with torch.no_grad():
        proj.residual[-1].bias.add_(1.0)  # the last layer of the head starts at zero
    assert not torch.allclose(proj(feats, logits), expected, atol=1e-3)
