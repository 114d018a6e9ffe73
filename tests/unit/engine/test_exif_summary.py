"""The viewer's EXIF summary: camera, lens, exposure, aperture, ISO and focal length as people read them; nothing (never
an error) for a photo without EXIF or a file that is not a photo."""

from __future__ import annotations

from PIL import ExifTags, Image

from tagger.engine.exif_summary import ExifSummary, exif_summary


def _jpeg_with_exif(path, **sub) -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Canon"
    exif[ExifTags.Base.Model] = "Canon EOS 5D"
    ifd = exif.get_ifd(ExifTags.IFD.Exif)
    for name, value in sub.items():
        ifd[ExifTags.Base[name]] = value
    Image.new("RGB", (40, 30)).save(path, exif=exif)


def test_a_camera_photo_is_summarised_as_people_read_it(tmp_path):
    photo = tmp_path / "a.jpg"
    _jpeg_with_exif(photo, ExposureTime=(1, 250), FNumber=2.8, ISOSpeedRatings=200, FocalLength=50.0,
                    LensModel="EF50mm f/1.8")
    summary = exif_summary(photo)
    assert summary == ExifSummary(camera="Canon EOS 5D", lens="EF50mm f/1.8", exposure="1/250 s", aperture="f/2.8",
                                  iso="ISO 200", focal_length="50 mm")
    assert summary.lines() == ["Canon EOS 5D", "EF50mm f/1.8", "1/250 s · f/2.8 · ISO 200 · 50 mm"]


def test_long_exposures_and_a_make_not_repeated_in_the_model(tmp_path):
    photo = tmp_path / "b.jpg"
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "NIKON CORPORATION"
    exif[ExifTags.Base.Model] = "D750"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.ExposureTime] = 2.5
    Image.new("RGB", (40, 30)).save(photo, exif=exif)
    summary = exif_summary(photo)
    assert summary.camera == "NIKON CORPORATION D750" and summary.exposure == "2.5 s"
    assert summary.iso is None and summary.lens is None


def test_no_exif_and_not_a_photo_give_an_empty_summary(tmp_path):
    plain = tmp_path / "plain.png"
    Image.new("RGB", (8, 8)).save(plain)
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not a photo")
    assert exif_summary(plain) == ExifSummary()
    assert exif_summary(junk).lines() == []
    assert exif_summary(tmp_path / "gone.jpg") == ExifSummary()
