"""Fixtures of the engine tests alone."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def chelsea_png(tmp_path_factory) -> Path:
    """scikit-image's `chelsea` (a tabby cat), the reference photo for the backbone's preprocessing."""
    from PIL import Image
    from skimage import data

    path = tmp_path_factory.mktemp("img") / "chelsea.png"
    Image.fromarray(data.chelsea()).save(path)
    return path
