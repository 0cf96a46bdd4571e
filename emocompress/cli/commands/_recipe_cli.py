"""What the recipe-driven commands share: arguments, loading, running, the summary."""

from __future__ import annotations

import argparse
import json
from collections.abc import Collection
from pathlib import Path


def add_recipe_arguments(
    parser: argparse.ArgumentParser, *, positional: bool, required: bool = True
) -> None:
    """``required=False`` for commands where a recipe is one of two ways in (MODEL or --recipe)."""
    if positional:
        parser.add_argument(
            "recipe", metavar="RECIPE", help="recipe YAML file (see docs/recipes.md)"
        )
    else:
        parser.add_argument("--recipe", required=required, metavar="FILE", help="recipe YAML file")
    parser.add_argument(
        "--out",
        metavar="DIR",
        help="the run directory to write (default: runs/<recipe name>); see docs/safety.md",
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a recipe value, e.g. --set variants.student-3l.settings.epochs=1 (repeatable)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue a run: steps finished with the same inputs are skipped",
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="delete the run directory and start over (only a run directory is deleted)",
    )
    add_overwrite_argument(parser)
    parser.add_argument(
        "--json",
        dest="json_out",
        metavar="FILE",
        help="also write the summary (and gate results) as JSON to FILE ('-': stdout, the table and gates then go to stderr)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def add_overwrite_argument(parser: argparse.ArgumentParser) -> None:
    """The one --overwrite flag (docs/safety.md): write into an existing --out that is not
    this command's own earlier output. An --out on or around an input is refused anyway."""
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace (or write into) an existing --out that is not this command's own output",
    )


def recipe_inputs(recipe_file: str | Path, out: Path) -> list[Path]:
    """The recipe file as an input of the run, unless it is the run's own recipe.yaml."""
    from emocompress.artifacts.rundir import RunDir

    recipe_file = Path(recipe_file)
    own = RunDir(out).recipe_file
    if own.exists() and recipe_file.exists() and own.resolve() == recipe_file.resolve():
        return []
    return [recipe_file]


def check_json_out(json_out: str, recipe_file: str | Path, out: Path) -> None:
    """``--json FILE``: a file, never an input, never on or inside one of the run directory's
    own records (run.json, variants/, ...), written yet or not; a new name beside them is
    fine. A summary file is replaced like a log."""
    from emocompress.artifacts.outputs import check_not_a_record, check_output

    check_not_a_record(json_out, out, what="JSON summary")
    check_output(
        json_out, what="JSON summary", inputs=[recipe_file], overwrite=True, directory=False
    )


def run_from_args(
    args: argparse.Namespace,
    *,
    ops: Collection[str] | None = None,
    variants: Collection[str] | None = None,
) -> int:
    from emocompress.cli.console import make_console
    from emocompress.measure.summary import summary_table
    from emocompress.progress import Reporter
    from emocompress.recipe.loading import load_recipe
    from emocompress.run.runner import run_recipe

    recipe = load_recipe(args.recipe, overrides=args.overrides)
    out = Path(args.out) if args.out else Path("runs") / recipe.name
    if args.json_out and args.json_out != "-":
        check_json_out(args.json_out, args.recipe, out)  # before anything runs
    json_to_stdout = args.json_out == "-"  # then stdout is the JSON alone, the rest stderr
    reporter = Reporter("quiet" if args.quiet else ("plain" if json_to_stdout else None))
    result = run_recipe(
        recipe,
        out,
        resume=args.resume,
        fresh=args.fresh,
        overwrite=args.overwrite,
        reporter=reporter,
        ops=ops,
        variants=variants,
        inputs=recipe_inputs(args.recipe, out),
    )
    console = make_console(stderr=json_to_stdout)
    console.print(summary_table(result.rows, title=f"{recipe.name}: {out}"))
    if result.skipped:
        console.print(f"skipped (finished earlier): {', '.join(result.skipped)}")
    warned: dict[str, list[str]] = {}  # one tune split: the same warning for many variants
    for row in result.rows:
        if row.get("significant_f1_drops"):
            drops = ", ".join(row["significant_f1_drops"])
            console.print(
                f"{row['variant']}: F1 dropped significantly for {drops}", highlight=False
            )
        for warning in row.get("threshold_warnings") or []:
            warned.setdefault(warning, []).append(row["variant"])
    for warning, names in warned.items():
        console.print(f"[yellow]warning[/] ({', '.join(names)}) {warning}", highlight=False)
    for gate in result.gate_results:
        mark = "[green]pass[/]" if gate.passed else "[bold red]FAIL[/]"
        console.print(f"gate {mark} {gate.message}", highlight=False)
    if result.gate_results:
        console.print(
            f"gates written to {result.run_dir.gates_json_file} and {result.run_dir.gates_file}"
        )
    if args.json_out:
        payload = {
            "run_dir": str(out),
            "variants": result.rows,
            "gates": [gate.model_dump(mode="json") for gate in result.gate_results],
            "gates_passed": result.gates_passed,
        }
        text = json.dumps(payload, indent=2, default=str)
        if args.json_out == "-":
            print(text)
        else:
            from emocompress.artifacts.atomic import write_text

            write_text(args.json_out, text + "\n")
    if not result.gates_passed:
        failed = [g for g in result.gate_results if not g.passed]
        console.print(f"[bold red]{len(failed)} gate(s) failed[/]")
    return result.exit_code


def single_operation_command(op: str, help_text: str):
    """Build the (add_arguments, run) pair of an `emocompress OP --recipe FILE` command."""

    def add_arguments(parser: argparse.ArgumentParser) -> None:
        add_recipe_arguments(parser, positional=False)
        parser.add_argument(
            "--variant",
            action="append",
            metavar="NAME",
            help=f"only this {op} variant (repeatable; default: every {op} variant)",
        )

    def run(args: argparse.Namespace) -> int:
        args.resume = not args.fresh  # single operations build on what the run already has
        return run_from_args(args, ops=[op], variants=args.variant)

    return add_arguments, run
