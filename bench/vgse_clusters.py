"""Do VGSE clusters mean something visual across classes? A contact sheet of the patches nearest to cluster centres.

    python bench/vgse_clusters.py [--caltech ../shared/data/caltech101] [--patches 1+9] [--dv 64] [--clusters 8]
                                  [--per-cluster 10] [--out docs/vgse_clusters.png]

The paper's qualitative check (Xu et al. 2022, t-SNE figure): patches of one cluster should share a look (white fur,
wheels) while coming from several classes, seen and unseen. The clustering module is trained on the patches of the
seen labels' training photos (as in the evaluation); a few test photos of unseen labels are cut too, never trained
on, and shown with an orange frame. Each row is one cluster: its patches with the highest assignment probability,
at most two per class so a row shows sharing rather than one class. The clusters shown are those whose top patches
span the most classes. Features come from the cache `tagger eval --embedding` fills.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tagger.engine.core import Engine
from tagger.engine.imageio import open_upright
from tagger.research.evaluate import read_dataset, read_list, read_split
from tagger.research.vgse import ClusterConfig, PatchGrid, default_cache_dir, patch_features, train_clusterer

THUMB = 96
LABEL_H = 14
SEEN_FRAME, UNSEEN_FRAME = (255, 255, 255), (255, 140, 0)


def pick(scores: np.ndarray, classes: np.ndarray, k: int, per_class: int = 2) -> list[int]:
    """Indices of the k highest scores, at most ``per_class`` from any one class."""
    out, used = [], {}
    for i in np.argsort(-scores):
        c = int(classes[i])
        if used.get(c, 0) < per_class:
            out.append(int(i))
            used[c] = used.get(c, 0) + 1
            if len(out) == k:
                break
    return out


def crop(path: Path, grid: PatchGrid, t: int) -> Image.Image:
    img = open_upright(path, min_side=256)
    return img.crop(grid.boxes(*img.size)[t]).resize((THUMB, THUMB), Image.Resampling.BICUBIC)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--caltech", type=Path, default=ROOT.parent / "shared" / "data" / "caltech101")
    ap.add_argument("--patches", default="1+9")
    ap.add_argument("--dv", type=int, default=64)
    ap.add_argument("--clusters", type=int, default=8)
    ap.add_argument("--per-cluster", type=int, default=10)
    ap.add_argument("--unseen-photos", type=int, default=3, help="test photos per unseen label to cut and show")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "vgse_clusters.png")
    args = ap.parse_args()

    root = args.caltech
    engine = Engine.load("lite0")
    grid = PatchGrid.parse(args.patches)
    dataset = read_dataset(root, root / "labels.tsv", root / "test.txt")
    split = read_split(root / "zsl_split.tsv")
    label_of = lambda f: dataset.folder_labels[f.split("/", 1)[0]]
    seen = sorted(c for c, s in split.items() if s == "seen")
    seen_files = [f for f in read_list(root / "train.txt") if split[label_of(f)] == "seen"]
    unseen_files, count = [], {}
    for f in dataset.files:
        c = label_of(f)
        if split[c] == "unseen" and count.get(c, 0) < args.unseen_photos:
            unseen_files.append(f)
            count[c] = count.get(c, 0) + 1
    cache = default_cache_dir(engine)
    pf_seen = patch_features(engine, [root / f for f in seen_files], grid, cache_dir=cache)
    pf_unseen = patch_features(engine, [root / f for f in unseen_files], grid, cache_dir=cache)
    files_seen = [seen_files[i] for i in pf_seen.ok]
    y = np.array([seen.index(label_of(f)) for f in files_seen])
    model = train_clusterer(pf_seen.features, y, engine.word_space.text_vectors(seen), ClusterConfig(dv=args.dv))

    files = files_seen + [unseen_files[i] for i in pf_unseen.ok]
    is_unseen = np.array([False] * len(files_seen) + [True] * len(pf_unseen.ok))
    a = np.concatenate([model.assign(pf_seen.features), model.assign(pf_unseen.features)])  # (N, Nt, Dv)
    nt = a.shape[1]
    flat = a.reshape(-1, args.dv)
    photo = np.repeat(np.arange(len(files)), nt)
    patch = np.tile(np.arange(nt), len(files))
    labels = sorted({label_of(f) for f in files})
    cls = np.array([labels.index(label_of(files[p])) for p in photo])
    top = {k: np.argsort(-flat[:, k])[:30] for k in range(args.dv)}
    spread = sorted(range(args.dv), key=lambda k: (-len(set(cls[top[k]].tolist())), -flat[top[k], k].mean()))
    chosen = spread[:args.clusters]

    sheet = Image.new("RGB", (110 + args.per_cluster * (THUMB + 4), args.clusters * (THUMB + LABEL_H + 8) + 24),
                      (30, 30, 30))
    draw = ImageDraw.Draw(sheet)
    draw.text((4, 4), f"VGSE clusters (Dv={args.dv}, patches {grid.label}); orange = unseen label, never trained on",
              fill=(230, 230, 230))
    for row, k in enumerate(chosen):
        y0 = 24 + row * (THUMB + LABEL_H + 8)
        mass = float(a[..., k].mean())
        draw.text((4, y0 + THUMB // 2 - 6), f"cluster {k}\n{mass:.1%} of mass", fill=(230, 230, 230))
        for col, i in enumerate(pick(flat[:, k], cls, args.per_cluster)):
            x0 = 110 + col * (THUMB + 4)
            frame = UNSEEN_FRAME if is_unseen[photo[i]] else SEEN_FRAME
            draw.rectangle((x0 - 2, y0 - 2, x0 + THUMB + 1, y0 + THUMB + 1), outline=frame, width=2)
            sheet.paste(crop(root / files[photo[i]], grid, int(patch[i])), (x0, y0))
            draw.text((x0, y0 + THUMB + 2), label_of(files[photo[i]])[:15], fill=frame)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out)
    print(f"wrote {args.out}: clusters {chosen}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
