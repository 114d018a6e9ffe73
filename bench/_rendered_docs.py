"""Rendered text images "as photographed" (issue-14 dev set): documents, receipts, signs, menus, tickets, screenshots.

    python bench/_rendered_docs.py OUT [--n 12] [--seed 0] [--small]

Why: OCR and the "document"/"receipt" queries must be measured on photos of paper, not clean renders. An image depends
on (seed, kind, index) alone. Paper (letters, forms, prose; receipts; menus; tickets) lies on a table; signs (a coloured
board, 1-3 lines) stand in front of a Caltech-101 train photo (a gradient without ../shared/data). All but screenshots
are photographed: rotation, perspective warp (QUAD), uneven light, blur, sensor noise, JPEG, half at phone sizes
(1600-3000 px); screenshots are clean PNGs at screen sizes, no EXIF. ``small``: ~800 px, less text. Each image carries a
made-up word (``unique``, e.g. "quorvella") printed on no other, so "a word printed on one page finds that page first"
can be measured. OUT/truth.json: file -> {kind, words (all printed, in order), unique}.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

CALTECH = Path(__file__).resolve().parents[2] / "shared" / "data" / "caltech101"
KINDS = ("document", "receipt", "sign", "menu", "ticket", "screenshot")
_FONT_DIRS = [Path("/usr/share/fonts") / d for d in ("truetype/dejavu", "opentype/urw-base35", "truetype/noto")]
_FONTS = {"body": "DejaVuSans DejaVuSerif DejaVuSerifCondensed NimbusSans-Regular C059-Roman P052-Roman URWGothic-Book",
          "bold": "DejaVuSans-Bold DejaVuSerif-Bold DejaVuSansCondensed-Bold NimbusSans-Bold NimbusRoman-Bold",
          "mono": "DejaVuSansMono NotoSansMono-Regular NimbusMonoPS-Regular DejaVuSansMono-Bold"}
PROSE = ("the a of and to in for with on at from by after before over between meeting report project budget team "
         "office client contract payment account invoice order service review plan summary proposal result table page "
         "chapter river garden station museum library market village city harbour morning week month year weather "
         "please note that we will would should could have has been is are was were this our your their new next "
         "last final annual early late small large important clear simple agreed received attached approved").split()
NAMES = "Anna Ben Clara David Elena Frank Grace Henry Ines Jonas Karen Louis Maria Noah Olivia Peter Rosa Simon".split()
STREETS = "Oak Mill Station Church Bridge Market Park River Hill Castle".split()
FOODS = ("Tomato Soup|Green Salad|Garlic Bread|Grilled Salmon|Roast Chicken|Beef Burger|Mushroom Risotto|Pasta "
         "Carbonara|Fish and Chips|Lemon Tart|Apple Pie|Chocolate Cake|Ice Cream|Espresso|Orange Juice|Milk|Bread|"
         "Butter|Cheese|Bananas|Coffee Beans|Rice|Eggs|Yogurt|Olive Oil|Tea").split("|")
SIGN_TEXT = ("EXIT|NO PARKING|OPEN|CLOSED|MAIN STREET|KEEP OUT|CITY CENTRE|PRIVATE ROAD|WELCOME|BUS STOP|"
             "CAUTION WET FLOOR|PHARMACY|BAKERY|HOTEL|SLOW|ONE WAY|PUBLIC LIBRARY|TICKETS").split("|")
_WORD = re.compile(r"\w+(?:[.,:'/-]\w+)*")
INK, WHITE = (25, 25, 25), (255, 255, 255)


def _font(rng: random.Random, group: str, size: int) -> ImageFont.FreeTypeFont:
    paths = [d / f"{n}.{e}" for n in _FONTS[group].split() for d in _FONT_DIRS for e in ("ttf", "otf")]
    found = [p for p in paths if p.exists()]
    return ImageFont.truetype(str(rng.choice(found)), size) if found else ImageFont.load_default(size)


def made_up_word(rng: random.Random) -> str:
    """A pronounceable non-word ("quorvella"): two syllables, a consonant and an ending, so no dictionary has it."""
    syl = [rng.choice("b br d dr f fl g gl k kr l m n p pl qu r s st t tr v z".split()) + rng.choice(
        "a e i o u ai ou ea".split()) + rng.choice(["", "", "r", "l", "n", "s"]) for _ in range(2)]
    return "".join(syl) + rng.choice("v z th m l".split()) + rng.choice("ella ix en ar ostra ule ina".split())


class Page:
    """A canvas that remembers every word drawn on it (the truth for OCR)."""

    def __init__(self, size: tuple[int, int], colour: tuple[int, int, int]) -> None:
        self.img = Image.new("RGB", size, colour)
        self.draw = ImageDraw.Draw(self.img)
        self.words: list[str] = []

    def text(self, xy: tuple[float, float], s: str, font, fill=INK, anchor: str = "la") -> float:
        """Draw ``s`` (unless it would fall off the page: then it is not printed); returns the y of the next line."""
        if xy[1] + font.size * 1.1 < self.img.height:
            self.draw.text(xy, s, font=font, fill=fill, anchor=anchor)
            self.words += _WORD.findall(s)
        return xy[1] + font.size * 1.35

    def paragraph(self, x: float, y: float, width: float, words: list[str], font, fill=INK) -> float:
        line: list[str] = []
        for w in words:
            if line and self.draw.textlength(" ".join(line + [w]), font=font) > width:
                y, line = self.text((x, y), " ".join(line), font, fill), []
            line.append(w)
        return self.text((x, y), " ".join(line), font, fill) + font.size // 2

    def rows(self, x0: float, x1: float, y: float, left: str, right: str, font) -> float:
        self.text((x0, y), left, font)
        return self.text((x1, y), right, font, anchor="ra")


def _sentences(rng: random.Random, n: int, unique: str | None = None) -> list[str]:
    words: list[str] = []
    for _ in range(n):
        s = [rng.choice(PROSE) for _ in range(rng.randint(6, 14))]
        words += [s[0].capitalize()] + s[1:-1] + [s[-1] + "."]
    return words[:(k := rng.randint(0, len(words) - 1))] + [unique] + words[k:] if unique else words


def _paper(w: int, rng: random.Random) -> Page:
    return Page((w, int(w * rng.uniform(1.3, 1.45))), (t := rng.randint(236, 255), t, t - rng.randint(0, 12)))


def document(rng: random.Random, unique: str, small: bool) -> Page:
    """A letter, a form or a page of prose: several paragraphs (one when small)."""
    w = 640 if small else 1240
    p, m, paras = _paper(w, rng), w // 11, 1 if small else rng.randint(3, 5)
    f, bold = _font(rng, "body", w // rng.randint(*(26, 32) if small else (40, 52))), _font(rng, "bold", w // 26)
    date = f"{rng.randint(1, 28)} {rng.choice(['March', 'June', 'October'])} 20{rng.randint(18, 25)}"
    if (style := rng.choice(["letter", "form", "prose"])) == "letter":
        y = p.text((m, m), f"{rng.choice(NAMES)} {rng.choice(NAMES)}son", bold)
        y = p.text((m, y), f"{rng.randint(2, 90)} {rng.choice(STREETS)} Road", f)
        y = p.text((w - m, y + f.size), date, f, anchor="ra") + f.size
        y = p.text((m, y), f"Dear {rng.choice(NAMES)},", f) + f.size // 2
        for k in range(paras):
            y = p.paragraph(m, y, w - 2 * m, _sentences(rng, 4, unique if k == 0 else None), f)
        p.text((m, p.text((m, y + f.size), "Yours sincerely,", f) + f.size), rng.choice(NAMES), f)
    elif style == "form":
        y = p.text((m, m), rng.choice(["APPLICATION FORM", "REGISTRATION FORM", "CLAIM FORM"]), bold) + f.size
        values = [f"{unique.capitalize()} {rng.choice(NAMES)}", date, f"{rng.randint(2, 90)} {rng.choice(STREETS)} "
                  "Road", f"0{rng.randint(100000000, 999999999)}", rng.choice(["Yes", "No"]), ""]
        for label, value in zip(["Name:", "Date of birth:", "Address:", "Phone:", "Member:", "Signature:"], values):
            p.text((m, y), label, f)
            p.draw.line((w // 2.6, y + f.size * 1.15, w - m, y + f.size * 1.15), fill=(90, 90, 90), width=2)
            y = p.text((w // 2.5, y), value, f) + f.size // 2
        for _ in range(paras - 1):
            y = p.paragraph(m, y + f.size, w - 2 * m, _sentences(rng, 3), f)
    else:
        y = p.text((m, m), " ".join(rng.choice(PROSE).capitalize() for _ in range(3)), bold) + f.size
        for k in range(paras + 1):
            y = p.paragraph(m, y, w - 2 * m, _sentences(rng, 5, unique if k == 1 else None), f)
        p.text((w // 2, p.img.height - m), str(rng.randint(2, 300)), f, anchor="ma")
    return p


def receipt(rng: random.Random, unique: str, small: bool) -> Page:
    """Narrow till paper: shop, address, date, items with prices, SUBTOTAL/TAX/TOTAL/CASH/CHANGE."""
    w = 380 if small else 576
    f = _font(rng, "mono", w // rng.randint(24, 30))
    items = [s.upper() for s in rng.sample(FOODS, 4 if small else rng.randint(6, 12))]
    shop = f"{unique.upper()} {rng.choice(['MARKET', 'STORE', 'DELI'])}"  # the made-up word names the shop or an item
    if rng.random() < 0.5:
        shop, items[rng.randrange(len(items))] = rng.choice(["FRESHMART", "CORNER SHOP", "DAILY FOODS"]), unique.upper()
    p, m = Page((w, int(f.size * 1.35 * (len(items) + 15)) + 40), (250, 250, 246)), w // 14
    y = p.text((w // 2, 20), shop, _font(rng, "bold", int(f.size * 1.3)), anchor="ma")
    y = p.text((w // 2, y), f"{rng.randint(2, 90)} {rng.choice(STREETS)} St", f, anchor="ma")
    y = p.text((m, y), f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/20{rng.randint(19, 25)}  "
                       f"{rng.randint(7, 21):02d}:{rng.randint(0, 59):02d}", f) + f.size // 2
    sub = sum(prices := [rng.randint(50, 1500) for _ in items])
    tax, cash = round(sub * 0.08), (sub * 108 // 100 // 1000 + 1) * 1000
    for label, c in zip(items + ["-" * 40, "SUBTOTAL", "TAX", "TOTAL", "CASH", "CHANGE"],
                        prices + [None, sub, tax, sub + tax, cash, cash - sub - tax]):
        y = p.rows(m, w - m, y, label, "" if c is None else f"{c / 100:.2f}", f)
    p.text((w // 2, y + f.size), "THANK YOU", f, anchor="ma")
    return p


def menu(rng: random.Random, unique: str, small: bool) -> Page:
    w = 600 if small else 1100
    p, m = _paper(w, rng), w // 10
    f, bold = _font(rng, "body", w // rng.randint(*(22, 26) if small else (30, 38))), _font(rng, "bold", w // 22)
    y = p.text((w // 2, m), f"{rng.choice(['Cafe', 'Bistro', 'Trattoria'])} {unique.capitalize()}", bold, anchor="ma")
    dishes = iter(rng.sample(FOODS, len(FOODS)))
    for section in ["Starters", "Mains"] + ([] if small else ["Desserts", "Drinks"]):
        y = p.text((m, y + f.size), section.upper(), _font(rng, "bold", f.size + 4))
        for _ in range(3 if small else rng.randint(3, 5)):
            y = p.rows(m, w - m, y, next(dishes), f"{rng.randint(3, 29)}.{rng.choice(['00', '50', '90'])}", f)
    return p


def ticket(rng: random.Random, unique: str, small: bool) -> Page:
    """ADMIT ONE, a boarding pass or a train ticket, with a barcode."""
    w, u = 700 if small else 1200, unique.upper()
    p = Page((w, int(w * 0.42)), rng.choice([(250, 240, 210), (225, 238, 250), (250, 250, 250), (255, 225, 225)]))
    big, f, m = _font(rng, "bold", w // 18), _font(rng, "body", w // 36), w // 20
    seat = f"SEAT {rng.randint(1, 40)}{rng.choice('ABCDEF')}"
    title, *fields = rng.choice([
        ["ADMIT ONE", f"{u} FESTIVAL", f"ROW {rng.randint(1, 30)}  {seat}", f"EUR {rng.randint(9, 90)}.00"],
        ["BOARDING PASS", f"NAME {u}/{rng.choice(NAMES).upper()}", f"FLIGHT LX{rng.randint(100, 999)}  GATE "
         f"B{rng.randint(1, 40)}  {seat}", f"BOARDING {rng.randint(6, 22):02d}:{rng.randint(0, 59):02d}"],
        ["TRAIN TICKET", f"FROM {rng.choice(STREETS).upper()} CENTRAL", f"TO {u}",
         f"COACH {rng.randint(1, 12)}  {seat}  CLASS {rng.randint(1, 2)}"]])
    y = p.text((m, m), title, big)
    for s in fields:
        y = p.text((m, y + f.size // 3), s, f)
    for x in range(int(w * 0.78), w - m, 6):
        p.draw.rectangle((x, m, x + rng.randint(1, 4), p.img.height - m), fill=INK)
    return p


def sign(rng: random.Random, unique: str, small: bool) -> Page:
    """A board with 1-3 lines of big letters, one of them the made-up word."""
    board, ink = rng.choice([((20, 110, 50), WHITE), ((25, 60, 150), WHITE), ((180, 30, 30), WHITE),
                             ((245, 245, 240), INK), ((240, 200, 30), INK), ((100, 60, 30), (250, 240, 200))])
    lines = [unique.upper()] + rng.choice(SIGN_TEXT).split(" ", 1)[: rng.randint(0, 2)]
    rng.shuffle(lines)
    f = _font(rng, "bold", 56 if small else 110)
    w = int(max(f.getlength(s) for s in lines) + f.size * 1.4)
    p = Page((w, int(f.size * (1.35 * len(lines) + 0.8))), board)
    p.draw.rectangle((6, 6, w - 7, p.img.height - 7), outline=ink, width=max(3, f.size // 18))
    for k, s in enumerate(lines):
        p.text((w // 2, f.size * (0.5 + 1.35 * k)), s, f, ink, anchor="ma")
    return p


def screenshot(rng: random.Random, unique: str, small: bool) -> Page:
    """A desktop or phone screen: status bar, coloured title bar, (sidebar,) a list of messages."""
    sizes = [(640, 400), (390, 844)] if small else [(1280, 800), (1170, 2532), (1920, 1080), (1080, 2340), (1440, 900)]
    (w, h), dark = rng.choice(sizes), rng.random() < 0.35
    bg, fg, bar = ((30, 30, 34), (230, 230, 230), (50, 50, 58)) if dark else (WHITE, INK, (238, 238, 242))
    p, u = Page((w, h), bg), max(w, h) // 60
    f, bold = _font(rng, "body", int(u * 1.1)), _font(rng, "bold", int(u * 1.5))
    p.draw.rectangle((0, 0, w, 3 * u), fill=bar)
    p.text((u, u // 2), f"{rng.randint(7, 22)}:{rng.randint(0, 59):02d}", f, fg)
    p.draw.rectangle((0, 3 * u, w, 7 * u), fill=rng.choice([(0, 122, 255), (52, 168, 83), (120, 80, 200)]))
    p.text((u * 2, 4 * u), f"{rng.choice(['Inbox', 'Messages', 'Notes'])} {unique.capitalize()}", bold, WHITE)
    x0 = w // 4 if w > h else u * 2
    if w > h:  # a desktop sidebar
        p.draw.rectangle((0, 7 * u, x0 - u, h), fill=bar)
        for k, s in enumerate(["Home", "Search", "Library", "Archive", "Trash"]):
            p.text((u * 2, 8 * u + k * 2.4 * u), s, f, fg)
    for y in range(8 * u, h - 13 * u, 6 * u):
        p.draw.rounded_rectangle((x0, y, w - 2 * u, y + 5 * u), radius=u, fill=bar)
        p.text((x0 + u, y + u // 2), f"{rng.choice(NAMES)} {rng.choice(NAMES)}", _font(rng, "bold", f.size), fg)
        p.paragraph(x0 + u, y + 2.3 * u, w - x0 - 4 * u, _sentences(rng, 1)[:8 if w > h else 5], f, fg)
    return p


def _background(rng: random.Random, size: tuple[int, int], photo: bool) -> Image.Image:
    """A Caltech train photo (not a face, no printed text) for signs; a table-like gradient for paper."""
    train = CALTECH / "train.txt"
    pool = [r for r in (train.read_text().split() if photo and train.exists() else [])
            if r.split("/")[0] not in ("Faces", "Faces_easy", "dollar_bill", "stop_sign")]
    if pool:
        return ImageOps.fit(Image.open(CALTECH / rng.choice(pool)).convert("RGB"), size)
    a, b = (np.array([rng.randint(40, 200) for _ in range(3)], np.float32) for _ in range(2))
    t = np.linspace(0, 1, size[1], dtype=np.float32)[:, None, None]
    return Image.fromarray(np.broadcast_to(a + (b - a) * t, (size[1], size[0], 3)).astype(np.uint8))


def photograph(page: Image.Image, rng: random.Random, small: bool, scene_photo: bool) -> Image.Image:
    """Place the page in a scene and take a phone photo of it: rotation, QUAD warp, light, blur, noise."""
    page = page.convert("RGBA").rotate(rng.uniform(-5, 5), Image.Resampling.BICUBIC, expand=True)
    if scene_photo:  # a board filling 40-70% of the width of a 4:3 photo
        w = int(page.width / rng.uniform(0.4, 0.7))
        size = (w, max(int(w * 0.75), int(page.height * 1.3)))
    else:  # paper on a table, a margin around it
        size = (int(page.width * rng.uniform(1.2, 1.4)), int(page.height * rng.uniform(1.2, 1.4)))
    scene, free = _background(rng, size, scene_photo), (size[0] - page.width, size[1] - page.height)
    scene.paste(page, tuple(int(d * rng.uniform(0.25, 0.75)) for d in free), page)  # off centre, never cut off
    W, H = size  # perspective: one side of the scene further away (keystone), plus a little jitter per corner
    corners = np.array([[0, 0], [0, 1], [1, 1], [1, 0]], np.float64)  # UL, LL, LR, UR as fractions (x, y)
    side, k = rng.randrange(4), rng.uniform(0.02, 0.06)
    corners[list([(0, 3), (1, 2), (0, 1), (3, 2)][side]), 0 if side < 2 else 1] += (k, -k)
    corners += [[rng.uniform(0, 0.015) * (1 - 2 * c) for c in row] for row in corners.round()]
    scene = scene.transform(size, Image.Transform.QUAD, tuple((corners * (W, H)).ravel()), Image.Resampling.BICUBIC)
    long_side = 800 if small else rng.randint(1600, 3000) if rng.random() < 0.5 else rng.randint(1000, 1500)
    scene = scene.resize((int(W * long_side / max(W, H)), int(H * long_side / max(W, H))), Image.Resampling.LANCZOS)
    arr = np.asarray(scene.filter(ImageFilter.GaussianBlur(rng.uniform(0.2, 1.4))), np.float32)
    yy, xx = np.mgrid[0:arr.shape[0], 0:arr.shape[1]].astype(np.float32)  # a lamp off to one side:
    light = 1.08 - 0.45 * np.hypot(xx - rng.uniform(0, xx.shape[1]), yy - rng.uniform(0, xx.shape[0])) / max(xx.shape)
    noise = np.random.default_rng(rng.randrange(2**32)).normal(0, rng.uniform(2, 8), arr.shape).astype(np.float32)
    return Image.fromarray(np.clip(arr * light[..., None] + noise, 0, 255).astype(np.uint8))


def generate(out_dir: Path, n_per_kind: dict[str, int] | None = None, seed: int = 0, small: bool = False) -> dict:
    """Write the images and truth.json into ``out_dir``; returns the truth (file -> {kind, words, unique})."""
    out_dir.mkdir(parents=True, exist_ok=True)
    truth: dict[str, dict] = {}
    render = dict(zip(KINDS, [document, receipt, sign, menu, ticket, screenshot]))
    for kind, n in (n_per_kind or dict.fromkeys(KINDS, 12)).items():
        for i in range(n):
            rng = random.Random(f"{seed}/{kind}/{i}")
            unique = made_up_word(rng)
            while unique in {t["unique"] for t in truth.values()}:
                unique = made_up_word(rng)
            page = render[kind](rng, unique, small)
            name = f"{kind}_{i:03d}." + ("png" if kind == "screenshot" else "jpg")
            if kind == "screenshot":
                page.img.save(out_dir / name)
            else:
                exif = Image.Exif()  # a camera model and the time taken (DateTimeOriginal), as a phone writes them
                exif[0x0110], exif.get_ifd(0x8769)[0x9003] = "Phone", f"2024:0{1 + i % 9}:{1 + i % 28:02d} 12:00:00"
                photograph(page.img, rng, small, kind == "sign").save(out_dir / name, quality=rng.randint(55, 92),
                                                                     exif=exif)
            truth[name] = {"kind": kind, "words": page.words, "unique": unique}
    lines = (f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}" for k, v in truth.items())
    (out_dir / "truth.json").write_text("{\n" + ",\n".join(lines) + "\n}\n")
    return truth


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--n", type=int, default=12, help="images of each kind")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--small", action="store_true", help="~800 px images with less text")
    args = ap.parse_args()
    print(f"{len(generate(args.out, dict.fromkeys(KINDS, args.n), args.seed, args.small))} images in {args.out}")


if __name__ == "__main__":
    main()
