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
Checkpoints that do not fit together are refused before anything is written.
See docs/merging.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from emocompress.cli.commands._recipe_cli import add_recipe_arguments, run_from_args
from emocompress.errors import UserError

if TYPE_CHECKING:
    from emocompress.ops.merge.greedy import Tuning
    from emocompress.ops.merge.operation import MergeSettings
    from emocompress.progress import Reporter

NAME = "merge"
HELP = "merge checkpoints (soups, task arithmetic, TIES, SLERP) from a recipe or directly"
ORDER = 40


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "models", nargs="*", metavar="MODEL", help="checkpoint directories to merge (direct form)"
    )
    add_recipe_arguments(parser, positional=False, required=False)
    for action in parser._actions:
        if action.dest == "recipe":
            action.help = "recipe YAML file: run its merge variants"
        if action.dest == "out":
            action.help = "recipe: run directory (default runs/<name>); direct: output checkpoint"
    parser.add_argument(
        "--variant", action="append", metavar="NAME", help="recipe: only this merge variant"
    )
    direct = parser.add_argument_group("direct form")
    direct.add_argument(
        "--method", default="uniform", help="uniform, greedy, task_arithmetic, ties, slerp"
    )
    direct.add_argument(
        "--base", metavar="MODEL", help="task_arithmetic, ties: the base checkpoint"
    )
    direct.add_argument("--weights", nargs="+", type=float, metavar="W", help="one per MODEL")
    direct.add_argument(
        "--densities", nargs="+", type=float, metavar="D", help="ties: one per MODEL"
    )
    direct.add_argument("--density", type=float, help="ties: density of every model (default 0.2)")
    direct.add_argument("--t", type=float, help="slerp: 0 the first model, 1 the second")
    direct.add_argument("--shard-size", default="2GB", help="largest output file (default 2GB)")
    direct.add_argument(
        "--data", metavar="SOURCE", help="greedy: data whose train split gives the tune split"
    )
    direct.add_argument("--max-length", type=int, default=128, help="greedy: tokens per text")
    direct.add_argument("--batch-size", type=int, default=64, help="greedy: scoring batch size")
    direct.add_argument("--overwrite", action="store_true", help="replace an existing --out")


def run(args: argparse.Namespace) -> int:
    if args.recipe:
        if args.models:
            raise UserError("give either --recipe or checkpoint directories, not both")
        args.resume = not args.fresh  # build on what the run already has
        return run_from_args(args, ops=["merge"], variants=args.variant)
    return merge_directly(args)


def merge_directly(args: argparse.Namespace) -> int:
    from emocompress.artifacts.atomic import atomic_dir
    from emocompress.ops.merge.engine import merge_checkpoints
    from emocompress.progress import Reporter

    if len(args.models) < 2:
        raise UserError("give two or more checkpoint directories (or --recipe FILE)")
    if not args.out:
        raise UserError("--out DIR is required", expected="where to write the merged checkpoint")
    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.overwrite:
        raise UserError(f"{out} exists and is not empty", expected="another --out or --overwrite")
    settings = _settings(args)
    models, base = settings.inputs(_available(args))
    reporter = Reporter("quiet" if args.quiet else None)
    with atomic_dir(out) as tmp:
        facts = merge_checkpoints(
            settings.merge_method,
            settings.method_params(),
            models,
            tmp,
            base=base,
            max_shard_bytes=settings.max_shard_bytes,
            tuning=_tuning(args, reporter),
            reporter=reporter,
        )
    print("\n".join(describe(facts, out)))
    return 0


def describe(facts: dict, out: Path) -> list[str]:
    merged = facts["merge"]  # what was merged; the rest of the facts: hashes, files, time
    count = len(merged["models"])
    lines = [f"merged {count} model{'s' * (count != 1)} with {merged['method']} into {out}"]
    for model in merged["models"]:
        extra = f", density {model['density']}" if "density" in model else ""
        lines.append(f"  {model['name']}: weight {model['weight']}{extra}")
    if merged.get("base"):
        lines.append(f"  base: {merged['base']}")
    greedy = merged.get("greedy")
    if greedy:
        for candidate in greedy["candidates"]:
            lines.append(
                f"  tune macro-AUC {candidate['tune_macro_auc']:.4f}  {candidate['name']}"
                f" (from {candidate['from']})"
            )
        lines.append(
            f"  soup of {', '.join(greedy['chosen'])}: tune macro-AUC"
            f" {greedy['soup_tune_macro_auc']:.4f} on {greedy['tune_split']} ({greedy['n_tune']})"
        )
    lines.append(
        f"{facts['tensors']} tensors, {facts['bytes'] / 1e6:.1f} MB in {', '.join(facts['files'])},"
        f" {facts['seconds']:.1f}s"
    )
    return lines


def _settings(args: argparse.Namespace) -> MergeSettings:
    from pydantic import ValidationError

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
    given = {"t": args.t, "density": args.density, "base": args.base}
    try:
        return MergeSettings(
            method=args.method,
            models=models,
            shard_size=args.shard_size,
            **{k: v for k, v in given.items() if v is not None},
        )
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'merge'}: {e['msg'].removeprefix('Value error, ')}"
            for e in error.errors()
        )
        raise UserError(problems) from None


def _available(args: argparse.Namespace) -> list[tuple[str, Path]]:
    from emocompress.models.reference import resolve_model_path

    refs = [*args.models, *([args.base] if args.base else [])]
    return [(ref, resolve_model_path(ref)) for ref in refs]


def _tuning(args: argparse.Namespace, reporter: Reporter) -> Tuning | None:
    if args.method != "greedy":
        return None
    if not args.data:
        return None  # greedy refuses with a message saying what is needed
    from emocompress.ops.context import DataContext
    from emocompress.ops.merge.greedy import Tuning

    data = DataContext(source=args.data, max_length=args.max_length)
    return Tuning(data, args.batch_size, "cpu", reporter)
