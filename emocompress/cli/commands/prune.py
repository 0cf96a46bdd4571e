"""Prune a classifier: attention heads, FFN neurons, hidden channels, whole layers, unused
vocabulary, or small weights (unstructured), then a short recovery step.

Two ways to call it:
  - from a recipe, running its prune variants (and whatever they need that is not finished);
  - directly on a model, writing one variant directory (with --data: recovery, vocabulary
    pruning, Taylor importance and metrics.json; without: magnitude pruning only).

Uniform FFN pruning, layer dropping, vocabulary pruning and heads + hidden pruned by the same
share give a checkpoint that plain AutoModelForSequenceClassification.from_pretrained loads.
Heads or hidden channels alone, or global scope, need the shape plan saved in
emocompress.json (emocompress.models.classifier.load_classifier reads it). See docs/pruning.md.

Examples:
  emocompress prune --recipe recipes/x.yaml --variant student-pruned
  emocompress prune runs/quickstart/variants/teacher --heads 0.5 --ffn 0.5 --out /tmp/pruned
  emocompress prune MODEL --ffn 0.5 --data demo --recovery finetune --out /tmp/ffn50
  emocompress prune MODEL --vocab --data ../shared/data/goemotions --out /tmp/vocab
  emocompress prune MODEL --sparsity 0.5 --out /tmp/sparse   # dense tensors: no speed-up
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

NAME = "prune"
HELP = "prune heads, FFN neurons, hidden channels, layers, vocabulary or weights"
ORDER = 25


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from emocompress.cli.commands._recipe_cli import add_recipe_arguments

    parser.add_argument(
        "model", nargs="?", metavar="MODEL", help="classifier to prune directly (no recipe)"
    )
    add_recipe_arguments(parser, positional=False, required=False)
    parser.add_argument(
        "--variant", action="append", metavar="NAME", help="with --recipe: only this variant"
    )
    direct = parser.add_argument_group("direct pruning of MODEL")
    direct.add_argument("--heads", type=float, default=0.0, help="share of heads removed")
    direct.add_argument("--ffn", type=float, default=0.0, help="share of FFN neurons removed")
    direct.add_argument(
        "--hidden", type=float, default=0.0, help="share of hidden channels removed"
    )
    direct.add_argument(
        "--drop-layers", default="", metavar="I,J", help="encoder layers to remove, e.g. 3,5"
    )
    direct.add_argument("--scope", choices=("uniform", "global"), default="uniform")
    direct.add_argument("--importance", choices=("magnitude", "taylor"), default="magnitude")
    direct.add_argument("--sparsity", type=float, default=0.0, help="unstructured zero share")
    direct.add_argument(
        "--vocab", action="store_true", help="keep only the tokens of the --data train split"
    )
    direct.add_argument("--data", metavar="SOURCE", help="demo | GoEmotions directory | file")
    direct.add_argument(
        "--recovery",
        choices=("none", "finetune", "distil"),
        default=None,
        help="recovery after pruning (default: finetune with --data, none without)",
    )
    direct.add_argument("--recovery-epochs", type=float, default=1.0)
    direct.add_argument("--max-length", type=int, default=128)
    direct.add_argument("--max-examples", type=int, metavar="N", help="cap every split at N")
    direct.add_argument("--seed", type=int, default=13)


def run(args: argparse.Namespace) -> int:
    from emocompress.errors import UserError

    if bool(args.recipe) == bool(args.model):
        raise UserError("give either MODEL or --recipe FILE", expected="exactly one of them")
    if args.recipe:
        from emocompress.cli.commands._recipe_cli import run_from_args

        args.resume = not args.fresh
        return run_from_args(args, ops=["prune"], variants=args.variant)
    if not args.out:
        raise UserError("pruning MODEL directly needs --out DIR")
    return _run_direct(args)


def settings_from_args(args: argparse.Namespace) -> Any:
    from pydantic import ValidationError

    from emocompress.errors import UserError
    from emocompress.ops.prune.operation import PruneSettings

    try:
        drop = [int(i) for i in args.drop_layers.split(",") if i.strip()]
    except ValueError as exc:
        raise UserError(f"--drop-layers {args.drop_layers!r}: expected integers like 3,5") from exc
    recovery = args.recovery or ("finetune" if args.data else "none")
    try:
        return PruneSettings(
            heads=args.heads,
            ffn=args.ffn,
            hidden=args.hidden,
            drop_layers=drop,
            scope=args.scope,
            importance=args.importance,
            sparsity=args.sparsity,
            vocab={} if args.vocab else None,
            recovery={"mode": recovery, "epochs": args.recovery_epochs},
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise UserError(f"bad prune settings: {problems}") from exc


def _run_direct(args: argparse.Namespace) -> int:
    import tempfile

    from emocompress.artifacts.atomic import atomic_dir, write_json
    from emocompress.artifacts.rundir import VARIANT_SCHEMA
    from emocompress.models.reference import resolve_model_path
    from emocompress.progress import Reporter

    settings = settings_from_args(args)
    model_path = resolve_model_path(args.model)
    out = Path(args.out)
    reporter = Reporter("quiet" if args.quiet else None)
    with tempfile.TemporaryDirectory() as scratch, atomic_dir(out) as tmp:
        data = _data(args) if args.data else None
        if data is not None:
            facts = _prune_with_data(model_path, settings, tmp, data, Path(scratch), reporter, args)
        else:
            from emocompress.ops.prune.pipeline import prune_checkpoint

            facts = prune_checkpoint(model_path, settings, tmp, reporter=reporter)
        shape_plan = facts.pop("shape_plan", None)
        write_json(
            tmp / "emocompress.json",
            {
                "schema": VARIANT_SCHEMA,
                "name": out.name,
                "parent": None,
                "source": args.model,
                "operation": "prune",
                "settings": settings.model_dump(mode="json"),
                "format": "pytorch",
                "shape_plan": shape_plan,
                "facts": facts,
            },
        )
        if data is not None:
            from emocompress.measure.evaluation import evaluate_variant

            extra = {"training": facts["training"]} if "training" in facts else None
            evaluate_variant(tmp, data, name=out.name, reporter=reporter, extra=extra)
    _print_summary(facts, out)
    return 0


def _data(args: argparse.Namespace) -> Any:
    from emocompress.ops.context import DataContext

    caps = (
        {role: args.max_examples for role in ("train", "tune", "report")}
        if args.max_examples
        else {}
    )
    return DataContext(
        source=args.data, max_length=args.max_length, max_examples=caps, seed=args.seed
    )


def _prune_with_data(model_path, settings, out_dir, data, scratch, reporter, args) -> dict:
    from emocompress.artifacts.rundir import RunDir
    from emocompress.ops.context import OpContext
    from emocompress.ops.prune.pipeline import prune_variant

    ctx = OpContext(
        run=RunDir(scratch),
        variant=Path(args.out).name,
        out_dir=out_dir,
        data=data,
        parent_name=None,
        parent_path=model_path,
        seed=args.seed,
        reporter=reporter,
    )
    return prune_variant(ctx, settings)


def _print_summary(facts: dict[str, Any], out: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"pruned: {out}", title_justify="left")
    for column in ("", "before", "after", "change"):
        table.add_column(column, justify="right" if column else "left")
    for key in ("parameters", "parameters_without_embeddings"):
        before, after = facts["before"][key], facts["after"][key]
        table.add_row(
            key.replace("_", " "), f"{before:,}", f"{after:,}", f"{after / before - 1:+.1%}"
        )
    console = Console()
    console.print(table)
    structured = facts.get("structured")
    if structured:
        console.print(
            f"heads per layer {structured['heads_per_layer']} (size {structured['head_size']}), "
            f"FFN per layer {structured['ffn_per_layer']}, hidden {structured['hidden_size']}"
        )
    if "layers_kept" in facts:
        console.print(f"layers kept: {facts['layers_kept']}")
    if "vocab" in facts:
        v = facts["vocab"]
        console.print(
            f"vocabulary: kept {v['rows_kept']:,} of {v['rows_before']:,} rows "
            f"({v['share_of_parameters_removed']:.1%} of parameters removed)"
        )
    if "sparsity" in facts:
        s = facts["sparsity"]
        console.print(
            f"sparsity: {s['sparsity_of_pruned_weights']:.1%} of encoder Linear weights are zero "
            f"({s['note']})"
        )
    if "training" in facts:
        t = facts["training"]
        console.print(f"recovery ({t['mode']}): best tune macro-AUC {t['best_tune_macro_auc']}")
    console.print(f"loads with: {facts['loads_with']}")
