"""Decoding users' photos: one decode per photo, upright, by content, and every failure a short reason.

Most tests run on a copy of the shared real-world photo folder (camera JPEGs with all EXIF orientations, HEIC, AVIF,
TIFF, GIF, broken and mislabelled files); the rest on small files made here.
"""

from __future__ import annotations

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tagger.engine import imageio
from tagger.engine.imageio import (
    IMAGE_SUFFIXES,
    MAX_PIXELS,
    THUMB_SIZE,
    DecodedPhoto,
    ImageDecodeError,
    Preprocessing,
    decode_photo,
    iter_batches,
    load_for_network,
    open_upright,
    sniff,
    to_network_input,
)
from tests.shared import digests as _digests

# pillow-samples/hopper_bad_exif.jpg makes Pillow warn while it reads the EXIF; that file is there to do so
pytestmark = pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")
PREP = Preprocessing()
needs_heif = pytest.mark.skipif(imageio.pillow_heif is None, reason="pillow-heif not installed")

# The only files of the folder that are not usable photos, and why.
EXPECTED_FAILURES = {
    "broken-synthetic/zero_bytes.jpg": "empty file (0 bytes)",
    "broken-synthetic/text_not_image.jpg": "not an image (text)",
    "broken-synthetic/truncated_half_DSCN0010.jpg": "truncated or corrupt image data (",
    "broken-synthetic/header_only_DSCN0010.jpg": "truncated or corrupt image data (",
    "pillow-samples/broken.png": "truncated or corrupt image data (unreadable PNG header)",
    "pillow-samples/broken_data_stream.png": "truncated or corrupt image data (",
    "pillow-samples/decompression_bomb.gif": "decompression bomb refused (65535x66601 pixels)",
}
REASON_PREFIXES = ("empty file (", "not an image (", "truncated or corrupt image data (",
                   "decompression bomb refused (")


# ---------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def folder(photo_folder_copy) -> Path:
    """The session's private copy of the shared photo folder (the shared one is read-only and must stay untouched)."""
    return photo_folder_copy


@pytest.fixture(scope="module")
def digests_before(folder) -> dict[str, str]:
    return _digests(folder)


@pytest.fixture(scope="module")
def outcomes(folder, digests_before) -> dict[str, DecodedPhoto | str]:
    """Every file with an image extension, decoded once: the photo, or the failure reason."""
    out: dict[str, DecodedPhoto | str] = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix.lower() in IMAGE_SUFFIXES:
            try:
                out[path.relative_to(folder).as_posix()] = decode_photo(path.read_bytes(), PREP)
            except ImageDecodeError as exc:
                out[path.relative_to(folder).as_posix()] = exc.reason
    return out


def _photo(outcomes, name: str) -> DecodedPhoto:
    result = outcomes[name]
    assert isinstance(result, DecodedPhoto), f"{name}: {result}"
    return result


def _thumb(photo: DecodedPhoto) -> Image.Image:
    img = Image.open(io.BytesIO(photo.thumbnail))
    img.load()
    return img


def _jpeg(img: Image.Image, **save) -> bytes:
    out = io.BytesIO()
    img.save(out, "JPEG", **save)
    return out.getvalue()


def _png(img: Image.Image, **save) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG", **save)
    return out.getvalue()


def _gradient(w: int = 400, h: int = 300) -> Image.Image:
    """A picture whose orientation is visible: red grows to the right, green downwards."""
    x = np.linspace(0, 255, w, dtype=np.float32)[None, :].repeat(h, 0)
    y = np.linspace(0, 255, h, dtype=np.float32)[:, None].repeat(w, 1)
    return Image.fromarray(np.stack([x, y, np.full_like(x, 60)], -1).astype(np.uint8))


# ------------------------------------------------------------------------------------------ the shared folder


def test_every_image_file_decodes_or_has_a_sensible_reason(outcomes):
    assert len(outcomes) == 147
    for name, result in outcomes.items():
        if isinstance(result, str):
            assert result.startswith(REASON_PREFIXES), (name, result)
            assert len(result) < 160 and "\n" not in result and "Traceback" not in result, (name, result)
            continue
        assert result.pixels.shape == (3, PREP.input_size, PREP.input_size), name
        assert result.pixels.dtype == np.float32 and np.isfinite(result.pixels).all(), name
        thumb = _thumb(result)
        assert thumb.format == "JPEG" and thumb.mode == "RGB", name
        assert max(thumb.size) == min(THUMB_SIZE, max(result.width, result.height)), (name, thumb.size)
        # the thumbnail has the photo's upright aspect ratio
        assert abs(thumb.width / thumb.height - result.width / result.height) < 0.05 * result.width / result.height
        assert result.format in {"JPEG", "MPO", "PNG", "GIF", "WEBP", "TIFF", "HEIF", "AVIF"}, (name, result.format)


def test_exactly_the_broken_files_fail_with_their_reason(outcomes):
    failed = {name: r for name, r in outcomes.items() if isinstance(r, str)}
    assert set(failed) == set(EXPECTED_FAILURES)
    for name, expected in EXPECTED_FAILURES.items():
        assert failed[name].startswith(expected), (name, failed[name])
    assert "truncated" in failed["broken-synthetic/truncated_half_DSCN0010.jpg"]


def test_files_are_recognised_by_content_not_extension(outcomes):
    jpeg = _photo(outcomes, "broken-synthetic/jpeg_named_as.png")  # a copy of Landscape_6.jpg
    assert jpeg.format == "JPEG" and (jpeg.width, jpeg.height) == (1800, 1200)
    np.testing.assert_array_equal(jpeg.pixels, _photo(outcomes, "exif-orientation-examples/Landscape_6.jpg").pixels)
    png = _photo(outcomes, "broken-synthetic/png_named_as.jpg")  # a copy of hopper.png
    assert png.format == "PNG" and (png.width, png.height) == (128, 128)
    np.testing.assert_array_equal(png.pixels, _photo(outcomes, "pillow-samples/hopper.png").pixels)


def test_invalid_or_broken_exif_never_costs_the_photo(folder, outcomes):
    invalid = sorted((folder / "exif-samples/jpg/invalid").glob("*.jpg"))
    assert len(invalid) == 7
    for path in invalid:  # unreadable EXIF, good pixels: decoded at the size the header says, no date
        photo = _photo(outcomes, path.relative_to(folder).as_posix())
        with Image.open(path) as img:
            assert (photo.width, photo.height) == img.size
        assert photo.taken_at is None
    for name in ("pillow-samples/hopper_bad_exif.jpg", "pillow-samples/broken_exif_dpi.jpg",
                 "exif-samples/jpg/corrupted.jpg", "exif-samples/jpg/tests/42_IndexError.jpg",
                 "exif-samples/jpg/tests/87_OSError.jpg", "exif-samples/jpg/tests/36-memory_error.jpg"):
        _photo(outcomes, name)


@needs_heif
def test_heic_heif_avif(outcomes):
    iphone = _photo(outcomes, "exif-samples/heic/mobile/iphone_13_pro_max.HEIC")
    assert iphone.format == "HEIF" and (iphone.width, iphone.height) == (3024, 4032)  # portrait, as shot
    assert iphone.taken_at == "2022-02-16T12:55:41"
    assert _thumb(iphone).size == (240, 320)
    for name in ("exif-samples/heic/IMG_5195.HEIC", "exif-samples/heic/samplefilehub.heif",
                 "exif-samples/heic/mobile/HMD_Nokia_8.3_5G.heif",
                 "exif-samples/heic/mobile/HMD_Nokia_8.3_5G_hdr.heif"):
        assert _photo(outcomes, name).format == "HEIF"
    rotated = _photo(outcomes, "pillow-samples/avif_rot1mir0.avif")  # stored 427x640, irot/imir make it landscape
    assert rotated.format == "AVIF" and (rotated.width, rotated.height) == (640, 427)
    assert _photo(outcomes, "pillow-samples/avif_hopper.avif").format == "AVIF"


def test_gif_uses_the_first_frame(folder, outcomes):
    photo = _photo(outcomes, "pillow-samples/chi.gif")
    with Image.open(folder / "pillow-samples/chi.gif") as img:
        assert img.n_frames > 1
        first = img.convert("RGB")
        img.seek(img.n_frames // 2)
        middle = img.convert("RGB")
    np.testing.assert_array_equal(photo.pixels, to_network_input(first, PREP))
    assert np.abs(photo.pixels - to_network_input(middle, PREP)).max() > 0.1


def test_tiff(outcomes):
    photo = _photo(outcomes, "exif-samples/tiff/Crémieux11.tiff")
    assert photo.format == "TIFF" and (photo.width, photo.height) == (199, 47)
    assert photo.taken_at == "2012-01-09T22:52:11"  # TIFF DateTime, the only date it has
    assert all(_photo(outcomes, n).format == "TIFF" for n in outcomes if n.endswith(".tiff"))


@pytest.mark.parametrize("kind, size", [("Landscape", (1800, 1200)), ("Portrait", (1200, 1800))])
def test_all_eight_orientations_come_out_upright(outcomes, kind, size):
    def small(img: Image.Image) -> np.ndarray:  # coarse, so JPEG noise does not count
        return np.asarray(img.resize((24, 24), Image.Resampling.BOX), np.float32)

    reference = _thumb(_photo(outcomes, f"exif-orientation-examples/{kind}_1.jpg"))
    wrong = [np.abs(small(reference.transpose(t)) - small(reference)).mean() for t in Image.Transpose]
    assert min(wrong) > 25  # any rotation or flip is far from upright
    for k in range(9):  # 0 is an invalid orientation value: stored as is, which is upright here
        photo = _photo(outcomes, f"exif-orientation-examples/{kind}_{k}.jpg")
        assert (photo.width, photo.height) == size, k
        thumb = _thumb(photo)
        assert thumb.size == reference.size, k
        assert np.abs(small(thumb) - small(reference)).mean() < 5, k


def test_second_orientation_set_is_upright_too(outcomes):
    """exif-samples' set: each photo is nearer to upright number 1 than to any rotation or flip of it."""
    for kind in ("landscape", "portrait"):
        reference = _thumb(_photo(outcomes, f"exif-samples/jpg/orientation/{kind}_1.jpg"))
        candidates = [reference] + [reference.transpose(t) for t in Image.Transpose]
        for k in range(2, 9):
            thumb = _thumb(_photo(outcomes, f"exif-samples/jpg/orientation/{kind}_{k}.jpg"))
            errors = [np.abs(np.asarray(thumb.resize(c.size), np.float32) - np.asarray(c, np.float32)).mean()
                      for c in candidates]
            assert int(np.argmin(errors)) == 0, (kind, k, errors)


def test_taken_at(outcomes):
    assert _photo(outcomes, "exif-samples/jpg/Canon_40D.jpg").taken_at == "2008-05-30T15:56:01"
    assert _photo(outcomes, "exif-samples/jpg/gps/DSCN0010.jpg").taken_at == "2008-10-22T16:28:39"
    assert _photo(outcomes, "exif-samples/jpg/Nikon_D70.jpg").taken_at == "2008-03-15T09:52:01"  # no Digitized
    # no DateTimeOriginal or DateTimeDigitized: falls back to DateTime
    assert _photo(outcomes, "exif-samples/jpg/Canon_40D_photoshop_import.jpg").taken_at == "2008-07-31T10:05:49"
    assert _photo(outcomes, "pillow-samples/flower.webp").taken_at == "2003-12-14T12:01:44"  # WebP EXIF
    for name in ("pillow-samples/hopper.jpg", "pillow-samples/hopper.png", "exif-orientation-examples/Landscape_1.jpg"):
        assert _photo(outcomes, name).taken_at is None


def test_decoding_never_writes_to_the_users_files(folder, outcomes, digests_before):
    assert len(outcomes) == 147  # all decoded by the fixture
    for name in ("exif-orientation-examples/Landscape_6.jpg", "pillow-samples/chi.gif"):
        open_upright(folder / name, 256)
        load_for_network(folder / name, PREP)
    assert _digests(folder) == digests_before


def test_load_for_network_and_open_upright_share_decode_photo(folder, outcomes):
    for name in ("exif-orientation-examples/Portrait_5.jpg", "exif-samples/jpg/hdr/iphone_hdr_NO.jpg",
                 "pillow-samples/hopper.png", "exif-samples/tiff/BSG1.tiff", "pillow-samples/flower.webp"):
        np.testing.assert_array_equal(load_for_network(folder / name, PREP), _photo(outcomes, name).pixels)
    img = open_upright(folder / "exif-orientation-examples/Landscape_6.jpg", 256)  # stored 1200x1800, rotated
    assert img.mode == "RGB" and img.size == (450, 300)  # upright and DCT-scaled by 1/4
    assert open_upright(folder / "pillow-samples/hopper.png").size == (128, 128)


def test_sniff_on_real_files(folder):
    cases = {"exif-samples/jpg/Canon_40D.jpg": "jpeg", "pillow-samples/hopper.png": "png",
             "pillow-samples/chi.gif": "gif", "pillow-samples/flower.webp": "webp",
             "exif-samples/tiff/BSG1.tiff": "tiff", "exif-samples/heic/IMG_5195.HEIC": "heif",
             "exif-samples/heic/mobile/iphone_13_pro_max.HEIC": "heif",
             "exif-samples/heic/samplefilehub.heif": "heif", "pillow-samples/avif_hopper.avif": "avif",
             "broken-synthetic/jpeg_named_as.png": "jpeg", "broken-synthetic/png_named_as.jpg": "png",
             "broken-synthetic/text_not_image.jpg": None, "broken-synthetic/zero_bytes.jpg": None}
    for name, kind in cases.items():
        assert sniff((folder / name).read_bytes()[:32]) == kind, name


# ------------------------------------------------------------------------------------------ files made here


def test_sniff_on_made_files_and_junk():
    img = _gradient(32, 16)
    for fmt, kind in (("BMP", "bmp"), ("ICO", "ico"), ("TIFF", "tiff"), ("GIF", "gif"), ("WEBP", "webp")):
        out = io.BytesIO()
        img.save(out, fmt)
        assert sniff(out.getvalue()[:32]) == kind, fmt
    def ftyp(major: bytes, *compat: bytes) -> bytes:
        return struct.pack(">I", 16 + 4 * len(compat)) + b"ftyp" + major + b"\0\0\0\0" + b"".join(compat)

    assert sniff(ftyp(b"mif1", b"mif1", b"avif")) == "avif"
    assert sniff(ftyp(b"avis", b"avis", b"msf1")) == "avif"
    assert sniff(ftyp(b"msf1", b"msf1", b"hevc")) == "heif"
    assert sniff(ftyp(b"heix", b"mif1")) == "heif"
    for junk in (b"", b"\xff\xd8", b"hello world, not an image", b"BM but just text......", b"%PDF-1.7\n",
                 b"PK\x03\x04" + bytes(28), ftyp(b"isom", b"isom", b"mp42"), ftyp(b"qt  ", b"qt  "),
                 bytes(range(32)), b"\x00\x00\x01\x00" + bytes(28)):
        assert sniff(junk) is None, junk


def test_rgba_png_is_composited_on_white():
    img = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    img.paste((200, 0, 0, 255), (100, 50, 200, 150))
    photo = decode_photo(_png(img), PREP)
    assert photo.format == "PNG" and (photo.width, photo.height) == (300, 200)
    thumb = np.asarray(_thumb(photo), np.int16)
    assert np.abs(thumb[5, 5] - (255, 255, 255)).max() <= 3  # transparent: white, not black
    assert np.abs(thumb[100, 150] - (200, 0, 0)).max() <= 8
    assert photo.pixels[:, 0, 0] == pytest.approx([1.0, 1.0, 1.0], abs=0.02)  # white after mean/std 0.5


def test_palette_png_with_transparency_is_composited_on_white():
    img = Image.new("P", (64, 64), 0)
    img.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    img.paste(1, (16, 16, 48, 48))
    photo = decode_photo(_png(img, transparency=0), PREP)
    thumb = np.asarray(_thumb(photo), np.int16)
    assert np.abs(thumb[2, 2] - (255, 255, 255)).max() <= 3
    assert np.abs(thumb[32, 32] - (0, 0, 255)).max() <= 12


def test_16bit_png_is_scaled_not_stretched():
    flat = Image.fromarray(np.full((50, 80), 32896, np.uint16))  # 50% grey in 16 bits
    assert flat.mode.startswith("I;16")
    photo = decode_photo(_png(flat), PREP)
    assert np.abs(np.asarray(_thumb(photo), np.int16) - 128).max() <= 2  # min-max stretching would make it black
    ramp = Image.fromarray(np.linspace(0, 65535, 256, dtype=np.uint16)[None, :].repeat(20, 0))
    thumb = np.asarray(_thumb(decode_photo(_png(ramp), PREP)), np.int16)[10, :, 0]
    assert thumb[0] <= 3 and thumb[-1] >= 252 and (np.diff(thumb.astype(int)) >= -3).all()


def test_float_tiff_is_scaled():
    img = Image.fromarray(np.full((40, 60), 0.25, np.float32))
    out = io.BytesIO()
    img.save(out, "TIFF")
    photo = decode_photo(out.getvalue(), PREP)
    assert photo.format == "TIFF" and np.abs(np.asarray(_thumb(photo), np.int16) - 64).max() <= 2


def test_cmyk_jpeg():
    img = Image.new("CMYK", (120, 80), (0, 255, 255, 0))  # red
    photo = decode_photo(_jpeg(img, quality=95), PREP)
    assert photo.format == "JPEG"
    assert np.abs(np.asarray(_thumb(photo), np.int16)[40, 60] - (255, 0, 0)).max() <= 12


def test_grayscale_jpeg():
    photo = decode_photo(_jpeg(Image.new("L", (90, 60), 77)), PREP)
    assert np.abs(np.asarray(_thumb(photo), np.int16) - 77).max() <= 3


def test_animated_gif_and_webp_use_the_first_frame():
    frames = [Image.new("RGB", (60, 40), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    for fmt in ("GIF", "WEBP"):
        out = io.BytesIO()
        frames[0].save(out, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
        photo = decode_photo(out.getvalue(), PREP)
        assert photo.format == fmt
        assert np.abs(np.asarray(_thumb(photo), np.int16)[20, 30] - (255, 0, 0)).max() <= 12, fmt


def test_mpo_decodes_its_primary_image():
    left, right = Image.new("RGB", (80, 60), (0, 0, 255)), Image.new("RGB", (80, 60), (255, 255, 0))
    out = io.BytesIO()
    left.save(out, "MPO", save_all=True, append_images=[right])
    photo = decode_photo(out.getvalue(), PREP)
    assert photo.format == "MPO"
    assert np.abs(np.asarray(_thumb(photo), np.int16)[30, 40] - (0, 0, 255)).max() <= 12


# what a camera stores for each EXIF orientation, given the upright picture (each is its own inverse but 6 and 8)
_STORED = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
           5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_made_jpeg_orientation_width_height_and_pixels(orientation):
    upright = _gradient()  # 400x300
    stored = upright.transpose(_STORED[orientation]) if orientation > 1 else upright
    assert stored.size == ((300, 400) if orientation >= 5 else (400, 300))
    exif = Image.Exif()
    exif[0x0112] = orientation
    photo = decode_photo(_jpeg(stored, quality=95, exif=exif), PREP)
    assert (photo.width, photo.height) == (400, 300)
    assert _thumb(photo).size == (320, 240)
    expected = to_network_input(upright, PREP)
    assert np.abs(photo.pixels - expected).mean() < 0.03  # JPEG noise only; a wrong rotation or flip is ~0.5


def test_broken_exif_falls_back_to_no_rotation():
    upright = _gradient()
    exif = Image.Exif()
    exif[0x0112] = 6
    good = _jpeg(upright, quality=95, exif=exif)
    start = good.index(b"Exif\x00\x00")
    broken = good[:start + 6] + b"\xde\xad" * 8 + good[start + 22:]  # TIFF header destroyed, length kept
    photo = decode_photo(broken, PREP)
    assert (photo.width, photo.height) == (400, 300) and photo.taken_at is None
    for junk in (0, 9, 1000):  # out-of-range orientation values: no rotation
        exif[0x0112] = junk
        assert decode_photo(_jpeg(upright, exif=exif), PREP).width == 400


def test_exif_reader_failures_fall_back_to_no_rotation(monkeypatch):
    exif = Image.Exif()
    exif[0x0112] = 6
    exif.get_ifd(0x8769)[0x9003] = "2019:07:04 18:30:00"
    data = _jpeg(_gradient(300, 400), exif=exif)
    assert decode_photo(data, PREP).width == 400  # rotated as tagged

    def boom(*args, **kwargs):
        raise SyntaxError("not a TIFF file")

    monkeypatch.setattr(imageio.ImageOps, "exif_transpose", boom)
    photo = decode_photo(data, PREP)
    assert (photo.width, photo.height) == (300, 400) and photo.taken_at == "2019-07-04T18:30:00"
    monkeypatch.setattr(Image.Image, "getexif", boom)
    photo = decode_photo(data, PREP)
    assert (photo.width, photo.height) == (300, 400) and photo.taken_at is None


@pytest.mark.parametrize("values, expected", [
    ({0x9003: "2019:07:04 18:30:00"}, "2019-07-04T18:30:00"),
    ({0x9003: "0000:00:00 00:00:00", 0x9004: "2019:07:04 18:30:01"}, "2019-07-04T18:30:01"),
    ({0x9003: "    :  :     :  :  ", 0x0132: "2019:07:04 18:30:02"}, "2019-07-04T18:30:02"),
    ({0x9003: "0000:00:00 00:00:00"}, None),
    ({0x9003: "2019:13:45 25:61:00"}, None),
    ({0x9003: "yesterday"}, None),
    ({0x0132: "2019:07:04 18:30:03\x00"}, "2019-07-04T18:30:03"),
    ({}, None),
])
def test_taken_at_from_made_exif(values, expected):
    exif = Image.Exif()
    for tag, value in values.items():
        (exif if tag == 0x0132 else exif.get_ifd(0x8769))[tag] = value
    assert decode_photo(_jpeg(_gradient(64, 48), exif=exif), PREP).taken_at == expected


def test_draft_decodes_small_but_enough_for_network_and_thumbnail():
    big = _jpeg(_gradient(2100, 2100), quality=80)  # DCT 1/8 would give 263x263, too small for a 320 thumbnail
    photo = decode_photo(big, PREP)
    assert (photo.width, photo.height) == (2100, 2100) and _thumb(photo).size == (320, 320)
    assert imageio._decode(big, PREP.resize, 320).image.size == (525, 525)  # 1/4, not full size
    assert decode_photo(_jpeg(_gradient(4000, 3000), quality=70), PREP, thumb_size=160).width == 4000
    assert _thumb(decode_photo(_jpeg(_gradient(4000, 3000), quality=70), PREP, thumb_size=160)).size == (160, 120)
    assert _thumb(decode_photo(_jpeg(_gradient(100, 50)), PREP)).size == (100, 50)  # never enlarged


def _png_header(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def _jpeg_header(width: int, height: int) -> bytes:
    data = bytearray(_jpeg(Image.new("RGB", (16, 8))))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("header", [_png_header, _jpeg_header])
@pytest.mark.parametrize("width, height", [(20_000, 10_000), (60_000, 60_000)])
def test_decompression_bombs_are_refused_before_decoding(header, width, height):
    assert width * height > MAX_PIXELS  # the first only passes Pillow's own check (2x ours), the second fails it
    with pytest.raises(ImageDecodeError) as err:
        decode_photo(header(width, height), PREP)
    assert err.value.reason == f"decompression bomb refused ({width}x{height} pixels)"


@pytest.mark.parametrize("data, reason", [
    (b"", "empty file (0 bytes)"),
    (b"just some notes\n", "not an image (text)"),
    (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "not an image (PDF document)"),
    (struct.pack(">I", 20) + b"ftypqt  \0\0\0\0qt  " + bytes(8),
     "not an image (video or other media file, brand 'qt')"),
    (bytes([7, 200, 13, 0, 255, 1]) * 50, "not an image (unrecognised content)"),
    (b"\x89PNG\r\n\x1a\n" + b"\xab" * 40, "truncated or corrupt image data (unreadable PNG header)"),
])
def test_reasons_for_non_images(data, reason):
    with pytest.raises(ImageDecodeError) as err:
        decode_photo(data, PREP)
    assert err.value.reason == reason


def test_formats_outside_photos_are_not_tried():
    """An EPS would run Ghostscript and a text file can parse as an exotic format: only photo formats are tried."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PPM")
    with pytest.raises(ImageDecodeError, match="not an image"):
        decode_photo(out.getvalue(), PREP)


@pytest.mark.parametrize("error, reason", [
    (RuntimeError("libheif: invalid input"), "truncated or corrupt image data (RuntimeError: libheif: invalid input)"),
    (KeyError("tile"), "truncated or corrupt image data (KeyError: 'tile')"),
    (OSError("decoder error -2"), "truncated or corrupt image data (decoder error -2)"),
    (MemoryError(), "too large to decode (out of memory)"),
])
def test_unexpected_decoder_exceptions_become_reasons(monkeypatch, error, reason):
    def fail(self):
        raise error

    data = _png(_gradient(20, 10))
    monkeypatch.setattr(imageio.ImageFile.ImageFile, "load", fail)
    with pytest.raises(ImageDecodeError) as err:
        decode_photo(data, PREP)
    assert err.value.reason == reason


def test_path_errors(tmp_path):
    with pytest.raises(ImageDecodeError, match="^file vanished$"):
        open_upright(tmp_path / "gone.jpg")
    with pytest.raises(ImageDecodeError, match=r"^not a file \(a folder\)$"):
        load_for_network(tmp_path, PREP)
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(ImageDecodeError, match=r"^empty file \(0 bytes\)$"):
        load_for_network(tmp_path / "empty.jpg", PREP)
    if os.name == "posix" and os.geteuid() != 0:  # root reads anything
        locked = tmp_path / "locked.jpg"
        locked.write_bytes(_jpeg(_gradient(20, 10)))
        locked.chmod(0)
        with pytest.raises(ImageDecodeError, match="^permission denied$"):
            open_upright(locked)


def test_iter_batches_keeps_good_photos_and_reports_bad_ones(tmp_path):
    good = tmp_path / "good.jpg"
    good.write_bytes(_jpeg(_gradient()))
    (tmp_path / "bad.jpg").write_bytes(b"not a photo")
    batches = list(iter_batches([good, tmp_path / "bad.jpg", tmp_path / "missing.jpg", good], PREP, batch_size=3,
                                workers=2))
    assert [b.indices for b in batches] == [[0], [3]]
    assert [f for b in batches for f in b.failures] == [(1, "not an image (text)"), (2, "file vanished")]
    np.testing.assert_array_equal(batches[1].pixels[0], decode_photo(good.read_bytes(), PREP).pixels)
