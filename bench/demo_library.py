"""The demo library the README's screenshots are made from: real photos in nested folders over several years.

    python bench/demo_library.py [--out bench/out/demo] [--fresh]

Builds ``OUT/photos/`` and indexes it into ``OUT/catalog.db`` with the real ``tagger`` CLI, then adds what a person
would have added: the dalmatians tagged "Rex", the ketches tagged "holiday 2019", the okapi folder labelled "zorblax".

- Photos: Caltech-101 classes (9 each) and Faces_easy, copied into folders such as ``Holidays/2019 Sailing`` and
  ``Family``, each re-saved with an EXIF capture date so the date timeline spans 2019-2025 (the pixels are re-encoded
  at quality 92: it is a demo, not a measurement); 8 rendered documents and receipts (bench/_rendered_docs.py) in
  ``Documents``; the photo folder's EXIF orientation examples in ``Phone/Orientation`` and three of its broken files in
  ``Phone/Broken``.
- Deterministic: the same folders, files and dates every time (seed 0).

The README's gallery: ``python main.py --screenshot docs/screenshots/NAME.png --db OUT/catalog.db ...`` (see README).
"""

from __future__ import annotations

import argparse
import random
import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
CALTECH = SHARED / "caltech101"
PHOTO_FOLDER = SHARED / "photo_folder"

# folder -> (Caltech classes, year, month)
PLAN: dict[str, tuple[tuple[str, ...], int, int]] = {
    "Holidays/2019 Sailing": (("ketch", "schooner"), 2019, 7),
    "Holidays/2021 Safari": (("Leopards", "elephant", "cougar_body"), 2021, 3),
    "Holidays/2021 Safari/Zoo": (("okapi", "kangaroo"), 2021, 3),
    "Pets/Rex": (("dalmatian",), 2022, 5),
    "Garden": (("sunflower", "lotus", "water_lilly"), 2023, 6),
    "Family": (("Faces_easy",), 2023, 12),
    "City walks": (("stop_sign", "car_side", "pagoda"), 2024, 9),
    "Music": (("grand_piano", "saxophone"), 2025, 1),
}
PER_CLASS = 9


def _with_date(src: Path, dest: Path, year: int, month: int, day: int, k: int) -> None:
    """Copy a JPEG, upright, with an EXIF capture date (the timeline reads it)."""
    img = Image.open(src).convert("RGB")
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = f"{year}:{month:02d}:{day:02d} {10 + k % 8:02d}:{(7 * k) % 60:02d}:00"
    img.save(dest, "JPEG", quality=92, exif=exif)


def build_photos(out: Path) -> Path:
    photos = out / "photos"
    rng = random.Random(0)
    for folder, (classes, year, month) in PLAN.items():
        target = photos / folder
        target.mkdir(parents=True, exist_ok=True)
        k = 0
        for cls in classes:
            files = sorted((CALTECH / cls).glob("*.jpg"))
            for src in rng.sample(files, min(PER_CLASS + (3 if cls == "Faces_easy" else 0), len(files))):
                _with_date(src, target / f"{cls.lower()}_{src.stem}.jpg", year, month, 1 + k % 27, k)
                k += 1
    from bench._rendered_docs import generate

    docs = photos / "Documents"
    generate(docs, {"document": 3, "receipt": 3, "menu": 1, "ticket": 1}, seed=0)
    (docs / "truth.json").unlink(missing_ok=True)
    orientation = photos / "Phone" / "Orientation"
    orientation.mkdir(parents=True, exist_ok=True)
    for src in sorted((PHOTO_FOLDER / "exif-orientation-examples").glob("*_[1368].jpg")):
        shutil.copy2(src, orientation / src.name)
    broken = photos / "Phone" / "Broken"
    broken.mkdir(parents=True, exist_ok=True)
    for name in ("truncated_half_DSCN0010.jpg", "zero_bytes.jpg", "text_not_image.jpg"):
        shutil.copy2(PHOTO_FOLDER / "broken-synthetic" / name, broken / name)
    return photos


def tagger(db: Path, *args: str) -> None:
    subprocess.run([sys.executable, "-m", "tagger", "--db", str(db), *args], check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "demo")
    ap.add_argument("--fresh", action="store_true")
    args = ap.parse_args()
    out: Path = args.out
    if args.fresh and out.exists():
        shutil.rmtree(out)
    db = out / "catalog.db"
    if db.exists():
        print(f"{db} exists (--fresh rebuilds)")
        return 0
    photos = build_photos(out)
    tagger(db, "index", str(photos))
    tagger(db, "tag", "--add", "Rex", str(photos / "Pets" / "Rex"))
    tagger(db, "tag", "--add", "holiday 2019", *map(str, sorted((photos / "Holidays/2019 Sailing").glob("ketch_*"))))
    zoo = photos / "Holidays/2021 Safari/Zoo"
    okapi = zoo / "okapi"
    okapi.mkdir(exist_ok=True)
    for f in sorted(zoo.glob("okapi_*.jpg")):
        f.rename(okapi / f.name)
    tagger(db, "index", str(photos))
    tagger(db, "label", str(okapi), "zorblax")
    print(f"demo library: {db} ({sum(1 for _ in photos.rglob('*') if _.is_file())} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
