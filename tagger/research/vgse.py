"""VGSE: visually-grounded class embeddings (Xu et al., CVPR 2022), on the frozen backbone Tagger already runs.

Word vectors place "dolphin" next to "whale" because people write about them together, not because they look alike.
VGSE builds a second kind of class embedding from pixels: every labelled photo is cut into patches, a small module
sorts the patches into Dv visual clusters (spotted fur, wheels, sky...), and a class is the mean cluster histogram of
its photos. A word nobody labelled gets the clusters of the labelled words that its word vector is made of (the class
relation module).

Three parts, each usable alone:
- patches: :class:`PatchGrid` cuts a photo into the whole image plus a g x g grid; :func:`patch_features` runs every
  patch through the same ONNX model as indexing (batched, decoded once per photo with ``tagger.engine.imageio``) and
  caches the backbone features on disk (``default_cache_dir``: the research cache, never the model's folder), keyed
  by the model and the file list, because they cost minutes on a laptop;
- :func:`train_clusterer`: the patch clustering module (clustering layer H -> Dv cluster probabilities, cluster-to-
  class layer Q with cross-entropy, cluster-to-semantic layer S regressing the label's word vector), on frozen features;
- :func:`relation_weights`: min_r ||w(y) - r^T w(Ys)||^2 s.t. alpha <= r_i <= 1, sum r = 1, and
  :func:`vgse_class_embeddings`, which joins the two.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from tagger.engine.imageio import Preprocessing, iter_batches, open_upright, to_network_input
from tagger.progress import ProgressFn
from tagger.research.cache import research_cache_dir

CACHE_VERSION = "vgse-patches-v1"


# ---------------------------------------------------------------------------------------------------------- patches


@dataclass(frozen=True)
class PatchGrid:
    """The whole photo (optional) plus a ``grid`` x ``grid`` tiling: Nt = grid**2 + whole patches per photo.

    The whole photo keeps the global view the classifier was trained on; the tiles give parts (a wheel, a head) that
    the clustering can share across classes, which is the point of VGSE."""

    grid: int = 3
    whole: bool = True

    def __post_init__(self) -> None:
        if self.grid < 0 or (self.grid < 2 and not self.whole):
            raise ValueError(f"a patch grid needs at least one patch (grid={self.grid}, whole={self.whole})")

    @property
    def tiles(self) -> int:
        """Number of grid tiles: grid 0 or 1 means none (the whole photo is already that patch)."""
        return self.grid * self.grid if self.grid >= 2 else 0

    @property
    def n_patches(self) -> int:
        return self.tiles + (1 if self.whole else 0)

    @property
    def label(self) -> str:
        """'1+9' for the whole photo and a 3x3 grid, '1' for the whole photo alone, '9' for tiles alone."""
        return "+".join(str(n) for n in ([1] if self.whole else []) + ([self.tiles] if self.tiles else []))

    @classmethod
    def parse(cls, text: str) -> PatchGrid:
        """'1+9' -> grid 3 with the whole photo; '1+4' -> grid 2; '1' -> whole photo only; '9' -> 3x3 tiles only."""
        parts = [p.strip() for p in str(text).split("+")]
        whole = len(parts) in (1, 2) and parts[0] == "1"
        tiles = parts[1:] if whole else parts
        if len(tiles) > 1 or not all(t.isdigit() for t in tiles) or (not whole and not tiles):
            raise ValueError(f"patch layout {text!r}: expected '1', 'N', or '1+N' with N a square (4, 9, 16)")
        n = int(tiles[0]) if tiles else 0
        grid = round(n ** 0.5)
        if tiles and (grid * grid != n or grid < 2):
            raise ValueError(f"patch layout {text!r}: {n} tiles is not a square grid of at least 2 x 2")
        return cls(grid, whole)

    def boxes(self, width: int, height: int) -> list[tuple[int, int, int, int]]:
        """(left, top, right, bottom) of every patch, whole photo first, then tiles row by row; never empty boxes."""
        if width < 1 or height < 1:
            raise ValueError("an image has at least one pixel")
        out = [(0, 0, width, height)] if self.whole else []
        g = self.grid if self.tiles else 0
        if g:
            xs = np.linspace(0, width, g + 1).round().astype(int)
            ys = np.linspace(0, height, g + 1).round().astype(int)
            for r in range(g):
                for c in range(g):
                    left, top = int(min(xs[c], width - 1)), int(min(ys[r], height - 1))
                    out.append((left, top, max(int(xs[c + 1]), left + 1), max(int(ys[r + 1]), top + 1)))
        return out


def load_patches(path: str | os.PathLike, prep: Preprocessing, grid: PatchGrid) -> np.ndarray:
    """(Nt, 3, S, S) network inputs of one photo's patches, from one decode (the indexer's decoder, upright, RGB).

    The photo is decoded large enough that each tile still has ``prep.resize`` pixels on its short side where the file
    has them; every patch then gets the model's own resize + centre crop."""
    img = open_upright(path, min_side=prep.resize * max(1, grid.grid))
    return np.stack([to_network_input(img.crop(box), prep) for box in grid.boxes(*img.size)])


@dataclass
class PatchFeatures:
    """Backbone features of every patch of the photos that decoded; rows follow ``ok`` (positions in the file list)."""

    ok: np.ndarray  # (n,) int64
    features: np.ndarray  # (n, Nt, F) float16 (halves the cache; the clustering runs in float32)
    failures: list[tuple[int, str]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def patches_per_second(self) -> float:
        return self.features.shape[0] * self.features.shape[1] / self.seconds if self.seconds > 0 else float("nan")


def patch_features(engine, paths: Sequence[str | os.PathLike], grid: PatchGrid, *, batch_size: int = 16,
                   cache_dir: Path | None = None, progress: ProgressFn | None = None,
                   workers: int | None = None) -> PatchFeatures:
    """Features of every patch of every photo, through ``engine.infer`` in batches of ``batch_size`` photos
    (batch_size * Nt patches per model call); read from ``cache_dir`` when this model already did this file list."""
    key = _cache_key(engine, [str(p) for p in paths], f"patches:{grid.label}")
    cache = Path(cache_dir) / f"patches-{grid.label.replace('+', 'p')}-{key[:20]}.npz" if cache_dir else None
    if cache is not None:
        cached = _load_patch_cache(cache, key)
        if cached is not None:
            return cached
    start = time.perf_counter()
    nt, fdim = grid.n_patches, int(engine.manifest["backbone"]["feature_dim"])
    ok, feats, failures, done = [], [], [], 0
    loader = partial(load_patches, grid=grid)
    for batch in iter_batches(list(paths), engine.prep, batch_size, workers, loader=loader):
        failures.extend(batch.failures)
        if len(batch.indices):
            s = batch.pixels.shape[-1]
            out = engine.infer(batch.pixels.reshape(-1, 3, s, s))
            feats.append(out.features.reshape(len(batch.indices), nt, -1).astype(np.float16))
            ok.extend(batch.indices)
        done += len(batch.indices) + len(batch.failures)
        if progress:
            progress(f"patch features ({grid.label} per photo)", done, len(paths))
    result = PatchFeatures(np.asarray(ok, np.int64),
                           np.concatenate(feats) if feats else np.zeros((0, nt, fdim), np.float16),
                           failures, time.perf_counter() - start)
    if cache is not None:
        _save_cache(cache, key, ok=result.ok, features=result.features, seconds=np.array(result.seconds),
                    fail_pos=np.array([i for i, _ in failures], np.int64),
                    fail_reason=np.array([r for _, r in failures], dtype=str))
    return result


def _cache_key(engine, files: Sequence[str], what: str) -> str:
    """Everything that changes the numbers: the model (folder name = backbone + word space + T), its preprocessing,
    what is computed, and the exact ordered file list."""
    h = hashlib.sha256()
    h.update(f"{CACHE_VERSION}|{engine.model_id}|{json.dumps(engine.prep.to_json(), sort_keys=True)}|{what}|".encode())
    h.update("\n".join(files).encode())
    return h.hexdigest()


def _save_cache(path: Path, key: str, **arrays: np.ndarray) -> None:
    """Atomic write (temp file + rename); a read-only or full disk only costs speed next time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, key=np.array(key), **arrays)
        os.replace(tmp, path)
    except OSError:
        pass


def _load_patch_cache(path: Path, key: str) -> PatchFeatures | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) != key:
                return None
            fails = list(zip(z["fail_pos"].tolist(), [str(r) for r in z["fail_reason"]]))
            return PatchFeatures(z["ok"], z["features"], fails, float(z["seconds"]))
    except Exception:  # a missing or damaged cache is simply recomputed
        return None


def cached_embedding(engine, paths: Sequence[str | os.PathLike], *, batch_size: int = 32,
                     cache_dir: Path | None = None, progress: ProgressFn | None = None):
    """``engine.embed_files`` (whole photos), cached like the patch features so a sweep embeds each photo once."""
    from tagger.engine.core import Embedded

    key = _cache_key(engine, [str(p) for p in paths], "embed_files")
    cache = Path(cache_dir) / f"embedded-{key[:20]}.npz" if cache_dir else None
    if cache is not None:
        try:
            with np.load(cache, allow_pickle=False) as z:
                if str(z["key"]) == key:
                    fails = list(zip(z["fail_pos"].tolist(), [str(r) for r in z["fail_reason"]]))
                    return Embedded(z["ok"].tolist(), z["features"], z["embeddings"], z["top_classes"],
                                    z["top_probs"], fails, float(z["seconds"]))
        except Exception:
            pass
    out = engine.embed_files(list(paths), batch_size=batch_size, progress=progress)
    if cache is not None:
        _save_cache(cache, key, ok=np.asarray(out.ok, np.int64), features=out.features, embeddings=out.embeddings,
                    top_classes=out.top_classes, top_probs=out.top_probs, seconds=np.array(out.seconds),
                    fail_pos=np.array([i for i, _ in out.failures], np.int64),
                    fail_reason=np.array([r for _, r in out.failures], dtype=str))
    return out


def default_cache_dir(engine) -> Path:
    """``vgse/<model>`` in the research cache (``tagger.research.cache``): never the model's folder, which the app
    ships and reads, nor the photos'."""
    return research_cache_dir() / "vgse" / engine.model_id


# ------------------------------------------------------------------------------------------- patch clustering module


@dataclass(frozen=True)
class ClusterConfig:
    dv: int = 64  # number of visual clusters = dimensions of the VGSE class embedding
    epochs: int = 30
    batch_size: int = 1024  # patches per step
    lr: float = 1e-3
    w_cls: float = 1.0  # cluster-to-class cross-entropy (Q)
    w_sem: float = 1.0  # cluster-to-semantic L2 regression onto the label's word vector (S)
    # DEC self-training (Xie et al. 2016): pulls each patch toward its sharpened assignment. Without it, H trained by
    # Q and S alone drifts to nearly uniform soft codes that carry the class in tiny differences: then a "cluster"
    # no longer means a look, and the class histograms all look alike. 0 switches it off.
    w_clu: float = 1.0
    kmeans_iters: int = 15
    kmeans_sample: int = 10000
    seed: int = 0


@dataclass
class PatchClusterer:
    """The trained clustering layer H in raw-feature space (standardisation folded in): softmax(x W^T + b)."""

    weight: np.ndarray  # (Dv, F)
    bias: np.ndarray  # (Dv,)
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def dv(self) -> int:
        return self.weight.shape[0]

    def assign(self, features: np.ndarray, chunk: int = 65536) -> np.ndarray:
        """Cluster probabilities a_nt of patches (..., F) -> (..., Dv)."""
        x = np.asarray(features).reshape(-1, self.weight.shape[1])
        out = np.empty((len(x), self.dv), np.float32)
        for lo in range(0, len(x), chunk):
            z = x[lo:lo + chunk].astype(np.float32) @ self.weight.T + self.bias
            z -= z.max(axis=1, keepdims=True)
            e = np.exp(z)
            out[lo:lo + chunk] = e / e.sum(axis=1, keepdims=True)
        return out.reshape(*np.asarray(features).shape[:-1], self.dv)

    def image_embeddings(self, patches: np.ndarray) -> np.ndarray:
        """a_n = mean over the photo's Nt patches of a_nt: (N, Nt, F) -> (N, Dv)."""
        return self.assign(patches).mean(axis=1)


def kmeans(x: np.ndarray, k: int, iters: int = 20, seed: int = 0) -> np.ndarray:
    """Plain Lloyd k-means with k-means++ seeding: (k, F) centres. Used only to start H on visual groups."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x, np.float32)
    sq = (x * x).sum(1)
    centres = [x[rng.integers(len(x))]]
    d2 = sq - 2 * x @ centres[0] + centres[0] @ centres[0]
    for _ in range(1, k):
        p = np.maximum(d2, 0)
        c = x[rng.choice(len(x), p=p / p.sum())] if p.sum() > 0 else x[rng.integers(len(x))]
        centres.append(c)
        d2 = np.minimum(d2, sq - 2 * x @ c + c @ c)
    c = np.stack(centres)
    for _ in range(iters):
        assign = np.argmin(-2 * x @ c.T + (c * c).sum(1)[None, :], axis=1)
        counts = np.bincount(assign, minlength=k)
        sums = np.zeros_like(c)
        _scatter_sum(sums, assign, x)
        empty = counts == 0
        c = np.where(empty[:, None], x[rng.integers(len(x), size=k)], sums / np.maximum(counts, 1)[:, None])
    return c


def _scatter_sum(out: np.ndarray, index: np.ndarray, x: np.ndarray) -> None:
    """out[index[i]] += x[i] as one sparse one-hot product (np.add.at and per-cluster masks are slow on big arrays)."""
    from scipy import sparse

    onehot = sparse.csr_matrix((np.ones(len(index), np.float32), (index, np.arange(len(index)))),
                               shape=(len(out), len(index)))
    out += onehot @ x


def train_clusterer(patches: np.ndarray, y: np.ndarray, word_vectors: np.ndarray,
                    config: ClusterConfig = ClusterConfig(), *, progress: ProgressFn | None = None) -> PatchClusterer:
    """Train H, Q and S on frozen patch features (N, Nt, F) of photos labelled ``y`` (N,) (index into the seen labels'
    ``word_vectors`` (L, Dw)); every patch carries its photo's label, as in the paper. Returns H only: Q and S exist
    to shape the clusters (class-discriminative, transferable through word space) and are not needed afterwards."""
    import torch
    import torch.nn.functional as F

    start = time.perf_counter()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    _, nt, fdim = patches.shape
    flat = np.asarray(patches, np.float32).reshape(-1, fdim)
    py = np.repeat(np.asarray(y, np.int64), nt)
    mu = flat.mean(0)
    sd = flat.std(0) + 1e-6
    xs = (flat - mu) / sd
    # H starts as a soft nearest-centre assignment to k-means centres (logit_k = x.c_k - |c_k|^2 / 2, scaled so the
    # logits spread over a few units): clusters begin as visual groups, and the losses then refine them.
    sample = xs[rng.permutation(len(xs))[:config.kmeans_sample]]
    centres = kmeans(sample, config.dv, config.kmeans_iters, config.seed)
    raw = sample[:4096] @ centres.T - 0.5 * (centres * centres).sum(1)
    scale = 3.0 / float((raw - raw.mean(1, keepdims=True)).std() + 1e-6)
    h = torch.nn.Linear(fdim, config.dv)
    q = torch.nn.Linear(config.dv, len(word_vectors))
    s = torch.nn.Linear(config.dv, word_vectors.shape[1])
    with torch.no_grad():
        h.weight.copy_(torch.from_numpy(scale * centres))
        h.bias.copy_(torch.from_numpy(-0.5 * scale * (centres * centres).sum(1)))
    params = list(h.parameters()) + list(q.parameters()) + list(s.parameters())
    opt = torch.optim.Adam(params, lr=config.lr)
    xt = torch.from_numpy(xs)
    yt = torch.from_numpy(py)
    wv = torch.from_numpy(np.asarray(word_vectors, np.float32))
    history = []
    for epoch in range(1, config.epochs + 1):
        order = torch.from_numpy(rng.permutation(len(xs)))
        totals = np.zeros(3)
        for lo in range(0, len(order), config.batch_size):
            bi = order[lo:lo + config.batch_size]
            a = F.softmax(h(xt[bi]), dim=1)
            l_cls = F.cross_entropy(q(a), yt[bi])
            l_sem = ((s(a) - wv[yt[bi]]) ** 2).sum(1).mean()
            loss = config.w_cls * l_cls + config.w_sem * l_sem
            l_clu = torch.zeros(())
            if config.w_clu > 0:
                with torch.no_grad():
                    target = a ** 2 / a.sum(0, keepdim=True)
                    target = target / target.sum(1, keepdim=True)
                l_clu = (target * (torch.log(target + 1e-12) - torch.log(a + 1e-12))).sum(1).mean()
                loss = loss + config.w_clu * l_clu
            opt.zero_grad()
            loss.backward()
            opt.step()
            totals += [l_cls.item(), l_sem.item(), l_clu.item()]
        steps = max(1, -(-len(order) // config.batch_size))
        history.append({"epoch": epoch, "cls": totals[0] / steps, "sem": totals[1] / steps, "clu": totals[2] / steps})
        if progress:
            progress(f"clustering patches (Dv={config.dv})", epoch, config.epochs)
    w = h.weight.detach().numpy().astype(np.float32)
    b = h.bias.detach().numpy().astype(np.float32)
    wf = w / sd[None, :]
    return PatchClusterer(wf.astype(np.float32), (b - wf @ mu).astype(np.float32), history,
                          time.perf_counter() - start)


def class_means(embeddings: np.ndarray, y: np.ndarray, n_classes: int) -> np.ndarray:
    """phi(y) = mean of the image embeddings of class y: (N, D) -> (n_classes, D); a class with no photo gets zeros."""
    out = np.zeros((n_classes, embeddings.shape[1]), np.float32)
    counts = np.bincount(np.asarray(y, np.int64), minlength=n_classes)
    np.add.at(out, np.asarray(y, np.int64), np.asarray(embeddings, np.float32))
    return out / np.maximum(counts, 1)[:, None]


# -------------------------------------------------------------------------------------------- class relation module


def project_bounded_simplex(v: np.ndarray, lo: float, hi: float = 1.0, total: float = 1.0,
                            iters: int = 100) -> np.ndarray:
    """Euclidean projection of each row of ``v`` onto {r : lo <= r_i <= hi, sum r = total}: r = clip(v - tau, lo, hi)
    with the shift tau found by bisection (the sum is monotone in tau)."""
    v = np.atleast_2d(np.asarray(v, np.float64))
    k = v.shape[1]
    if not (k * lo <= total <= k * hi):
        raise ValueError(f"no r with {lo} <= r_i <= {hi} sums to {total} over {k} entries")
    a = (v.min(1) - hi)[:, None]  # sum = k*hi >= total
    b = (v.max(1) - lo)[:, None]  # sum = k*lo <= total
    for _ in range(iters):
        mid = 0.5 * (a + b)
        over = np.clip(v - mid, lo, hi).sum(1, keepdims=True) > total
        a = np.where(over, mid, a)
        b = np.where(over, b, mid)
    return np.clip(v - 0.5 * (a + b), lo, hi)


def relation_weights(targets: np.ndarray, basis: np.ndarray, alpha: float = 0.0, iters: int = 3000,
                     tol: float = 1e-10) -> np.ndarray:
    """VGSE's class relation: for each target word vector t (M, D), the r (M, S) minimising ||t - r^T basis||^2
    subject to alpha <= r_i <= 1 and sum r = 1, with ``basis`` (S, D) the seen labels' word vectors.

    A small convex QP, solved by accelerated projected gradient (FISTA): the feasible set is a capped simplex whose
    projection is exact and cheap, and all M targets are solved at once. alpha = 0 gives convex combinations (sparse:
    a few related seen labels); alpha < 0 lets a label be "like A but unlike B"."""
    t = np.atleast_2d(np.asarray(targets, np.float64))
    bm = np.asarray(basis, np.float64)
    s = bm.shape[0]
    if alpha * s > 1:
        raise ValueError(f"alpha={alpha} leaves no weights summing to 1 over {s} seen labels (need alpha <= 1/{s})")
    gram = bm @ bm.T
    step = 1.0 / (2.0 * max(float(np.linalg.eigvalsh(gram)[-1]), 1e-12))
    tb = t @ bm.T  # (M, S)
    r = project_bounded_simplex(np.full((len(t), s), 1.0 / s), alpha)
    z, mom = r.copy(), 1.0
    for _ in range(iters):
        grad = 2.0 * (z @ gram - tb)
        r_next = project_bounded_simplex(z - step * grad, alpha)
        mom_next = 0.5 * (1 + np.sqrt(1 + 4 * mom * mom))
        z = r_next + ((mom - 1) / mom_next) * (r_next - r)
        moved = float(np.abs(r_next - r).max())
        r, mom = r_next, mom_next
        if moved < tol:
            break
    return r


def vgse_class_embeddings(seen_vgse: np.ndarray, seen_words: np.ndarray, all_words: np.ndarray,
                          is_seen: np.ndarray, alpha: float = 0.0) -> np.ndarray:
    """Class embeddings of every candidate: seen rows from their photos (``seen_vgse``, in the order of the True
    entries of ``is_seen``), every other row r^T phi_VGSE(Ys) with r from :func:`relation_weights` on word vectors."""
    is_seen = np.asarray(is_seen, bool)
    out = np.zeros((len(is_seen), seen_vgse.shape[1]), np.float32)
    out[is_seen] = seen_vgse
    others = np.flatnonzero(~is_seen)
    if len(others):
        r = relation_weights(all_words[others], seen_words, alpha)
        out[others] = (r @ np.asarray(seen_vgse, np.float64)).astype(np.float32)
    return out
