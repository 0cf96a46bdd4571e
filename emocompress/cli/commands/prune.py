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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emocompress.artifacts.schema import Metrics

NAME = "prune"
HELP = "prune heads, FFN neurons, hidden channels, layers, vocabulary or weights"


# today's flag names of settings whose generated name differs
RENAME = {"recovery.mode": "recovery"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from emocompress.cli.commands._recipe_cli import add_recipe_arguments
    from emocompress.cli.settings_flags import add_settings_flags
    from emocompress.ops.prune.operation import PruneSettings

    parser.add_argument(
        "model", nargs="?", metavar="MODEL", help="classifier to prune directly (no recipe)"
    )
    add_recipe_arguments(parser, positional=False, required=False)
    for action in parser._actions:
        if action.dest == "out":
            action.help = (
                "with --recipe: the run directory (default runs/<recipe name>); "
                "with MODEL: the variant directory to write (docs/safety.md)"
            )
    parser.add_argument(
        "--variant", action="append", metavar="NAME", help="with --recipe: only this variant"
    )
    direct = parser.add_argument_group(
        "direct pruning of MODEL (the prune settings; recovery defaults to finetune with "
        "--data, none without)"
    )
    add_settings_flags(direct, PruneSettings, rename=RENAME)
    direct.add_argument("--data", metavar="SOURCE", help="demo | GoEmotions directory | file")
    direct.add_argument(
        "--max-length", type=int, default=128, help="tokens per text, with --data (default: 128)"
    )
    direct.add_argument("--max-examples", type=int, metavar="N", help="cap every split at N")
    direct.add_argument(
        "--seed",
        type=int,
        default=13,
        help="seed of the tune split carved from train, and of recovery (default: 13)",
    )


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
    from emocompress.cli.settings_flags import settings_from_flags
    from emocompress.ops.prune.operation import PruneSettings

    recovery = "finetune" if args.data else "none"
    return settings_from_flags(
        args, PruneSettings, rename=RENAME, defaults={"recovery": {"mode": recovery}}
    )


def _run_direct(args: argparse.Namespace) -> int:
    from emocompress.artifacts.outputs import check_output, made_by
    from emocompress.artifacts.rundir import VariantDir
    from emocompress.ops.registry import get_operation
    from emocompress.progress import Reporter
    from emocompress.run.variant import Parent, StepOptions, make_variant

    settings = settings_from_args(args)
    out = check_output(
        args.out,
        what="variant directory",
        inputs=[args.model, args.data],
        overwrite=args.overwrite,
        is_own=made_by("prune"),
    )
    metrics = make_variant(
        get_operation("prune"),
        settings,
        parents=[Parent.of_reference(args.model)],
        out=out,
        data=_data(args) if args.data else None,
        options=StepOptions(seed=args.seed),
        reporter=Reporter("quiet" if args.quiet else None),
    )
    _print_summary(VariantDir(out).load_lineage().facts, metrics, out)
    return 0


def _data(args: argparse.Namespace) -> Any:
    from emocompress.data.context import DataContext

    caps = (
        {role: args.max_examples for role in ("train", "tune", "report")}
        if args.max_examples
        else {}
    )
    return DataContext(
        source=args.data, max_length=args.max_length, max_examples=caps, seed=args.seed
    )


def _print_summary(facts: dict[str, Any], metrics: Metrics | None, out: Path) -> None:
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
    training = metrics.training if metrics is not None else None
    if training is not None:
        console.print(
            f"recovery ({training.mode}): best tune macro-AUC {training.best_tune_macro_auc}"
        )
    console.print(f"loads with: {facts['loads_with']}")
