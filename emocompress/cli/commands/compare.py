"""Intervals and paired deltas of a run's variants, and what compression forgot.

Reads RUN_DIR's predictions (variants/*/predictions/<report>.npz) and selected thresholds
(metrics.json) and writes RUN_DIR/comparison.json once; later calls reuse it while those
inputs and the settings are unchanged. Works on run directories made before intervals
existed (their metrics.json gets an ``intervals`` section). Prints each variant's figures
with their intervals, each variant's paired difference from the reference and from its
parent (* the interval excludes 0: significant; ~ it contains 0), the emotions whose F1
dropped significantly (with support) and the examples that changed most.

Examples:
  emocompress compare runs/goemotions-minilm
  emocompress compare runs/quickstart --resamples 2000 --json comparison.json
  emocompress compare /read-only/run --no-write
"""

from __future__ import annotations

import argparse

NAME = "compare"
HELP = "intervals, paired deltas and what compression forgot (comparison.json)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (runs/<name>)")
    parser.add_argument(
        "--reference", metavar="NAME", help="variant deltas are against (default: the recipe's)"
    )
    parser.add_argument(
        "--resamples", type=int, metavar="N", help="bootstrap resamples (default: the recipe's)"
    )
    parser.add_argument("--seed", type=int, help="bootstrap seed (default: the recipe's)")
    parser.add_argument("--confidence", type=float, help="interval level (default: 0.95)")
    parser.add_argument(
        "--examples",
        type=int,
        default=5,
        metavar="N",
        help="changed examples shown per pair (default: 5)",
    )
    parser.add_argument(
        "--no-write", action="store_true", help="compute in memory; write nothing into RUN_DIR"
    )
    parser.add_argument(
        "--json",
        dest="json_out",
        metavar="FILE",
        help="also write the comparison as JSON ('-': stdout; never a file of RUN_DIR's own)",
    )


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from emocompress.artifacts.rundir import RunDir
    from emocompress.cli.console import make_console
    from emocompress.errors import UserError
    from emocompress.measure.comparison import ensure_comparison, run_bootstrap_spec
    from emocompress.progress import Reporter

    run_dir = RunDir(args.run_dir)
    if not RunDir.is_run_dir(Path(args.run_dir)):
        raise UserError(f"{args.run_dir}: not a run directory", expected="runs/<name>")
    names = [variant.name for variant in run_dir.variants()]
    if args.reference is not None and args.reference not in names:
        raise UserError(
            f"--reference {args.reference}: no such variant in {args.run_dir}",
            expected=f"one of {', '.join(names) or '(none)'}",
        )
    if args.json_out and args.json_out != "-":
        from emocompress.artifacts.outputs import check_not_a_record, check_output

        check_not_a_record(args.json_out, run_dir.root, what="JSON comparison")
        # a summary file is replaced like a log
        check_output(args.json_out, what="JSON comparison", overwrite=True, directory=False)
    spec = run_bootstrap_spec(run_dir)
    updates = {
        key: value
        for key, value in (
            ("resamples", args.resamples),
            ("seed", args.seed),
            ("confidence", args.confidence),
        )
        if value is not None
    }
    if updates:
        from emocompress.cli.settings_flags import model_from_flags

        spec = model_from_flags(type(spec), {**spec.model_dump(), **updates})
    comparison = ensure_comparison(
        run_dir,
        spec,
        reference=args.reference,
        write=not args.no_write,
        reporter=Reporter("quiet" if args.json_out == "-" else None),
    )
    if args.json_out:
        text = json.dumps(comparison.to_json(), indent=2)
        if args.json_out == "-":
            print(text)
            return 0
        from emocompress.artifacts.atomic import write_text

        write_text(args.json_out, text + "\n")
    from emocompress.cli.compare_tables import pair_tables, variants_table

    console = make_console()
    console.print(variants_table(comparison))
    for table in pair_tables(comparison, examples=args.examples):
        console.print(table)
    where = "not written (--no-write)" if args.no_write else str(run_dir.comparison_file)
    console.print(f"comparison: {where}")
    return 0
