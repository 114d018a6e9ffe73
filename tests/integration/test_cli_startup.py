"""Issue 16 ("speed"): a command imports only what it needs, and `status` reports the model without loading it."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("onnxruntime", "scipy", "sqlite_utils", "tagger.engine.imageio", "tagger.cli.eval_command",
         "tagger.training.retrain", "tagger.engine.core")

PROBE = """
import io, json, sys
from contextlib import redirect_stdout
from tagger.cli import main
out = io.StringIO()
with redirect_stdout(out):
    code = main(sys.argv[1:]) if len(sys.argv) > 1 else 0
print(json.dumps({"code": code, "out": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def _probe(*argv: str) -> dict:
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_importing_the_cli_loads_no_command_module():
    got = _probe()
    assert not [m for m in got["modules"] if m.startswith(HEAVY) or m.endswith("_commands")]


def test_status_names_the_model_and_version_without_loading_the_engine(caltech_catalog, engine):
    got = _probe("--db", str(caltech_catalog), "status")
    assert got["code"] == 0
    assert f"model {engine.model_id}, untrained" in got["out"] and "48 indexed" in got["out"]
    assert not [m for m in got["modules"] if m.startswith(("onnxruntime", "tagger.engine.core", "scipy"))]


def test_status_verbose_and_json_still_say_the_provider(caltech_catalog, engine):
    got = _probe("--db", str(caltech_catalog), "status", "--verbose")
    assert f"model {engine.model_id}, untrained on CPUExecutionProvider" in got["out"]


def test_status_reads_no_photo_or_sidecar_code(caltech_catalog, engine):
    """`status` reports counts and settings; the image decoder, the XMP parser and fastText are not its business."""
    got = _probe("--db", str(caltech_catalog), "status")
    assert got["code"] == 0
    assert not [m for m in got["modules"]
                if m.startswith(("PIL", "fasttext", "tagger.engine.imageio", "tagger.library.xmp", "xml.etree"))]


def test_search_uses_the_mapped_word_vectors_not_fasttext(caltech_catalog, engine):
    """After the first load built the memory-mapped copy beside the word space, a search never loads fastText."""
    _probe("--db", str(caltech_catalog), "search", "dog")
    got = _probe("--db", str(caltech_catalog), "search", "boats at sunset")
    assert got["code"] == 0
    assert "fasttext" not in got["modules"]


def test_importing_scoring_does_not_import_scipy():
    """Scoring is reached by commands that never build a sparse matrix; scipy (0.4 s) waits until one does."""
    code = ("import sys, tagger.engine.scoring; "
            "print([m for m in sys.modules if m.startswith('scipy')])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_status_reads_the_catalog_without_sqlite_utils(caltech_catalog, engine):
    """`status` reads counts through the plain sqlite3 connection: sqlite-utils (click, dateutil, pluggy: 0.1-0.2 s)
    is for what asks for its table helpers."""
    got = _probe("--db", str(caltech_catalog), "status")
    assert got["code"] == 0 and "48 indexed" in got["out"]
    assert not [m for m in got["modules"] if m.startswith("sqlite_utils")]


def test_opening_a_catalog_imports_neither_numpy_nor_sqlite_utils(tmp_path):
    """Opening (and creating, i.e. migrating) a catalog and counting its photos needs neither numpy (0.1-0.2 s) nor
    sqlite-utils; both load when a vector is read or a table helper is asked for."""
    code = ("import sys; from tagger.library.catalog import Catalog; "
            f"c = Catalog.open({str(tmp_path / 'c.db')!r}); print(c.schema_version, c.counts()); "
            "print([m for m in sys.modules if m.startswith(('numpy', 'sqlite_utils'))]); "
            "print('photos' in c.db.table_names(), 'sqlite_utils' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    version, modules, helpers = done.stdout.strip().splitlines()
    assert int(version.split()[0]) > 0
    assert modules == "[]"
    assert helpers == "True True"


def test_text_search_loads_no_inference_runtime_scipy_or_fasttext(caltech_catalog, engine):
    """A text query is word vectors against stored embeddings and class evidence: no onnxruntime session, no sparse
    matrix (scipy, 0.4 s to import), no fastText, and nothing of training."""
    _probe("--db", str(caltech_catalog), "search", "dog")  # the first run may build the mapped word vectors
    for query in ("dog", "boats at sunset"):
        got = _probe("--db", str(caltech_catalog), "search", query)
        assert got["code"] == 0
        assert got["out"].strip()
        banned = ("onnxruntime", "scipy", "fasttext", "tagger.training")
        assert not [m for m in got["modules"] if m.startswith(banned)], query
