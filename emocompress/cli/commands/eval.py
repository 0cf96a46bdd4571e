"""Evaluate a classifier: AUC, and F1/precision/recall under threshold strategies.

Thresholds are chosen on the tune split and applied to the report split (--split); the
output says which split did what. Writes metrics.json and predictions/<split>.npz into
--out, so every figure can be recomputed.

Examples:
  emocompress eval runs/quickstart/variants/teacher --data demo --split dev
  emocompress eval MODEL --data ../shared/data/goemotions --split dev --tune-fraction 0.1
  emocompress eval MODEL --data my.csv --tune-split validation --split test
"""

from __future__ import annotations

import argparse
from pathlib import Path

from emocompress.artifacts.rundir import VariantDir
from emocompress.artifacts.schema import PREDICTIONS_DIR, BootstrapSpec, Lineage, Metrics

NAME = "eval"
HELP = "measure a classifier on a data split (thresholds tuned on another)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "model", metavar="MODEL", help="classifier: a directory, pkg:NAME or hub id"
    )
    parser.add_argument(
        "--data",
        required=True,
        metavar="SOURCE",
        help="demo | GoEmotions-format directory | .csv/.jsonl/.tsv file | hub:go_emotions",
    )
    parser.add_argument("--split", default="dev", help="split to report on (default: dev)")
    tune = parser.add_mutually_exclusive_group()
    tune.add_argument("--tune-split", metavar="NAME", help="split that chooses thresholds")
    tune.add_argument(
        "--tune-fraction",
        type=float,
        default=0.1,
        metavar="F",
        help="carve the tune split from train with this fraction (default: 0.1)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=13,
        help="seed for carving the tune split and for the bootstrap (default: 13)",
    )
    parser.add_argument(
        "--max-length", type=int, default=128, help="tokens per text (default: 128)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=64,
        help="texts scored at once, by token length (default: 64); a dynamic int8 graph scores each text alone, "
        "so that its probabilities do not depend on the other texts",
    )
    parser.add_argument(
        "--max-examples", type=int, metavar="N", help="evaluate at most N examples per split"
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="the variant directory to write: metrics.json, predictions/ and links to the "
        "model's files (default: runs/eval-<model>; docs/safety.md)",
    )
    from emocompress.cli.commands._recipe_cli import add_overwrite_argument

    add_overwrite_argument(parser)
    parser.add_argument(
        "--json", action="store_true", help="print metrics.json to stdout instead of tables"
    )
    parser.add_argument("--all-labels", action="store_true", help="also print the per-label table")
    parser.add_argument(
        "--resamples",
        type=int,
        default=1000,
        metavar="N",
        help="bootstrap resamples for the intervals (default: 1000)",
    )
    parser.add_argument(
        "--confidence", type=float, default=0.95, help="interval level (default: 0.95)"
    )
    parser.add_argument(
        "--strategies",
        metavar="A,B",
        help="threshold strategies measured and selected among, comma-separated (default:"
        " all: fixed, global, per_label, top_k, per_label_shrunk, per_label_cv; docs/metrics.md)",
    )
    parser.add_argument(
        "--min-tune-positives",
        type=int,
        default=10,
        metavar="N",
        help="warn when a label has fewer tune positives than this (default: 10)",
    )


def run(args: argparse.Namespace) -> int:
    import json

    from emocompress.artifacts.atomic import atomic_dir
    from emocompress.artifacts.outputs import check_output
    from emocompress.cli.console import make_console
    from emocompress.cli.settings_flags import model_from_flags
    from emocompress.cli.tables import (
        intervals_table,
        label_extremes_table,
        label_intervals_table,
        per_label_table,
        quality_table,
    )
    from emocompress.data.context import DataContext
    from emocompress.measure.evaluation import evaluate_variant
    from emocompress.models.reference import resolve_model_path
    from emocompress.progress import Reporter
    from emocompress.run.variant import check_model_files

    _check_numbers(args)
    bootstrap = model_from_flags(
        BootstrapSpec,
        {"resamples": args.resamples, "seed": args.seed, "confidence": args.confidence},
    )
    strategies = _strategies(args.strategies)
    model_path = resolve_model_path(args.model)
    check_model_files(model_path)
    tune = args.tune_split or {"carve_from": "train", "fraction": args.tune_fraction}
    caps = {"tune": args.max_examples, "report": args.max_examples} if args.max_examples else {}
    data = DataContext(
        source=args.data,
        train="train",
        tune=tune,
        report=args.split,
        max_length=args.max_length,
        max_examples=caps,
        seed=args.seed,
    )
    out = check_output(
        Path(args.out) if args.out else Path("runs") / f"eval-{model_path.name}",
        what="evaluation directory",
        inputs=[model_path, args.data],
        overwrite=args.overwrite,
        is_own=_is_eval_output,
    )
    with atomic_dir(out) as tmp:  # a failed evaluation leaves no half-made --out
        _link_model(model_path, tmp)
        metrics = evaluate_variant(
            tmp,
            data,
            name=model_path.name,
            batch_size=args.batch_size,
            reporter=Reporter("quiet" if args.json else None),
            bootstrap=bootstrap,
            min_tune_positives=args.min_tune_positives,
            strategies=strategies,
        )
    if args.json:
        print(json.dumps(metrics.to_json(), indent=2))
        return 0
    console = make_console()
    quality = metrics.quality
    assert quality is not None, "evaluate_variant always measures quality"
    console.print(quality_table(quality))
    intervals = intervals_table(metrics)
    if intervals is not None:
        console.print(intervals)
    console.print(label_extremes_table(quality))
    if args.all_labels:
        console.print(per_label_table(quality))
        labels = label_intervals_table(metrics)
        if labels is not None:
            console.print(labels)
    for warning in metrics.threshold_support.warnings if metrics.threshold_support else []:
        console.print(f"[yellow]warning[/] {warning}", highlight=False)
    variant = VariantDir(out)
    console.print(f"metrics: {variant.metrics_file}  predictions: {variant.predictions_dir}")
    return 0


def _is_eval_output(path: Path) -> bool:
    """An earlier `eval --out`: metrics.json beside links to a model, no weights of its own
    (a run's variant has metrics.json too, and is never replaced by eval)."""
    if not VariantDir(path).has_metrics():
        return False
    made = {Metrics.FILE, PREDICTIONS_DIR, Lineage.FILE}
    return all(item.is_symlink() for item in path.iterdir() if item.name not in made)


def _check_numbers(args: argparse.Namespace) -> None:
    """What the evaluation would refuse, or silently misread, refused up front (exit 2)."""
    from emocompress.errors import UserError

    if args.max_examples is not None and args.max_examples < 1:
        raise UserError(
            f"--max-examples {args.max_examples}: must be at least 1",
            expected="N >= 1, or leave it out for every example",
        )
    if args.batch_size < 1 or args.max_length < 8:
        raise UserError("--batch-size must be >= 1 and --max-length >= 8")
    if args.tune_split is None and not 0 < args.tune_fraction < 1:
        raise UserError(f"--tune-fraction {args.tune_fraction}: must be between 0 and 1")
    tune_source = args.tune_split or "train"
    if args.split == tune_source:
        raise UserError(
            f"--split {args.split}: thresholds would be tuned on the split figures are reported on",
            expected="--tune-split with another split, or a carve-out of train (--tune-fraction)",
        )


def _link_model(model_path: Path, out: Path) -> None:
    """Make ``out`` look like a variant directory of the model without copying weights."""
    if out.resolve() == model_path.resolve():
        return
    for item in model_path.iterdir():
        if item.name in {Metrics.FILE, PREDICTIONS_DIR, Lineage.FILE}:
            continue
        target = out / item.name
        if target.is_symlink() or target.exists():
            if target.is_symlink() and target.resolve() == item.resolve():
                continue
            target.unlink() if not target.is_dir() else None
        if not target.exists():
            target.symlink_to(item.resolve())


def _strategies(text: str | None) -> list[str] | None:
    """--strategies as names, each checked (an unknown one is one line listing the known)."""
    if text is None:
        return None
    from emocompress.measure.metrics import STRATEGIES

    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        from emocompress.errors import UserError

        raise UserError("--strategies names none", expected="e.g. --strategies global,per_label_cv")
    return [STRATEGIES.lookup(name).name for name in names]
