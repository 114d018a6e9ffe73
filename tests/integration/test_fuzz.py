"""Fuzzing, quickly: 150 mutated real photos (bit flips, truncations, header swaps...) through the indexer's decode
path, each in a guarded worker with a 5 s limit, then the real indexer over all of them. The full run (>= 1,000
files) is `python bench/fuzz_decode.py`."""

from __future__ import annotations

import pytest

from bench import fuzz_decode as fz
from tests.shared import PHOTO_FOLDER


def test_mutants_are_deterministic_and_cover_every_mutation(tmp_path):
    if not PHOTO_FOLDER.is_dir():
        pytest.skip("shared photo folder not available")
    a = fz.make_corpus(tmp_path / "a", 21, seed=3)
    b = fz.make_corpus(tmp_path / "b", 21, seed=3)
    assert a == b and {c["mutation"] for c in a} == set(fz.MUTATIONS)
    assert all((tmp_path / "a" / c["name"]).read_bytes() == (tmp_path / "b" / c["name"]).read_bytes() for c in a)
    originals = {p.read_bytes() for p in fz.seed_files()}
    assert sum((tmp_path / "a" / c["name"]).read_bytes() in originals for c in a) <= 1


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow's notes on corrupt EXIF/TIFF tags: the app hides them too
def test_150_mutants_no_crash_no_hang_every_file_recorded(tmp_path, engine):
    if not PHOTO_FOLDER.is_dir():
        pytest.skip("shared photo folder not available")
    folder = tmp_path / "corpus"
    corpus = fz.make_corpus(folder, 150, seed=7)
    results = fz.fuzz(folder, [c["name"] for c in corpus], limit=5.0)
    out = fz.summarize(corpus, results, fz.index_corpus(folder, tmp_path / "fuzz.db", engine))
    print({k: v for k, v in out.items() if k != "crash_or_hang_files"})
    assert out["crashes"] == 0 and out["hangs"] == 0, out["crash_or_hang_files"]
    assert out["files"] == 150 and out["indexed"] + out["failed"] == 150 and out["failed_without_reason"] == 0
    assert out["indexed"] > 30 and out["failed"] > 30  # the mutations do break files, and not all of them
    assert out["indexer"]["every_file_recorded"] and out["indexer"]["failed_without_reason"] == 0
    assert out["indexer"]["disagreements_with_worker"] == []
