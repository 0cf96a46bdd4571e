"""Merge checkpoints of one architecture tensor by tensor into safetensors.

Two forms. From a recipe, the merge variants (op: merge, parent: [a, b, c]) and whatever
they need that is not finished yet:

  emocompress merge --recipe recipes/goemotions-soup.yaml --variant greedy-soup

Directly, on checkpoint directories (safetensors), writing a new checkpoint directory:

  emocompress merge runs/x/variants/s1 runs/x/variants/s2 runs/x/variants/s3 --out soup
  emocompress merge A B C --method ties --base BASE --density 0.3 --out merged
  emocompress merge A B --method slerp --t 0.3 --out halfway
  emocompress merge A B C --method greedy --data demo --out greedy-soup

Methods: uniform (weighted average), greedy (greedy soup on a tune split carved from
--data's train split), task_arithmetic (base + sum of weight * (model - base)), ties
(trim to density, elect sign, disjoint mean), slerp (two models, t). Tensors are streamed
one at a time, output above --shard-size is sharded with model.safetensors.index.json, and
the safetensors metadata records the method, its parameters and the inputs' sha256.
Checkpoints that do not fit together are refused before anything is written. The merged
checkpoint's lineage names its inputs as given; with --data it is also measured (metrics,
predictions) like every variant. See docs/merging.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emocompress.cli.commands._recipe_cli import add_recipe_arguments, run_from_args
from emocompress.errors import UserError

if TYPE_CHECKING:
    from emocompress.ops.context import DataContext
    from emocompress.ops.merge.operation import MergeSettings

# the settings with no flag of their own: --weights and --densities give the models' entries
NOT_FLAGS = ("models",)

NAME = "merge"
HELP = "merge checkpoints (soups, task arithmetic, TIES, SLERP) from a recipe or directly"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from emocompress.cli.settings_flags import add_settings_flags
    from emocompress.ops.merge.operation import MergeSettings

    parser.add_argument(
        "models", nargs="*", metavar="MODEL", help="checkpoint directories to merge (direct form)"
    )
    from emocompress.cli import TRAILING_POSITIONALS

    parser.set_defaults(**{TRAILING_POSITIONALS: "models"})  # also after the options
    add_recipe_arguments(parser, positional=False, required=False)
    for action in parser._actions:
        if action.dest == "recipe":
            action.help = "recipe YAML file: run its merge variants"
        if action.dest == "out":
            action.help = (
                "with --recipe: the run directory (default runs/<recipe name>); "
                "with MODEL...: the variant directory to write (docs/safety.md)"
            )
    parser.add_argument(
        "--variant", action="append", metavar="NAME", help="recipe: only this merge variant"
    )
    direct = parser.add_argument_group("direct form (the merge settings)")
    add_settings_flags(direct, MergeSettings, exclude=NOT_FLAGS)
    direct.add_argument("--weights", nargs="+", type=float, metavar="W", help="one per MODEL")
    direct.add_argument(
        "--densities", nargs="+", type=float, metavar="D", help="ties: one per MODEL"
    )
    direct.add_argument(
        "--data",
        metavar="SOURCE",
        help="greedy: data whose train split gives the tune split; any method: measure the result",
    )
    direct.add_argument(
        "--max-length", type=int, default=128, help="tokens per text (default: 128)"
    )
    direct.add_argument(
        "--batch-size", type=int, default=64, help="scoring batch size (default: 64)"
    )


def run(args: argparse.Namespace) -> int:
    if args.recipe:
        if args.models:
            raise UserError("give either --recipe or checkpoint directories, not both")
        args.resume = not args.fresh  # build on what the run already has
        return run_from_args(args, ops=["merge"], variants=args.variant)
    return merge_directly(args)


def merge_directly(args: argparse.Namespace) -> int:
    from emocompress.artifacts.rundir import VariantDir
    from emocompress.ops.registry import get_operation
    from emocompress.progress import Reporter
    from emocompress.run.variant import Parent, StepOptions, make_variant

    if len(args.models) < 2:
        raise UserError("give two or more checkpoint directories (or --recipe FILE)")
    if not args.out:
        raise UserError("--out DIR is required", expected="where to write the merged checkpoint")
    from emocompress.artifacts.outputs import check_output, made_by

    settings = _settings(args)
    out = check_output(
        args.out,
        what="variant directory",
        inputs=[*_references(args, settings.base), args.data],
        overwrite=args.overwrite,
        is_own=made_by("merge"),
    )
    parents = [Parent.of_reference(ref) for ref in _references(args, settings.base)]
    settings.inputs([(p.label, p.path) for p in parents])  # refused before anything is written
    make_variant(
        get_operation("merge"),
        settings,
        parents=parents,
        out=out,
        data=_data(args),
        options=StepOptions(eval_batch_size=args.batch_size),
        reporter=Reporter("quiet" if args.quiet else None),
    )
    print("\n".join(describe(VariantDir(out).load_lineage().facts, out)))
    return 0


def describe(facts: dict[str, Any], out: Path) -> list[str]:
    merge = facts["merge"]
    count = len(merge["models"])
    lines = [f"merged {count} model{'s' * (count != 1)} with {merge['method']} into {out}"]
    for model in merge["models"]:
        extra = f", density {model['density']}" if "density" in model else ""
        lines.append(f"  {model['name']}: weight {model['weight']}{extra}")
    if merge.get("base"):
        lines.append(f"  base: {merge['base']}")
    greedy = merge.get("greedy")
    if greedy:
        for candidate in greedy["candidates"]:
            lines.append(
                f"  tune macro-AUC {candidate['tune_macro_auc']:.4f}  {candidate['name']}"
                f" (from {candidate['from']})"
            )
        # greedy's own record (emocompress.ops.merge.greedy), shown through one template
        lines.append(
            "  soup of {chosen}: tune macro-AUC {soup_tune_macro_auc:.4f} on {tune_split}"
            " ({n_tune})".format_map({**greedy, "chosen": ", ".join(greedy["chosen"])})
        )
    lines.append(
        f"{facts['tensors']} tensors, {facts['bytes'] / 1e6:.1f} MB in {', '.join(facts['files'])},"
        f" {facts['seconds']:.1f}s"
    )
    return lines


def _settings(args: argparse.Namespace) -> MergeSettings:
    from emocompress.cli.settings_flags import settings_from_flags
    from emocompress.ops.merge.operation import MergeSettings

    for option, values in (("--weights", args.weights), ("--densities", args.densities)):
        if values is not None and len(values) != len(args.models):
            raise UserError(
                f"{option} has {len(values)} values for {len(args.models)} models",
                expected="one per MODEL, in the same order",
            )
    models = [
        {"model": name}
        | ({"weight": args.weights[i]} if args.weights else {})
        | ({"density": args.densities[i]} if args.densities else {})
        for i, name in enumerate(args.models)
    ]
    return settings_from_flags(args, MergeSettings, exclude=NOT_FLAGS, defaults={"models": models})


def _references(args: argparse.Namespace, base: str | None) -> list[str]:
    """The inputs as given: the models, then the base."""
    return [*args.models, *([base] if base else [])]


def _data(args: argparse.Namespace) -> DataContext | None:
    if not args.data:
        return None  # greedy refuses with a message saying what is needed
    from emocompress.ops.context import DataContext

    return DataContext(source=args.data, max_length=args.max_length)
