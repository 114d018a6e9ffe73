"""Crash safety, quickly: the harness of bench/crash_harness.py with a few SIGKILLs (the bench does >= 20 each).

Indexing is killed at seeded random moments and resumed; after every kill the catalog passes integrity_check, holds
no duplicate photo, has vectors and a thumbnail for every indexed photo, and keeps every user tag and label; the
final catalog equals a clean run's. Training is killed at random moments and right while a new version is written
and switched: the active model stays usable every time."""

from __future__ import annotations

import pytest

from bench import crash_harness
from tests.shared import CALTECH, PHOTO_FOLDER


@pytest.fixture(autouse=True)
def _needs_data():
    if not (CALTECH.is_dir() and PHOTO_FOLDER.is_dir()):
        pytest.skip("shared data not available")


def test_indexing_survives_sigkill_at_random_moments(tmp_path, engine):
    out = crash_harness.index_kill_harness(tmp_path, kills=5, seed=1, per_stage=24, log=print)
    print({k: v for k, v in out.items() if k != "details"})
    assert out["kills"] == 5 and out["survived"] == 5, out["details"]
    assert out["final_problems"] == []
    assert out["equal_to_clean_run"] == {"counts": True, "rows": True, "xmp_tags": True}
    assert out["user_tags_checked"] > 0 and out["labels_checked"] > 0


@pytest.mark.slow
def test_training_keeps_a_usable_active_model_when_killed(tmp_path, engine):
    out = crash_harness.train_kill_harness(tmp_path, kills=2, seed=0, photos=6, fast=True, engine=engine, log=print)
    print({k: v for k, v in out.items() if k != "details"})
    assert out["kills"] == 2 and out["survived"] == 2, out["details"]
    assert out["kills_at_export"] == 1
    assert out["final_problems"] == [] and out["final_active_version"] >= 2
