"""``tagger eval``: the research protocols behind one command (the product never imports them)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from tagger.cli.shared import json_default, load_engine


def cmd_eval(args, progress) -> int:
    from tagger.research.evaluate import evaluate, read_dataset

    dataset = read_dataset(args.dir, args.labels, args.images)
    # evaluation sets are small photos: decoding is cheap and the model is the bottleneck, so it gets every core
    engine = load_engine(args, progress, threads=os.cpu_count())
    if args.train or args.split or args.shots:
        from tagger.research.evaluate import DatasetError, read_list, read_split

        if not args.train:
            raise DatasetError("--split and --shots need --train (the photos to train the labels on)")
        split = read_split(args.split) if args.split else None
        if args.embedding:
            from tagger.research.evaluate_vgse import evaluate_embeddings, format_embedding_eval, kinds_for

            if args.shots:
                raise DatasetError("--embedding compares class embeddings on every training photo: leave out --shots")
            result = evaluate_embeddings(engine, dataset, read_list(args.train), split,
                                         kinds=kinds_for(args.embedding), batch_size=args.batch_size, progress=progress)
            progress.close()
            print(json.dumps(result, indent=2, default=json_default) if args.json else format_embedding_eval(result))
            return 0
        if args.shots:
            from tagger.research.evaluate_trained import evaluate_shots

            result = evaluate_shots(engine, dataset, read_list(args.train), args.shots, args.draws, split,
                                    batch_size=args.batch_size, progress=progress, seed=args.seed,
                                    baselines=not args.no_baselines)
            formatted = format_shots_eval
        else:
            from tagger.research.evaluate_trained import evaluate_trained

            result = evaluate_trained(engine, dataset, read_list(args.train), split, batch_size=args.batch_size,
                                      progress=progress, seed=args.seed, baselines=not args.no_baselines)
            formatted = format_trained_eval
        progress.close()
        for f in result["failures"]:
            print(f"skipped {f['file']}: {f['reason']}", file=sys.stderr)
        print(json.dumps(result, indent=2, default=json_default) if args.json else formatted(result))
        return 0
    result = evaluate(engine, dataset, batch_size=args.batch_size, progress=progress)
    progress.close()
    for f in result["failures"]:
        print(f"skipped {f['file']}: {f['reason']}", file=sys.stderr)
    if args.json:
        print(json.dumps(result, indent=2, default=json_default))
    else:
        print(format_eval(result))
    return 0


def _label_model_line(lm: dict[str, Any]) -> str:
    mix, gate = lm["mix"], lm["gate"]
    cv = f", held-out accuracy {lm['cv_accuracy']:.3f}" if lm.get("cv_accuracy") is not None else ""
    line = (f"label model: linear {mix['linear']} (C {mix['C']}), prior {mix['prior']}, cache {mix['cache']} "
            f"(beta {mix['beta']}), library {lm.get('library_photos', 0)} photos, temperature "
            f"{lm['temperature']:.3g}; {lm['source']}{cv}; {lm['seconds']:.1f} s")
    if not gate["source"].startswith("closed"):
        h = f", validation H {gate['validation_H']:.3f}" if gate.get("validation_H") is not None else ""
        line += (f"\ngate: scale {gate['scale']}, threshold {gate['threshold']}, unseen temperature "
                 f"{gate['unseen_temperature']}, synthesised prototypes {gate['synth_weight']} ({gate['source']}{h})")
    return line


def _row(name: str, m: dict[str, Any], spread: bool = False) -> str:
    def cell(key: str, width: int) -> str:
        value = m.get(key)
        if value is None:
            return " " * width
        text = f"{value:.3f}" + (f"±{m[key + '_sd']:.3f}" if spread and key + "_sd" in m else "")
        return f"{text:>{width}}"

    w = _width(spread)
    return f"{name:<22}" + cell("hit@1", w) + cell("hit@5", w) + cell("seen_hit@1", w) + cell("unseen_hit@1", w) \
        + cell("H", w)


def _width(spread: bool) -> int:
    """A column: "0.901" or "0.901±0.008", right-aligned with a gap."""
    return 14 if spread else 9


def _header_row(spread: bool) -> str:
    return f"{'method':<22}" + "".join(f"{h:>{_width(spread)}}" for h in ("hit@1", "hit@5", "seen@1", "unseen@1", "H"))


def format_trained_eval(r: dict[str, Any]) -> str:
    lines = [
        f"{r['dataset']} ({r['protocol']}): trained on {r['n_train_images']} photos of {r['n_seen_labels']} labels, "
        f"evaluated on {r['n_images']} photos; candidates: all {r['n_labels']} labels ({r['n_unseen_labels']} unseen)",
        _label_model_line(r["label_model"]),
    ]
    if "residual_head" in r:
        cal, tr = r["residual_head"]["calibration"], r["residual_head"]["training"]
        lines.append(f"residual head: {tr['epochs_run']} epochs (best {tr['best_epoch']}), {tr['seconds']:.1f} s; "
                     f"calibration lam {cal['lam']}, gamma {cal['gamma']} ({cal['source']})")
    lines += ["", _header_row(False)]
    for name, m in [("tagger (label model)", r)] + list(r["baselines"].items()):
        lines.append(_row(name, m))
    return "\n".join(lines)


def format_shots_eval(r: dict[str, Any]) -> str:
    n_train = r["n_train_images"]
    lines = [
        f"{r['dataset']} ({r['protocol']}): {r['shots']} photo(s) per label, {r['draws']} draws (seeds {r['seed']}.."
        f"{r['seed'] + r['draws'] - 1}), {min(n_train)}-{max(n_train)} training photos of {r['n_seen_labels']} labels;"
        f" evaluated on {r['n_images']} photos; candidates: all {r['n_labels']} labels ({r['n_unseen_labels']} unseen)",
        "figures: mean±sd over the draws",
        "", _header_row(True),
    ]
    for name, m in r["methods"].items():
        lines.append(_row("tagger (label model)" if name == "tagger" else name, m, spread=True))
    ours, ncm = r["methods"]["tagger"]["hit@1"], r["methods"]["ncm"]["hit@1"]
    lines += ["", f"label model - nearest-class-mean: {ours - ncm:+.3f} hit@1"]
    return "\n".join(lines)


def format_eval(r: dict[str, Any]) -> str:
    ks = (1, 2, 5, 10, 20)
    lines = [
        f"{r['dataset']}: {r['n_images']} images ({r['n_failed']} skipped), {r['n_labels']} labels "
        f"({r['n_imagenet_labels']} are ImageNet classes)",
        f"model {r['model']} on {r['provider']}; feature extraction {r['images_per_second']:.1f} images/s",
        "",
        f"{'method':<24}" + "".join(f"{'hit@' + str(k):>8}" for k in ks)
        + f"{'sim@3':>8}" + f"{'inet@1':>8}{'other@1':>8}",
    ]
    rows = [("tagger (default)", r)] + list(r["baselines"].items())
    for name, m in rows:
        lines.append(f"{name:<24}" + "".join(f"{m['hit@' + str(k)]:>8.3f}" for k in ks) + f"{m['similarity@3']:>8.3f}"
                     + f"{m['imagenet']['hit@1']:>8.3f}{m['non_imagenet']['hit@1']:>8.3f}")
    lines.append(f"{'random pairs (control)':<24}" + " " * 40 + f"{r['controls']['similarity@3_random_pairs']:>8.3f}")
    lines.append("")
    lines.append("example tags (default model):")
    for f, tags in r["example_tags"].items():
        lines.append(f"  {f}: {', '.join(tags)}")
    return "\n".join(lines)
