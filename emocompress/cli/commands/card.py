"""Write the model card (README.md) of a variant or a bundle.

A Hugging Face Hub card: YAML front matter (library, pipeline tag, datasets, base model,
and a model-index with the figures of metrics.json: dataset, split, metric names and
values), then lineage, figures, intended use, limits (rare emotions, where the thresholds
were tuned) and how to load it. `emocompress run` writes one for every variant and
`export` one into every bundle; this command writes it again (after `bench`, say) or for a
variant made elsewhere. A README.md that is not an emocompress card is never replaced.

Examples:
  emocompress card runs/goemotions-minilm/variants/student-3l
  emocompress card runs/quickstart/variants/student-int8 --print
"""

from __future__ import annotations

import argparse

NAME = "card"
HELP = "write a variant's or bundle's model card (README.md with a Hub model-index)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", metavar="FOLDER", help="a variant folder or a bundle")
    parser.add_argument("--print", action="store_true", help="print the card instead of writing it")


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from emocompress.deploy.bundle import is_bundle
    from emocompress.deploy.model_card import model_card, write_model_card

    folder = Path(args.folder)
    if args.print:
        print(model_card(folder, bundle=is_bundle(folder)), end="")
        return 0
    print(f"wrote {write_model_card(folder, bundle=is_bundle(folder))}")
    return 0
