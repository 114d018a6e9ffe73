"""``tagger eval``: zero-shot accuracy of the default model against baselines, on the same features, in one run.

A data set is a folder with one sub-folder per class. Metrics follow the literature we compare with: flat hit@k over the
distinct label texts (DeViSE, ConSE), split by whether the label is an ImageNet-1k class, and the UW paper's
similarity@3 (mean word-space cosine between the true label and each of the photo's top-3 tags from the full tag
vocabulary).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tagger.engine.imageio import IMAGE_SUFFIXES
from tagger.engine.scoring import TAG_DELTA, LabelSet, hits_at
from tagger.engine.semantics import is_imagenet_label
from tagger.engine.vectors import unit
from tagger.errors import TaggerError

KS = (1, 2, 5, 10, 20)


class DatasetError(TaggerError, ValueError):
    """The data set description is inconsistent (missing folders, empty lists); the message says what to fix."""


@dataclass
class Dataset:
    root: Path
    files: list[str]  # "folder/file" relative to root
    folder_labels: dict[str, str]  # folder -> label text

    @property
    def labels(self) -> list[str]:
        """Distinct label texts, sorted: several folders may share one label (Faces, Faces_easy -> face)."""
        return sorted(set(self.label_of(f) for f in self.files))

    def label_of(self, file: str) -> str:
        """The label of a "folder/file" path: its folder's."""
        return self.folder_labels[file.split("/", 1)[0]]

    def truth(self) -> np.ndarray:
        index = {label: i for i, label in enumerate(self.labels)}
        return np.array([index[self.label_of(f)] for f in self.files], np.int64)


def read_dataset(root: Path, labels_file: Path | None = None, images_file: Path | None = None) -> Dataset:
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder")
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    mapping = {f: f.replace("_", " ") for f in folders}
    if labels_file is not None:
        named = _read_labels(Path(labels_file))
        missing = sorted(f for f in named if f not in mapping)
        if missing:
            shown = ", ".join(missing[:10]) + (" …" if len(missing) > 10 else "")
            raise DatasetError(f"{labels_file} names {len(missing)} folder(s) not in {root}: {shown}")
        mapping.update(named)
    if images_file is not None:
        files = [line.strip() for line in Path(images_file).read_text(encoding="utf-8").splitlines()
                 if line.strip() and not line.startswith("#")]
        bad = sorted({f.split("/", 1)[0] for f in files if "/" not in f or f.split("/", 1)[0] not in mapping})
        if bad:
            raise DatasetError(f"{images_file} lists files outside the class folders of {root}: {', '.join(bad[:10])}")
    else:
        files = [f"{folder}/{p.name}" for folder in folders for p in sorted((root / folder).iterdir())
                 if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    if not files:
        raise DatasetError(f"no images to evaluate in {root}")
    return Dataset(root, files, mapping)


def _read_labels(path: Path) -> dict[str, str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from None
    out: dict[str, str] = {}
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) < 2 or not parts[1].strip():
            raise DatasetError(f"{path}:{n}: expected 'folder<TAB>label'")
        if n == 1 and parts[0].strip().lower() == "folder":
            continue  # header
        out[parts[0].strip()] = parts[1].strip()
    return out


# ---------------------------------------------------------------- metrics


def metrics(scores: np.ndarray, truth: np.ndarray, label_is_imagenet: np.ndarray) -> dict[str, Any]:
    """hit@k overall and split by whether the true label is an ImageNet class (candidates are always all labels)."""
    out: dict[str, Any] = {f"hit@{k}": v for k, v in hits_at(scores, truth, KS).items()}
    for name, mask in (("imagenet", label_is_imagenet[truth]), ("non_imagenet", ~label_is_imagenet[truth])):
        sub = hits_at(scores[mask], truth[mask], KS)
        out[name] = {"n_images": int(mask.sum()), "n_labels": int(len(set(truth[mask].tolist()))),
                     **{f"hit@{k}": v for k, v in sub.items()}}
    return out


def similarity_at_3(tag_vectors: np.ndarray, top3: np.ndarray, label_vectors: np.ndarray, truth: np.ndarray) -> float:
    """Mean cosine between each photo's true label vector and each of its top-3 tags' vectors (UW paper)."""
    sims = np.einsum("nd,nkd->nk", label_vectors[truth], tag_vectors[top3])
    return float(sims.mean())


def random_vectors(texts: Sequence[str], dim: int, seed: int = 0) -> np.ndarray:
    """Unit vectors that depend only on the text: the same words get the same vector, meaning is gone."""
    out = np.zeros((len(texts), dim), np.float32)
    for i, t in enumerate(texts):
        h = int.from_bytes(hashlib.sha256(f"{seed}:{t.lower().strip()}".encode()).digest()[:8], "little")
        v = np.random.default_rng(h).standard_normal(dim)
        out[i] = v / np.linalg.norm(v)
    return out


@dataclass
class Method:
    """One way of scoring labels, on the same extracted model outputs as every other method in the run."""

    name: str
    description: str
    embeddings: np.ndarray  # (N, D) what the method compares with label vectors
    use_wordnet: bool
    hub_correction: bool
    vectors: Callable[[Sequence[str]], np.ndarray]  # how the method embeds texts (labels, tags)


def evaluate(engine, dataset: Dataset, *, batch_size: int = 32, progress=None, seed: int = 0) -> dict[str, Any]:
    """Extract once, then score the default model and every baseline on the same outputs."""
    from tagger.engine.vocabulary import load_vocabulary

    paths = [dataset.root / f for f in dataset.files]
    out = engine.embed_files(paths, batch_size=batch_size, progress=progress)
    failures = [{"file": dataset.files[i], "reason": r} for i, r in sorted(out.failures)]
    if not out.ok:
        raise DatasetError(f"none of the {len(paths)} images could be read")
    labels = dataset.labels
    truth = dataset.truth()[out.ok]
    is_inet = np.array([is_imagenet_label(t) for t in labels], bool)
    space = engine.word_space
    vocab = load_vocabulary()
    real = space.text_vectors
    label_vecs, vocab_vecs = real(labels), real(vocab)
    dim = label_vecs.shape[1]

    top1 = out.top_classes[:, 0].astype(np.int64)
    rand = lambda texts: random_vectors(texts, dim, seed)
    from tagger.engine.wordnet import imagenet_classes

    rand_classes = rand([c.label for c in imagenet_classes()])
    rand_emb = np.einsum("nt,ntd->nd", out.top_probs, rand_classes[out.top_classes.astype(np.int64)])
    rand_emb = unit(rand_emb)

    methods = [
        Method("tagger", f"ConSE (T={engine.top_t}) + WordNet affinity + CSLS hub correction (the default model)",
               out.embeddings, True, True, real),
        Method("conse", "plain ConSE: cosine with the softmax-weighted mix of top-T class vectors",
               out.embeddings, False, False, real),
        Method("conse+wordnet", "ConSE fused with WordNet affinity, no hub correction", out.embeddings, True, False,
               real),
        Method("conse+hub", "ConSE with CSLS hub correction, no WordNet", out.embeddings, False, True, real),
        Method("softmax_nearest_class", "top-1 ImageNet class, labels ranked by cosine to its name",
               engine.class_vectors[top1], False, False, real),
        Method("random_embedding", "ConSE with every text mapped to a random vector (identity, no meaning)",
               rand_emb, False, False, rand),
    ]
    results: dict[str, dict[str, Any]] = {}
    for m in methods:
        if progress:
            progress("scoring", methods.index(m), len(methods))
        lset = LabelSet.build(labels, m.vectors(labels), _class_vectors_for(m, engine, rand_classes), m.use_wordnet)
        scores = lset.scores(m.embeddings, out.top_classes, out.top_probs, m.hub_correction)
        tags = engine.tag_set if m.name == "tagger" else LabelSet.build(
            vocab, m.vectors(vocab), _class_vectors_for(m, engine, rand_classes), m.use_wordnet, delta=TAG_DELTA)
        top3, _ = tags.top(m.embeddings, out.top_classes, out.top_probs, 3, m.hub_correction)
        results[m.name] = {
            "description": m.description,
            **metrics(scores, truth, is_inet),
            "similarity@3": similarity_at_3(vocab_vecs, top3, label_vecs, truth),
            "example_tags": {dataset.files[out.ok[i]]: [vocab[j] for j in top3[i]] for i in _examples(truth)},
        }
    rng = np.random.default_rng(seed)
    random_tags = vocab_vecs[rng.integers(0, len(vocab), (len(truth), 3))]  # the control: 3 random words a photo
    random_pairs = float(np.mean(np.sum(label_vecs[truth][:, None, :] * random_tags, -1)))
    main = results.pop("tagger")
    return {
        "dataset": str(dataset.root),
        "n_images": len(out.ok),
        "n_failed": len(failures),
        "failures": failures,
        "n_labels": len(labels),
        "n_imagenet_labels": int(is_inet.sum()),
        "model": engine.model_id,
        "backbone": engine.manifest["backbone"]["name"],
        "word_space": engine.word_space_id,
        "provider": engine.runtime.provider,
        "tag_vocabulary_size": len(vocab),
        "images_per_second": len(paths) / out.seconds if out.seconds else None,
        **main,
        "baselines": results,
        "controls": {"similarity@3_random_pairs": random_pairs},
    }


def _class_vectors_for(m: Method, engine, rand_classes: np.ndarray) -> np.ndarray:
    return rand_classes if m.name == "random_embedding" else engine.class_vectors


def _examples(truth: np.ndarray, per: int = 1, limit: int = 8) -> list[int]:
    """A few photos from different labels, for a human look at the tags."""
    seen, out = set(), []
    for i, t in enumerate(truth.tolist()):
        if t not in seen:
            seen.add(t)
            out.append(i)
        if len(out) >= limit:
            break
    return out


# ---------------------------------------------------------------------------- lists of photos and labels


def read_list(path: Path) -> list[str]:
    try:
        return [line.strip() for line in Path(path).read_text(encoding="utf-8").splitlines()
                if line.strip() and not line.startswith("#")]
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror or exc}") from None


def read_split(path: Path) -> dict[str, str]:
    """label -> 'seen' | 'unseen' (TSV with a 'label<TAB>split' header, as Caltech's zsl_split.tsv)."""
    out = {}
    for n, line in enumerate(read_list(path), 1):
        parts = line.split("\t")
        if len(parts) != 2 or parts[1].strip() not in ("seen", "unseen"):
            if n == 1 and parts[0].strip().lower() == "label":
                continue
            raise DatasetError(f"{path}:{n}: expected 'label<TAB>seen|unseen'")
        out[parts[0].strip()] = parts[1].strip()
    return out
