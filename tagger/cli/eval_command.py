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
    if args.train or args.split:
        from tagger.research.evaluate import DatasetError, evaluate_trained, read_list, read_split

        if not args.train:
            raise DatasetError("--split needs --train (the photos to train the seen labels on)")
        if args.embedding:
            from tagger.research.evaluate_vgse import evaluate_embeddings, format_embedding_eval, kinds_for

            result = evaluate_embeddings(engine, dataset, read_list(args.train),
                                         read_split(args.split) if args.split else None,
                                         kinds=kinds_for(args.embedding), batch_size=args.batch_size, progress=progress)
            progress.close()
            print(json.dumps(result, indent=2, default=json_default) if args.json else format_embedding_eval(result))
            return 0
        result = evaluate_trained(engine, dataset, read_list(args.train),
                                  read_split(args.split) if args.split else None,
                                  batch_size=args.batch_size, progress=progress, baselines=not args.no_baselines)
        progress.close()
        for f in result["failures"]:
            print(f"skipped {f['file']}: {f['reason']}", file=sys.stderr)
        print(json.dumps(result, indent=2, default=json_default) if args.json else format_trained_eval(result))
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


def format_trained_eval(r: dict[str, Any]) -> str:
    cal, tr = r["calibration"], r["training"]
    lines = [
        f"{r['dataset']} ({r['protocol']}): trained on {r['n_train_images']} photos of {r['n_seen_labels']} labels, "
        f"evaluated on {r['n_images']} photos; candidates: all {r['n_labels']} labels ({r['n_unseen_labels']} unseen)",
        f"training: {tr['epochs_run']} epochs (best {tr['best_epoch']}), {tr['seconds']:.1f} s; validation accuracy "
        f"{tr['val_acc_before']:.3f} -> {tr['val_acc_after']:.3f} on {tr['n_val']} held-out photos",
        f"calibration: lam {cal['lam']}, gamma {cal['gamma']} ({cal['source']})",
        "",
        f"{'method':<22}{'hit@1':>8}{'hit@5':>8}{'seen@1':>8}{'unseen@1':>9}{'H':>7}",
    ]
    for name, m in [("tagger (trained)", r)] + list(r["baselines"].items()):
        h = m.get("H")
        lines.append(f"{name:<22}{m['hit@1']:>8.3f}{m['hit@5']:>8.3f}{m.get('seen_hit@1', float('nan')):>8.3f}"
                     f"{m.get('unseen_hit@1', float('nan')):>9.3f}" + (f"{h:>7.3f}" if h is not None else ""))
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
