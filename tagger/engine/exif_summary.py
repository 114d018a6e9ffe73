"""A photo's shooting facts as people read them (camera, lens, "1/250 s · f/2.8 · ISO 200 · 50 mm"), for the viewer.

Only the header is parsed (Pillow opens lazily; no pixel is decoded), and broken or missing metadata gives an empty
summary, never an error: the facts are a courtesy beside the photo, not a reason to fail showing it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from fractions import Fraction

from PIL import ExifTags, Image

from tagger.engine.imageio import PHOTO_FORMATS  # importing imageio also registers the HEIF opener


@dataclass(frozen=True)
class ExifSummary:
    camera: str | None = None  # "Canon EOS 5D" (the make only when the model does not already say it)
    lens: str | None = None
    exposure: str | None = None  # "1/250 s", "2.5 s"
    aperture: str | None = None  # "f/2.8"
    iso: str | None = None  # "ISO 200"
    focal_length: str | None = None  # "50 mm"

    def lines(self) -> list[str]:
        """Camera, lens, then the exposure on one line; only what is known."""
        shot = " · ".join(v for v in (self.exposure, self.aperture, self.iso, self.focal_length) if v)
        return [v for v in (self.camera, self.lens, shot) if v]

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


def exif_summary(path: str | os.PathLike) -> ExifSummary:
    """The summary of a file's EXIF; empty when the file has none, cannot be read, or is not a photo."""
    try:
        Image.init()
        with Image.open(path, formats=[f for f in PHOTO_FORMATS if f in Image.OPEN]) as img:
            return summarize(img.getexif())
    except Exception:  # unreadable metadata never costs the viewer anything
        return ExifSummary()


def summarize(exif: Image.Exif) -> ExifSummary:
    """The summary of an EXIF block already read (the main IFD and its Exif sub-IFD)."""
    try:
        sub = exif.get_ifd(ExifTags.IFD.Exif)
    except Exception:
        sub = {}
    tags = ExifTags.Base

    def get(tag: int):
        value = sub.get(tag, exif.get(tag))
        return value[0] if isinstance(value, tuple) and len(value) == 1 else value

    return ExifSummary(camera=_camera(_text(exif.get(tags.Make)), _text(exif.get(tags.Model))),
                       lens=_text(get(tags.LensModel)),
                       exposure=_exposure(_number(get(tags.ExposureTime))),
                       aperture=_format(_number(get(tags.FNumber)), "f/{:g}"),
                       iso=_format(_number(get(tags.ISOSpeedRatings)), "ISO {:g}"),
                       focal_length=_format(_number(get(tags.FocalLength)), "{:g} mm"))


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("latin-1", "replace")
    if not isinstance(value, str):
        return None
    text = " ".join(value.replace("\x00", " ").split())
    return text or None


def _camera(make: str | None, model: str | None) -> str | None:
    if make and model and model.lower().startswith(make.split()[0].lower()):
        return model  # "Canon" + "Canon EOS 5D": the model says it all
    return " ".join(v for v in (make, model) if v) or None


def _number(value: object) -> float | None:
    """A rational as Pillow gives it (IFDRational, a (num, den) pair, an int or a float); None for junk and zero."""
    try:
        if isinstance(value, tuple) and len(value) == 2:
            number = float(Fraction(int(value[0]), int(value[1])))
        else:
            number = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return number if number > 0 and number == number and number != float("inf") else None


def _format(number: float | None, pattern: str) -> str | None:
    return pattern.format(round(number, 1)) if number is not None else None


def _exposure(seconds: float | None) -> str | None:
    """Short exposures as the fraction cameras show ("1/250 s"), long ones in seconds ("2.5 s")."""
    if seconds is None:
        return None
    if seconds < 0.5:
        return f"1/{round(1 / seconds)} s"
    return f"{round(seconds, 1):g} s"
