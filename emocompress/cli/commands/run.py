"""Run a whole recipe headless: every variant in order, then the gates.

Writes the run directory (docs/run-directory.md), shows progress (bars on a terminal,
timestamped lines when CI is set or output is not a terminal) and ends with a summary
table. Exit codes: 0 all gates passed, 1 a gate failed (gates.xml names it), 2 bad input
(a malformed recipe, a missing file).

Examples:
  emocompress run recipes/quickstart.yaml
  emocompress run recipes/goemotions-minilm.yaml --set data.max_examples.train=2000
  emocompress run recipes/quickstart.yaml --resume       # after an interruption
  emocompress run recipes/goemotions-roberta-large.yaml --dry-run
"""

from __future__ import annotations

import argparse

from emocompress.cli.commands._recipe_cli import add_recipe_arguments, run_from_args

NAME = "run"
HELP = "run a whole recipe (exit 1 when a gate fails)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_recipe_arguments(parser, positional=True)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="validate the recipe and print each variant's size and memory estimate; train nothing",
    )


def run(args: argparse.Namespace) -> int:
    if args.dry_run:
        from emocompress.run.dryrun import dry_run

        return dry_run(args.recipe, args.overrides)
    return run_from_args(args)
