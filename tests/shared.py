"""Helpers the tests (and bench/crash_harness.py, bench/fuzz_decode.py) share: where the project's shared, read-only
data sets are (``../shared/data`` next to the checkout, or ``TAGGER_SHARED_DATA``), so that tests needing them skip
cleanly when they are absent, and a digest of a folder to prove that nothing was written to it.

Import it as ``from tests.shared import ...`` from any depth: the repository root is on ``sys.path`` under pytest.
Fixtures live in the conftest.py files, not here."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

SHARED = Path(os.environ["TAGGER_SHARED_DATA"]) if os.environ.get("TAGGER_SHARED_DATA") else (
    Path(__file__).resolve().parents[1].parent / "shared" / "data")
CALTECH = SHARED / "caltech101"
PHOTO_FOLDER = SHARED / "photo_folder"


def digests(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root``, by relative path: proof that nothing was written."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def ids_by_folder(catalog) -> dict[str, list[int]]:
    """The indexed photo ids of a catalog by the name of their folder (a Caltech class), in id order."""
    out: dict[str, list[int]] = {}
    for pid, path in sorted(catalog.photo_paths(catalog.indexed_ids()).items()):
        out.setdefault(path.parent.name, []).append(pid)
    return out


def caltech_files(folder: str, n: int) -> list[Path]:
    """The first ``n`` photos of a Caltech-101 class folder; skips the calling test when the data set is absent."""
    import pytest  # here, not at the top: the bench scripts import this module without pytest

    files = sorted((CALTECH / folder).glob("*.jpg"))[:n]
    if len(files) < n:
        pytest.skip(f"shared Caltech-101 data not available at {CALTECH}")
    return files


LIGHTROOM_SIDECAR = """<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="Adobe XMP Core 7.0-c000">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:lr="http://ns.adobe.com/lightroom/1.0/">
   <dc:subject><rdf:Bag>{flat}</rdf:Bag></dc:subject>
   <lr:hierarchicalSubject><rdf:Bag>{paths}</rdf:Bag></lr:hierarchicalSubject>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>"""


def lightroom_sidecar(photo: Path, *keywords: str) -> None:
    """What Lightroom writes next to a photo (``photo.jpg.xmp``): each hierarchical keyword's path in
    lr:hierarchicalSubject, every level of every keyword in dc:subject."""
    flat = list(dict.fromkeys(part for k in keywords for part in k.split("|")))
    (photo.parent / (photo.name + ".xmp")).write_text(LIGHTROOM_SIDECAR.format(
        flat="".join(f"<rdf:li>{w}</rdf:li>" for w in flat),
        paths="".join(f"<rdf:li>{k}</rdf:li>" for k in keywords if "|" in k)), encoding="utf-8")


def cli_json(capsys, *argv: str) -> object:
    """Run ``tagger ARGV...`` (with ``--json``) in-process; its exit must be 0; what it printed, parsed."""
    import json

    from tagger.cli import main

    code = main(list(argv))
    out = capsys.readouterr().out
    assert code == 0, out
    return json.loads(out)


def fit_until_stopped(*args, should_stop, **kwargs):
    """Stands in for ``fit_open_set`` in tests of cancelling: a long fit that stops when asked, as the real one does
    between folds (monkeypatch it onto ``tagger.training.retrain``)."""
    import time

    from tagger.progress import Cancelled

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if should_stop():
            raise Cancelled()
        time.sleep(0.01)
    raise AssertionError("the training was never asked to stop")
