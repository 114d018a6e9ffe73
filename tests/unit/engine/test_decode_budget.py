"""Decode memory (issue 12, item 11): photos whose decoded pixels are huge wait for a shared budget instead of all
decoding at once, and files that cannot be photos are refused from their header before the rest is read."""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

from tagger.engine import imageio
from tagger.engine.decode_budget import DecodeBudget
from tagger.engine.imageio import ImageDecodeError, Preprocessing, decode_cost, iter_batches, read_header, read_photo

PREP = Preprocessing()
MB = 2**20


def _jpeg(size=(64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (120, 80, 40)).save(out, "JPEG")
    return out.getvalue()


def _png_header(width: int, height: int, color_type: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0))


def _refusal(path: Path) -> str | None:
    """Why reading ``path`` as a photo is refused from its header (None: it was read)."""
    try:
        with open(path, "rb") as fh, read_photo(fh, *imageio.decode_sizes(PREP)):
            return None
    except ImageDecodeError as exc:
        return exc.reason


# ------------------------------------------------------------------ the budget itself


def _run_holds(budget: DecodeBudget, costs: list[int], hold_s: float = 0.15) -> tuple[int, list[int]]:
    """Hold each cost from its own thread (started in order); returns the most holders at once and the start order."""
    lock = threading.Lock()
    state = {"now": 0, "most": 0}
    order: list[int] = []

    def work(i: int, cost: int) -> None:
        with budget.hold(cost):
            with lock:
                state["now"] += 1
                state["most"] = max(state["most"], state["now"])
                order.append(i)
            time.sleep(hold_s)
            with lock:
                state["now"] -= 1

    threads = []
    for i, cost in enumerate(costs):
        threads.append(threading.Thread(target=work, args=(i, cost)))
        threads[-1].start()
        time.sleep(0.02)  # start in a known order
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads), "a hold never got the budget"
    return state["most"], order


def test_small_costs_share_the_budget_and_big_ones_go_one_at_a_time():
    budget = DecodeBudget(100)
    assert _run_holds(budget, [30, 30, 30])[0] == 3
    assert _run_holds(budget, [60, 60, 60])[0] == 1
    assert budget.peak <= 100


def test_one_photo_over_the_whole_budget_still_decodes_alone():
    budget = DecodeBudget(100)
    most, order = _run_holds(budget, [10, 500, 10])
    assert sorted(order) == [0, 1, 2] and most <= 2
    assert budget.held == 0


def test_a_big_photo_is_not_starved_by_a_stream_of_small_ones():
    """First come, first served: once the big one waits, later small ones queue behind it."""
    budget = DecodeBudget(100)
    _, order = _run_holds(budget, [40, 40, 90, 40, 40])
    assert order.index(2) < order.index(3) and order.index(2) < order.index(4)


# ------------------------------------------------------------------ decoding threads within the budget


def _big_pngs(folder: Path, n: int, side: int) -> list[Path]:
    folder.mkdir()
    img = Image.merge("RGBA", [Image.linear_gradient("L").resize((side, side))] * 3 + [Image.new("L", (side, side), 9)])
    img.save(folder / "p0.png")
    data = (folder / "p0.png").read_bytes()
    paths = [folder / f"p{i}.png" for i in range(n)]
    for i, p in enumerate(paths[1:], 1):
        p.write_bytes(data + bytes(i))  # different content: the indexer decodes each
    return paths


def _count_concurrent(monkeypatch, module, name: str) -> dict[str, int]:
    """Wrap ``module.name`` to record the most calls running at once (each made to last 0.2 s at least)."""
    lock = threading.Lock()
    state = {"now": 0, "most": 0}
    real = getattr(module, name)

    def counting(*args, **kwargs):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        try:
            time.sleep(0.2)
            return real(*args, **kwargs)
        finally:
            with lock:
                state["now"] -= 1

    monkeypatch.setattr(module, name, counting)
    return state


def _cost(path: Path) -> int:
    size = path.stat().st_size
    with open(path, "rb") as fh:
        return decode_cost(read_header(fh, size), size, *imageio.decode_sizes(PREP))


def test_big_photos_wait_for_the_budget_instead_of_decoding_all_at_once(tmp_path, monkeypatch):
    paths = _big_pngs(tmp_path / "big", 4, 1500)
    cost = _cost(paths[0])
    assert cost >= 1500 * 1500 * 8  # RGBA held as decoded, then composited on an RGB background
    monkeypatch.setattr(imageio, "DECODE_BUDGET", DecodeBudget(int(cost * 1.5)))
    decoding = _count_concurrent(monkeypatch, imageio, "_decode")
    batches = list(iter_batches(paths, PREP, batch_size=4, workers=4))
    assert sum(len(b.indices) for b in batches) == 4 and not any(b.failures for b in batches)
    assert decoding["most"] == 1
    assert imageio.DECODE_BUDGET.peak <= int(cost * 1.5) and imageio.DECODE_BUDGET.held == 0


def test_small_photos_still_decode_in_parallel(tmp_path, monkeypatch):
    paths = _big_pngs(tmp_path / "small", 4, 200)
    monkeypatch.setattr(imageio, "DECODE_BUDGET", DecodeBudget(64 * MB))
    decoding = _count_concurrent(monkeypatch, imageio, "_decode")
    batches = list(iter_batches(paths, PREP, batch_size=4, workers=4))
    assert sum(len(b.indices) for b in batches) == 4
    assert decoding["most"] >= 2


def test_the_indexer_decodes_within_the_budget_and_refuses_junk_fast(engine, tmp_path, monkeypatch):
    """The indexer's own decoding threads (four here) share the budget too, and a junk file costs no time."""
    import tagger.library.indexer as indexer
    from tagger.library.catalog import Catalog

    paths = _big_pngs(tmp_path / "photos", 4, 1500)
    _jpeg_header_then_zeros(tmp_path / "photos" / "junk.jpg", 64 * MB)
    monkeypatch.setattr(imageio, "DECODE_BUDGET", DecodeBudget(int(_cost(paths[0]) * 1.5)))
    decoding = _count_concurrent(monkeypatch, indexer, "decode_photo")
    with Catalog.open(tmp_path / "c.db") as cat:
        start = time.perf_counter()
        stats = indexer.Indexer(cat, engine, workers=4).index([tmp_path / "photos"])
        elapsed = time.perf_counter() - start
        assert stats.indexed == 4 and stats.failed == 1
        [(path, reason)] = cat.failures()
    assert path.name == "junk.jpg" and reason.startswith("not an image"), reason
    assert decoding["most"] == 1
    assert elapsed < 30  # the 64 MB of junk alone took ~7 s before


def test_cost_estimates_come_from_the_header():
    huge_png = _png_header(13_000, 13_000, 6)  # RGBA: 169 MP under the pixel limit, a few MB on disk
    assert decode_cost(read_header(io.BytesIO(huge_png), 3 * MB), 3 * MB, 256, 320) >= 13_000**2 * 8
    gray_png = _png_header(4000, 3000, 0)
    assert 4000 * 3000 * 4 <= decode_cost(read_header(io.BytesIO(gray_png), MB), MB, 256, 320) < 4000 * 3000 * 8
    # a 24 MP JPEG decodes at 1/8 scale (DCT scaling): a few MB, not 96
    data = bytearray(_jpeg())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", 4000, 6000)
    header = read_header(io.BytesIO(bytes(data)), 8 * MB)
    assert (header.width, header.height) == (6000, 4000)
    assert decode_cost(header, 8 * MB, 256, 320) < 8 * MB + 4 * MB


# ------------------------------------------------------------------ absurd files refused from their header


def _jpeg_header_then_zeros(path: Path, size: int) -> None:
    data = _jpeg()
    with open(path, "wb") as fh:
        fh.write(data[:data.index(b"\xff\xda")])  # a real header up to the start of the image data
        fh.truncate(size)  # then zeros (a sparse file: no disk used)


def test_a_jpeg_header_followed_by_junk_is_refused_fast(tmp_path):
    """Pillow skips junk between JPEG markers one byte at a time: 1.5 GB of it took minutes."""
    path = tmp_path / "junk.jpg"
    _jpeg_header_then_zeros(path, 64 * MB)
    start = time.perf_counter()
    reason = _refusal(path)
    assert time.perf_counter() - start < 2.0
    assert reason == "not an image (a JPEG header followed by junk)"
    with pytest.raises(ImageDecodeError, match="JPEG header followed by junk"):  # from bytes too
        imageio.decode_photo(path.read_bytes(), PREP)


def test_a_file_far_larger_than_its_pixels_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "padded.jpg"
    path.write_bytes(_jpeg())
    with open(path, "r+b") as fh:
        fh.truncate(400 * MB)  # a 64x48 photo cannot need 400 MB
    reads: list[int] = []
    real_open = open

    class Spy:
        def __init__(self, fh):
            self.fh = fh

        def read(self, n=-1):
            data = self.fh.read(n)
            reads.append(len(data))
            return data

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    monkeypatch.setattr("builtins.open", lambda p, *a, **k: Spy(real_open(p, *a, **k)))
    start = time.perf_counter()
    reason = _refusal(path)
    assert time.perf_counter() - start < 2.0
    monkeypatch.undo()
    assert reason.startswith("too large for its pixels (400 MB for a 64x48 JPEG)"), reason
    assert 0 < sum(reads) < 4 * MB


def test_a_photo_with_a_modest_trailer_still_decodes(tmp_path):
    """Motion photos and HDR gain maps append data after the JPEG: a few MB beyond the pixels is normal."""
    path = tmp_path / "motion.jpg"
    path.write_bytes(_jpeg() + bytes(8 * MB))
    assert imageio.load_for_network(path, PREP).shape == (3, 224, 224)


@pytest.mark.parametrize("side", [20_000])
def test_bombs_are_refused_from_the_header_without_reading_the_file(tmp_path, side):
    path = tmp_path / "bomb.png"
    path.write_bytes(_png_header(side, side, 2))
    with open(path, "r+b") as fh:
        fh.truncate(300 * MB)
    start = time.perf_counter()
    reason = _refusal(path)
    assert time.perf_counter() - start < 2.0
    assert reason == f"decompression bomb refused ({side}x{side} pixels)"
