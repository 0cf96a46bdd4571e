"""Write the comparison document of a run directory, with figures.

Reads RUN_DIR (run.json, recipe.yaml, variants/*/metrics.json, history.json,
predictions/*.npz, bench.json) and writes RUN_DIR/report.md: overview (variants, lineage,
splits, hardware, versions), a comparison with the baseline (delta and percent), efficiency,
one section per variant (configuration, quality, training, size, speed, memory), per-emotion
tables, thresholds and artifacts with sha256. Beside it: figures/ (PNG and vector PDF),
per_emotion.csv and, with --html, report.html. Each variant's quality section is recomputed
from its predictions first; a disagreement is printed and written into the report.

Examples:
  emocompress report runs/quickstart
  emocompress report runs/quickstart --baseline student-3l --html
  emocompress report runs/goemotions-minilm --out docs/reports/goemotions/report.md --formats png
"""

from __future__ import annotations

import argparse
import sys

NAME = "report"
HELP = "write report.md (+ figures, CSV, HTML) from a run directory"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (runs/<name>)")
    parser.add_argument(
        "--baseline",
        metavar="NAME",
        help="variant to compare with (default: the recipe's reference)",
    )
    parser.add_argument(
        "--out",
        metavar="FILE",
        help="the Markdown file to write (default: RUN_DIR/report.md); figures/, "
        "per_emotion.csv and report.html go beside it (docs/safety.md)",
    )
    from emocompress.cli.commands._recipe_cli import add_overwrite_argument

    add_overwrite_argument(parser)
    parser.add_argument("--html", action="store_true", help="also write report.html beside it")
    parser.add_argument("--no-figures", action="store_true", help="skip the figures")
    parser.add_argument(
        "--formats",
        default="png,pdf",
        metavar="LIST",
        help="figure formats, comma-separated: png, pdf, svg (default: png,pdf)",
    )
    parser.add_argument("--no-csv", action="store_true", help="skip per_emotion.csv")


def run(args: argparse.Namespace) -> int:
    from emocompress.artifacts.schema import Metrics
    from emocompress.progress import Reporter
    from emocompress.report import write_report

    formats = tuple(f.strip().lower() for f in args.formats.split(",") if f.strip())
    check_report_output(args)
    result = write_report(
        args.run_dir,
        baseline=args.baseline,
        out=args.out,
        html=args.html,
        figures=not args.no_figures,
        formats=formats,
        csv=not args.no_csv,
        reporter=Reporter(),
    )
    print(f"report: {result.markdown}  (baseline {result.baseline}; {', '.join(result.variants)})")
    if result.figures:
        n = sum(len(files) for files in result.figures.values())
        print(f"figures: {n} files in {result.markdown.parent / 'figures'}")
    for path in (result.csv, result.html):
        if path:
            print(f"wrote {path}")
    for warning in result.warnings:
        print(f"note: {warning}", file=sys.stderr)
    for problem in result.problems:
        print(f"warning: {Metrics.FILE} disagrees with predictions: {problem}")
    return 0


REPORT_TITLE = "# emocompress report"


def check_report_output(args: argparse.Namespace) -> None:
    """--out (default RUN_DIR/report.md) follows the one rule: never a file of the run's
    variants or its records; an existing file that is not an earlier report only with
    --overwrite. What goes beside it (figures/, per_emotion.csv, the .html) is replaced only
    where an earlier report lies beside it, or with --overwrite: figures/ is swapped whole."""
    from pathlib import Path

    from emocompress.artifacts.outputs import OVERWRITE_HINT, check_output, is_empty_target
    from emocompress.artifacts.rundir import RunDir
    from emocompress.errors import UserError
    from emocompress.report import CSV_FILE, FIGURES_DIR, REPORT_FILE

    run = RunDir(args.run_dir)
    target = Path(args.out) if args.out else run.root / REPORT_FILE
    check_output(
        target,
        what="report",
        inputs=[run.variants_root, run.run_file, run.recipe_file, run.bench_file],
        overwrite=args.overwrite,
        is_own=_is_report,
        directory=False,
    )
    folder = target.parent
    beside = [folder / FIGURES_DIR] if not args.no_figures else []
    beside += [folder / CSV_FILE] if not args.no_csv else []
    beside += [target.with_suffix(".html")] if args.html else []
    taken = [path for path in beside if path != target and not is_empty_target(path)]
    if taken and not args.overwrite and not any(map(_is_report, folder.glob("*.md"))):
        raise UserError(
            f"{taken[0]}: exists beside the report {target}, and no earlier report is there; "
            "refusing to replace it",
            expected=OVERWRITE_HINT,
        )


def _is_report(path: object) -> bool:
    from pathlib import Path

    try:
        with open(Path(str(path)), encoding="utf-8") as handle:
            return handle.readline().startswith(REPORT_TITLE)
    except (OSError, UnicodeDecodeError):
        return False
