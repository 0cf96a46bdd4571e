"""Fetch a variant logged to MLflow or Weights & Biases back into a run directory.

SOURCE is the tracker and its run id, as `emocompress run` printed it or the tracker's UI
shows it:
  mlflow:RUN_ID                  from the MLflow store at --tracking-uri
  wandb:RUN_ID                   from an offline W&B folder (--wandb-dir), files checked
                                 against the digests W&B recorded
  wandb:ENTITY/PROJECT/RUN_ID    from the W&B server (network and `wandb login`)

The variant lands in OUT/variants/<name> (its logged name, or --name); an existing variant
is never replaced unless --overwrite. Measure it again with `emocompress eval`.

Examples:
  emocompress pull mlflow:0a1b2c... --tracking-uri sqlite:///runs/mlflow.db --out runs/pulled
  emocompress pull wandb:3xk9q2lm --wandb-dir . --out runs/pulled
  emocompress pull wandb:my-team/emocompress/3xk9q2lm --out runs/pulled
"""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "pull"
HELP = "fetch a variant logged to MLflow or W&B back into a run directory"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "source", metavar="SOURCE", help="mlflow:RUN_ID or wandb:[ENTITY/PROJECT/]RUN_ID"
    )
    parser.add_argument(
        "--out", required=True, metavar="RUN_DIR", help="run directory the variant goes into"
    )
    parser.add_argument(
        "--tracking-uri",
        metavar="URI",
        help="MLflow tracking URI (default: sqlite:///runs/mlflow.db, the recipes' default)",
    )
    parser.add_argument(
        "--wandb-dir", metavar="DIR", help="folder of offline W&B runs (WANDB_DIR, or its wandb/)"
    )
    parser.add_argument("--name", help="variant name in RUN_DIR (default: the logged name)")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a variant of that name in RUN_DIR"
    )


def run(args: argparse.Namespace) -> int:
    from emocompress.artifacts.lock import hold_lock
    from emocompress.artifacts.outputs import check_output
    from emocompress.artifacts.rundir import RunDir
    from emocompress.run.tracking.pull import pull_variant

    out = check_output(args.out, what="run directory", is_own=RunDir.holds_a_run)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        with hold_lock(RunDir(out).lock_file):  # not while a run writes into it
            pulled = pull_variant(
                args.source,
                out,
                tracking_uri=args.tracking_uri,
                wandb_dir=Path(args.wandb_dir) if args.wandb_dir else None,
                name=args.name,
                overwrite=args.overwrite,
            )
    except BaseException:
        if created:
            _remove_if_unused(out, RunDir(out).lock_file)
        raise
    print(f"pulled {args.source} ({pulled.tracker}) into {pulled.variant.path}")
    return 0


def _remove_if_unused(out: Path, lock: Path) -> None:
    """A new --out of a failed pull holds its lock (and empty folders) only: remove it, so
    that nothing is left behind by a command that made nothing."""
    folders = sorted((p for p in out.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts))
    for folder in folders:
        if not any(folder.iterdir()):
            folder.rmdir()
    if [p.name for p in out.iterdir()] == [lock.name]:
        lock.unlink()
        out.rmdir()
