"""``tagger eval --embedding word|vgse|both``: the same zero-shot classifier on each kind of class embedding.

The question is VGSE's claim (Xu et al., CVPR 2022): do class embeddings learned from labelled photos' patches (and
carried to unlabelled words by the class relation module) transfer better than word vectors? To isolate the class
embedding, every kind goes through one fixed classifier, the one VGSE's released evaluation uses for its SJE rows: a
linear map of the photo's backbone features into the class-embedding space, scored by (scaled) cosine with each
class embedding and trained with softmax cross-entropy on the seen labels' photos (ALE/DeViSE family). The app's
own trained model cannot serve here: its head adds a residual to ConSE's word-space vector and its zero-training
expert scores words through WordNet, both tied to word space. Its figures are reported alongside for reference.

Protocol ("retraining", ``--train`` + ``--split``): classifier and clusters see only the training photos of seen
labels. ZSL: unseen test photos, candidates = unseen labels. GZSL: all test photos, candidates = all labels, with
calibrated stacking (a constant gamma subtracted from seen labels' scores, Chao et al. 2016) whose gamma is chosen
per kind by pseudo-GZSL on the training photos alone, as ``tagger.training.calibration.calibrate`` does for the app:
30% of the seen labels play unseen, and for VGSE their embeddings come from the relation module with the clustering
retrained without their photos. Nothing is written except the feature cache, in the research cache folder
(``tagger.research.vgse.default_cache_dir``), never the model's.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from tagger.engine.scoring import harmonic_mean, hits_at
from tagger.engine.vectors import unit
from tagger.research.evaluate import Dataset, DatasetError
from tagger.research.evaluate_trained import evaluate_trained, trained_labels
from tagger.research.vgse import (
    ClusterConfig,
    PatchFeatures,
    PatchGrid,
    cached_embedding,
    class_means,
    default_cache_dir,
    patch_features,
    train_clusterer,
    vgse_class_embeddings,
)
from tagger.training.calibration import PSEUDO_UNSEEN_FRACTION
from tagger.training.trainer import EarlyStopping, stratified_split

KINDS = ("word", "vgse", "both")
# Analysis control, not a CLI choice: VGSE with every seen label's visual embedding replaced by a one-hot, so an
# unseen label is just its relation weights over the seen labels. What VGSE gains beyond it is what the clusters add.
CONTROL = "relation"
# Chosen by bench/vgse_sweep.py on the Caltech-101 split (training-photo calibration H, not test figures decide).
DEFAULT_SETTING = ("1+4", 64)
STACKING_GRID = tuple(round(0.05 * i, 2) for i in range(121))  # 0 .. 6 on the classifier's logit scale
CALIBRATION_REPEATS = 3


@dataclass(frozen=True)
class CompatConfig:
    """The fixed classifier, identical for every kind of class embedding."""

    scale: float = 10.0  # logits = scale * cos(W f(x), phi(y))
    lr: float = 1e-3
    weight_decay: float = 1e-4
    epochs: int = 100
    patience: int = 10  # epochs without a lower held-out cross-entropy
    batch_size: int = 256
    val_fraction: float = 0.15
    seed: int = 0


@dataclass
class Compat:
    """Trained compatibility classifier: standardisation, then a linear map into the class-embedding space."""

    mu: np.ndarray
    sd: np.ndarray
    weight: np.ndarray  # (D, F)
    bias: np.ndarray  # (D,)
    scale: float
    epochs_run: int = 0

    def scores(self, features: np.ndarray, class_embeddings: np.ndarray) -> np.ndarray:
        """(N, C) scaled cosines between each photo's projection and each (unit) class embedding."""
        z = ((np.asarray(features, np.float32) - self.mu) / self.sd) @ self.weight.T + self.bias
        z = unit(z)
        return self.scale * z @ np.asarray(class_embeddings, np.float32).T


def train_compat(features: np.ndarray, y: np.ndarray, class_embeddings: np.ndarray,
                 config: CompatConfig = CompatConfig()) -> Compat:
    """Softmax cross-entropy over the seen labels' (unit) embeddings (L, D); early stopping on held-out photos."""
    import torch
    import torch.nn.functional as F

    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    tr, val = stratified_split(np.asarray(y), config.val_fraction, config.seed)
    if not len(val):
        val = tr
    mu = features[tr].mean(0)
    sd = features[tr].std(0) + 1e-6
    x = torch.from_numpy(((features - mu) / sd).astype(np.float32))
    yt = torch.from_numpy(np.asarray(y, np.int64))
    emb = torch.from_numpy(np.asarray(class_embeddings, np.float32))
    layer = torch.nn.Linear(x.shape[1], emb.shape[1])
    opt = torch.optim.Adam(layer.parameters(), lr=config.lr, weight_decay=config.weight_decay)

    def logits(rows):
        return config.scale * F.normalize(layer(x[rows]), dim=1) @ emb.T

    def val_loss() -> float:
        """Held-out cross-entropy: smoother than accuracy, which plateaus within a few epochs on easy labels."""
        with torch.no_grad():
            return float(F.cross_entropy(logits(torch.from_numpy(val)), yt[val]))

    best, stopper, epochs = float("inf"), EarlyStopping(layer, config.patience), 0
    for epochs in range(1, config.epochs + 1):
        order = rng.permutation(tr)
        for lo in range(0, len(order), config.batch_size):
            bi = torch.from_numpy(order[lo:lo + config.batch_size])
            loss = F.cross_entropy(logits(bi), yt[bi])
            opt.zero_grad()
            loss.backward()
            opt.step()
        current = val_loss()
        improved = current < best - 1e-6
        best = min(best, current)
        if stopper.step(epochs, improved):
            break
    stopper.restore()
    return Compat(mu.astype(np.float32), sd.astype(np.float32), layer.weight.detach().numpy().copy(),
                  layer.bias.detach().numpy().copy(), config.scale, epochs)


def prepare(embeddings: np.ndarray, is_seen: np.ndarray) -> np.ndarray:
    """The same normalisation for every kind: centre on the seen labels' mean (VGSE histograms are all positive and
    word vectors share a common direction, so raw cosines are all high), then unit rows."""
    e = np.asarray(embeddings, np.float64)
    e = e - e[np.asarray(is_seen, bool)].mean(0)
    return unit(e).astype(np.float32)


def kind_embeddings(kind: str, word: np.ndarray, vgse: np.ndarray | None, is_seen: np.ndarray,
                    alpha: float = 0.0) -> np.ndarray:
    """(C, D) class embeddings of one kind; 'both' is the concatenation of the two normalised parts (unit again)."""
    if kind == "word":
        return prepare(word, is_seen)
    if kind == CONTROL:
        is_seen = np.asarray(is_seen, bool)
        onehot = np.eye(int(is_seen.sum()), dtype=np.float32)
        return prepare(vgse_class_embeddings(onehot, word[is_seen], word, is_seen, alpha), is_seen)
    if vgse is None:
        raise ValueError(f"kind {kind!r} needs VGSE embeddings")
    if kind == "vgse":
        return prepare(vgse, is_seen)
    if kind == "both":
        return np.concatenate([prepare(word, is_seen), prepare(vgse, is_seen)], axis=1) / np.sqrt(2.0)
    raise ValueError(f"unknown kind of class embedding {kind!r} (expected one of {', '.join(KINDS)})")


def kinds_for(choice: str) -> list[str]:
    """What ``--embedding CHOICE`` reports: word always (the reference), plus VGSE, plus their concatenation."""
    return {"word": ["word"], "vgse": ["word", "vgse"], "both": list(KINDS)}[choice]


def stack(scores: np.ndarray, trained: np.ndarray, gamma: float) -> np.ndarray:
    """Calibrated stacking: seen labels' scores lowered by gamma, so unseen labels can win (GZSL)."""
    return scores - gamma * np.asarray(trained, np.float32)[None, :]


def per_class_mean(pred: np.ndarray, truth: np.ndarray) -> float:
    """Mean over classes of top-1 accuracy (the ZSL literature's figure, VGSE's tables); nan when empty."""
    classes = np.unique(truth)
    return float(np.mean([(pred[truth == c] == c).mean() for c in classes])) if len(classes) else float("nan")


@dataclass
class _Photos:
    """Everything one setting needs, in candidate-index space."""

    features: np.ndarray  # (N, F) whole-photo backbone features, train + test
    truth: np.ndarray  # (N,) candidate index
    train_rows: np.ndarray  # seen-label training photos
    test_rows: np.ndarray
    patch_truth: np.ndarray  # (P,) candidate index of each photo with patch features
    word: np.ndarray  # (C, Dw) unit word vectors of the candidates
    trained: np.ndarray  # (C,) seen labels


def _vgse_for(photos: _Photos, patches: np.ndarray, seen_mask: np.ndarray, cluster: ClusterConfig,
              alpha: float, progress) -> tuple[np.ndarray, dict]:
    """VGSE class embeddings of every candidate when only ``seen_mask`` labels have photos: cluster their patches,
    average per class, carry to the rest through the relation module."""
    seen_idx = np.flatnonzero(seen_mask)
    pos = {c: i for i, c in enumerate(seen_idx)}
    rows = np.flatnonzero(seen_mask[photos.patch_truth])
    y = np.array([pos[t] for t in photos.patch_truth[rows]], np.int64)
    model = train_clusterer(patches[rows], y, photos.word[seen_idx], cluster, progress=progress)
    seen_vgse = class_means(model.image_embeddings(patches[rows]), y, len(seen_idx))
    emb = vgse_class_embeddings(seen_vgse, photos.word[seen_idx], photos.word, seen_mask, alpha)
    return emb, {"seconds": round(model.seconds, 1), "final_losses": model.history[-1] if model.history else {}}


@dataclass(frozen=True)
class _PseudoSplit:
    """One calibration repeat: some seen labels play unseen, the classifier is fitted without their photos."""

    seen: np.ndarray  # (C,) bool: the pseudo-seen candidates
    fit_rows: np.ndarray  # photos the classifier is fitted on
    eval_rows: np.ndarray  # held-out pseudo-seen photos and every pseudo-unseen one


def _pseudo_splits(photos: _Photos, seed: int) -> list[_PseudoSplit]:
    """One split per repeat: 30% of the seen labels play unseen; the same draws as
    ``tagger.training.calibration.calibrate`` (seeds seed + 1000 + r)."""
    seen_idx = np.flatnonzero(photos.trained)
    y = photos.truth[photos.train_rows]
    out = []
    for r in range(CALIBRATION_REPEATS):
        rng = np.random.default_rng(seed + 1000 + r)
        size = max(1, int(round(PSEUDO_UNSEEN_FRACTION * len(seen_idx))))
        pseudo_unseen = rng.choice(seen_idx, size=size, replace=False)
        mask = photos.trained.copy()
        mask[pseudo_unseen] = False
        seen_rows = photos.train_rows[~np.isin(y, pseudo_unseen)]
        fit, held = stratified_split(photos.truth[seen_rows], 0.15, seed + r)
        eval_rows = np.concatenate([seen_rows[held], photos.train_rows[np.isin(y, pseudo_unseen)]])
        out.append(_PseudoSplit(mask, seen_rows[fit], eval_rows))
    return out


def _fit_and_score(photos: _Photos, emb: np.ndarray, mask: np.ndarray, fit_rows: np.ndarray, rows: np.ndarray,
                   config: CompatConfig) -> tuple[np.ndarray, Compat]:
    seen_idx = np.flatnonzero(mask)
    pos = {c: i for i, c in enumerate(seen_idx)}
    y = np.array([pos[t] for t in photos.truth[fit_rows]], np.int64)
    model = train_compat(photos.features[fit_rows], y, emb[seen_idx], config)
    return model.scores(photos.features[rows], emb), model


def _evaluate_kind(photos: _Photos, emb: np.ndarray, pseudo: list[tuple[np.ndarray, _PseudoSplit]],
                   config: CompatConfig, app: dict | None = None) -> dict[str, Any]:
    """ZSL and calibrated GZSL figures of one (C, D) class-embedding matrix; ``pseudo`` holds, per calibration
    repeat, the embeddings built without the pseudo-unseen labels' photos and the split. With ``app`` (the app's
    test scores), also the ceiling of adding this classifier to the app (``fusion_ceiling``)."""
    grid = np.zeros(len(STACKING_GRID))
    for p_emb, split in pseudo:
        s, _ = _fit_and_score(photos, p_emb, split.seen, split.fit_rows, split.eval_rows, config)
        truth = photos.truth[split.eval_rows]
        is_seen = split.seen[truth]
        grid += [harmonic_mean(stack(s, split.seen, g).argmax(1), truth, is_seen) / len(pseudo)
                 for g in STACKING_GRID]
    gamma = float(STACKING_GRID[int(np.argmax(grid))])
    scores, model = _fit_and_score(photos, emb, photos.trained, photos.train_rows, photos.test_rows, config)
    truth = photos.truth[photos.test_rows]
    is_seen = photos.trained[truth]
    unseen_idx = np.flatnonzero(~photos.trained)
    zsl_pred = unseen_idx[scores[~is_seen][:, unseen_idx].argmax(1)]
    zsl_truth = truth[~is_seen]
    out: dict[str, Any] = {
        "zsl_unseen@1": float((zsl_pred == zsl_truth).mean()) if len(zsl_truth) else float("nan"),
        "zsl_unseen@1_per_class": per_class_mean(zsl_pred, zsl_truth),
        "gamma": gamma, "calibration_H": float(grid.max()), "epochs_run": model.epochs_run,
    }
    for name, g in (("", gamma), ("raw_", 0.0)):
        stacked = stack(scores, photos.trained, g)
        pred = stacked.argmax(1)
        hits = {m: hits_at(stacked[mask], truth[mask], (1, 5)) for m, mask in (("seen", is_seen), ("unseen", ~is_seen))}
        out.update({f"{name}seen@1": hits["seen"][1], f"{name}unseen@1": hits["unseen"][1],
                    f"{name}H": harmonic_mean(pred, truth, is_seen)})
        if not name:
            out.update({"seen@5": hits["seen"][5], "unseen@5": hits["unseen"][5]})
            s_pc, u_pc = per_class_mean(pred[is_seen], truth[is_seen]), per_class_mean(pred[~is_seen], truth[~is_seen])
            out["H_per_class"] = 2 * s_pc * u_pc / (s_pc + u_pc) if s_pc + u_pc > 0 else 0.0
    if app is not None:
        out["app_fusion"] = fusion_ceiling(app["scores"], scores / config.scale, truth, photos.trained)
    return out


def fusion_ceiling(app_scores: np.ndarray, cosines: np.ndarray, truth: np.ndarray, trained: np.ndarray,
                   betas: Sequence[float] = tuple(np.round(np.arange(0, 0.61, 0.02), 2)),
                   shifts: Sequence[float] = tuple(np.round(np.arange(-0.2, 0.21, 0.02), 2))) -> dict[str, float]:
    """Best GZSL H of ``app + beta * cosines + shift * trained`` over a grid, TUNED ON THE TEST PHOTOS: a ceiling on
    what adding a classifier to the app's scorer could give (any calibrated mix of this family scores at most this),
    used to decide whether wiring it in is worth it, never reported as a result."""
    is_seen = np.asarray(trained, bool)[truth]
    base = harmonic_mean(app_scores.argmax(1), truth, is_seen)
    best = (base, 0.0, 0.0)
    seen_row = np.asarray(trained, np.float32)[None, :]
    for beta in betas:
        mixed = app_scores + beta * cosines
        for shift in shifts:
            h = harmonic_mean((mixed + shift * seen_row).argmax(1), truth, is_seen)
            if h > best[0] + 1e-12:
                best = (h, float(beta), float(shift))
    return {"H_app": base, "H_ceiling": best[0], "gain_ceiling": best[0] - base, "beta": best[1], "shift": best[2]}


def evaluate_embeddings(engine, dataset: Dataset, train_files: Sequence[str], split: dict[str, str], *,
                        kinds: Sequence[str] = KINDS, settings: Sequence[tuple[str, int]] = (DEFAULT_SETTING,),
                        cluster: ClusterConfig = ClusterConfig(), compat: CompatConfig = CompatConfig(),
                        alpha: float = 0.0, batch_size: int = 32, progress=None, seed: int = 0,
                        reference: bool = True, cache: bool = True) -> dict[str, Any]:
    """Word, VGSE and concatenated class embeddings through the same classifier, for each (patch layout, Dv) in
    ``settings`` (e.g. ('1+9', 64)); the 'word' row (and the 'relation' control, when asked) does not depend on the
    setting and is computed once. With ``reference``, the app's own trained model (``evaluate_trained``) is scored on
    the same features alongside, and each row gets the test-tuned ceiling of adding it to the app (``app_fusion``)."""
    start = time.perf_counter()
    if not kinds or any(k not in KINDS + (CONTROL,) for k in kinds):
        raise ValueError(f"kinds must be among {', '.join(KINDS + (CONTROL,))}, got {list(kinds)}")
    kinds = [k for k in KINDS + (CONTROL,) if k in set(kinds)]
    if split is None:
        raise DatasetError("--embedding compares zero-shot transfer: it needs --split (which labels are unseen)")
    train_files = list(train_files)
    cands = trained_labels(dataset, train_files, split)
    candidates, cand_index, trained = cands.labels, cands.index, cands.trained
    label_of = dataset.label_of
    cache_dir = default_cache_dir(engine) if cache else None

    all_files = train_files + list(dataset.files)
    out = cached_embedding(engine, [dataset.root / f for f in all_files], batch_size=batch_size,
                           cache_dir=cache_dir, progress=progress)
    ok = np.asarray(out.ok)
    truth = np.array([cand_index[label_of(all_files[i])] for i in ok], np.int64)
    is_train = ok < len(train_files)
    train_rows = np.flatnonzero(is_train & trained[truth])
    if not len(train_rows):
        raise DatasetError("no training photo has a seen label to train on")
    seen_pos = [i for i, f in enumerate(train_files) if trained[cand_index[label_of(f)]]]
    seen_train = [train_files[i] for i in seen_pos]
    photos = _Photos(out.features, truth, train_rows, np.flatnonzero(~is_train), np.zeros(0, np.int64),
                     engine.word_space.text_vectors(candidates), trained)
    pseudo_rows = _pseudo_splits(photos, seed)
    app = None
    if reference:
        ref = evaluate_trained(engine, dataset, train_files, split, batch_size=batch_size, progress=progress,
                               seed=seed, baselines=False, embedded=out, keep_scores=True)
        app = ref["test_scores"]
        if not np.array_equal(app["truth"], truth[photos.test_rows]):
            raise RuntimeError("the app's evaluation and this one disagree on the test photos")

    result: dict[str, Any] = {
        "dataset": str(dataset.root), "protocol": "gzsl", "n_images": int(len(photos.test_rows)),
        "n_train_images": int(len(train_rows)), "n_labels": len(candidates), "n_seen_labels": int(trained.sum()),
        "n_unseen_labels": int((~trained).sum()), "model": engine.model_id, "classifier": asdict(compat),
        "cluster": asdict(cluster), "alpha": alpha, "kinds": kinds, "settings": [],
        "failures": [{"file": all_files[i], "reason": r} for i, r in sorted(out.failures)],
    }
    for kind in (k for k in ("word", CONTROL) if k in kinds):  # independent of the VGSE setting: computed once
        emb = kind_embeddings(kind, photos.word, None, trained, alpha)
        pseudo = [(kind_embeddings(kind, photos.word, None, p.seen, alpha), p) for p in pseudo_rows]
        result[kind] = _evaluate_kind(photos, emb, pseudo, compat, app)
    for layout, dv in settings if {"vgse", "both"} & set(kinds) else ():
        grid = PatchGrid.parse(layout)
        pf = _patches(engine, dataset, seen_train, grid, batch_size, cache_dir, progress, (out, seen_pos))
        photos.patch_truth = np.array([cand_index[label_of(seen_train[i])] for i in pf.ok], np.int64)
        cfg = replace(cluster, dv=int(dv))
        entry: dict[str, Any] = {"patches": grid.label, "dv": int(dv), "patch_seconds": round(pf.seconds, 1),
                                 "n_patch_photos": int(len(pf.ok))}
        vgse, entry["clustering"] = _vgse_for(photos, pf.features, trained, cfg, alpha, progress)
        pseudo_vgse = [_vgse_for(photos, pf.features, p.seen, cfg, alpha, progress)[0] for p in pseudo_rows]
        for kind in (k for k in kinds if k in ("vgse", "both")):
            pseudo = [(kind_embeddings(kind, photos.word, v, p.seen), p) for v, p in zip(pseudo_vgse, pseudo_rows)]
            entry[kind] = _evaluate_kind(photos, kind_embeddings(kind, photos.word, vgse, trained), pseudo, compat,
                                         app)
        result["settings"].append(entry)
    if reference:
        t = truth[photos.test_rows]
        unseen_idx = np.flatnonzero(~trained)
        zsl = unseen_idx[app["scores"][~trained[t]][:, unseen_idx].argmax(1)] == t[~trained[t]]
        result["app"] = {"description": "the app's trained model (word space: trained head + zero-training expert)",
                         "zsl_unseen@1": float(zsl.mean()) if len(zsl) else float("nan"),
                         "seen@1": ref.get("seen_hit@1"), "unseen@1": ref.get("unseen_hit@1"), "H": ref.get("H"),
                         "calibration": ref["calibration"]}
    result["seconds"] = round(time.perf_counter() - start, 1)
    return result


def _patches(engine, dataset: Dataset, files: list[str], grid: PatchGrid, batch_size: int, cache_dir, progress,
             whole: tuple[Any, list[int]]) -> PatchFeatures:
    """Patch features of the seen labels' training photos. The whole-photo-only layout ('1') is exactly the features
    the model already gave for those photos (same decode, same crop), so they are reused instead of recomputed."""
    if grid.tiles == 0:
        out, positions = whole
        row_of = {int(i): r for r, i in enumerate(out.ok)}
        idx = [j for j, p in enumerate(positions) if p in row_of]
        feats = out.features[[row_of[positions[j]] for j in idx]][:, None, :].astype(np.float16)
        return PatchFeatures(np.asarray(idx, np.int64), feats)
    pf = patch_features(engine, [dataset.root / f for f in files], grid, batch_size=max(1, batch_size // 2),
                        cache_dir=cache_dir, progress=progress)
    if not len(pf.ok):
        raise DatasetError("none of the training photos could be cut into patches")
    return pf


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Flat table rows (kind, patches, dv, figures), word first: what the CLI and the sweep print. ``app+`` is the
    test-tuned ceiling of the app's H with this classifier's scores added (nan without the app reference)."""
    keys = ("zsl_unseen@1", "seen@1", "unseen@1", "H", "raw_H", "gamma", "calibration_H")
    entries = [(k, "-", "-", result[k]) for k in ("word", CONTROL) if k in result]
    entries += [(k, s["patches"], s["dv"], s[k]) for s in result["settings"] for k in ("vgse", "both") if k in s]
    return [{"kind": kind, "patches": p, "dv": dv, **{k: f[k] for k in keys},
             "app+": f["app_fusion"]["H_ceiling"] if "app_fusion" in f else float("nan")} for kind, p, dv, f in entries]


def format_embedding_eval(result: dict[str, Any]) -> str:
    """The side-by-side table ``tagger eval --embedding`` prints."""
    lines = [
        f"{result['dataset']}: {result['n_train_images']} training photos of {result['n_seen_labels']} seen labels; "
        f"{result['n_images']} test photos; {result['n_unseen_labels']} unseen labels"
        + (f"; {len(result['failures'])} photos skipped (unreadable)" if result["failures"] else ""),
        "same classifier for every kind (linear map + cosine softmax on seen labels; GZSL with calibrated stacking, "
        "gamma chosen on training photos)",
        "",
        f"{'kind':<9}{'patches':>8}{'Dv':>5}{'ZSL u@1':>9}{'seen@1':>8}{'unseen@1':>9}{'H':>7}{'H(g=0)':>8}"
        f"{'gamma':>7}{'app+':>7}",
    ]
    for r in rows(result):
        lines.append(f"{r['kind']:<9}{r['patches']:>8}{r['dv']!s:>5}{r['zsl_unseen@1']:>9.3f}{r['seen@1']:>8.3f}"
                     f"{r['unseen@1']:>9.3f}{r['H']:>7.3f}{r['raw_H']:>8.3f}{r['gamma']:>7.2f}{r['app+']:>7.3f}")
    if "app" in result:
        a = result["app"]
        lines += ["", f"the app's own trained model (word space, its own classifier): ZSL u@1 {a['zsl_unseen@1']:.3f}, "
                      f"seen@1 {a['seen@1']:.3f}, "
                      f"unseen@1 {a['unseen@1']:.3f}, H {a['H']:.3f}; app+ = its H with the row's classifier "
                      "added, TUNED ON TEST PHOTOS (a ceiling for deciding, not a result)"]
    return "\n".join(lines)
