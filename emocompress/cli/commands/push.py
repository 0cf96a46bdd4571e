"""Upload a variant or a bundle to the Hugging Face Hub, with its model card.

The card (README.md: Hub front matter with a model-index of the measured figures, lineage,
limits, how to load it) is written into FOLDER first; then every file but predictions/ is
uploaded to REPO_ID (created when missing). Offline, it says so and uploads nothing;
--dry-run writes the card and lists the files without touching the network.

Examples:
  emocompress push runs/quickstart/variants/student-3l me/emotion-student --dry-run
  emocompress push bundles/student-int8 me/emotion-student-int8 --private
"""

from __future__ import annotations

import argparse

NAME = "push"
HELP = "upload a variant or bundle with its model card to the Hugging Face Hub"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", metavar="FOLDER", help="a variant folder or a bundle")
    parser.add_argument(
        "repo_id", metavar="REPO_ID", help="Hub model repo, e.g. me/emotion-student"
    )
    parser.add_argument("--private", action="store_true", help="create the repo as private")
    parser.add_argument(
        "--dry-run", action="store_true", help="write the card and list the files; upload nothing"
    )
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from emocompress.deploy.hub import check_repo_id, push, push_plan

    check_repo_id(args.repo_id)
    plan = push_plan(Path(args.folder))
    if args.json:
        print(
            json.dumps(
                {
                    "repo_id": args.repo_id,
                    "card": str(plan.card),
                    "files": [str(f) for f in plan.files],
                    "bytes": plan.bytes,
                },
                indent=2,
            )
        )
    else:
        print(f"card: {plan.card}")
        print(
            f"{len(plan.files)} files, {plan.bytes / 1e6:.1f} MB: "
            + ", ".join(map(str, plan.files))
        )
    if args.dry_run:
        return 0
    url = push(plan, args.repo_id, private=args.private)
    print(f"pushed to {args.repo_id}: {url}")
    return 0
