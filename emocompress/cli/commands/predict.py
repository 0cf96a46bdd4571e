"""Label texts with a deployed bundle (made by `emocompress export`) or an ONNX variant.

Runs with numpy, onnxruntime and tokenizers only: no torch, no transformers. A label is
predicted when its probability reaches the threshold chosen on the tune split
(thresholds.json in a bundle; the selected strategy in an ONNX variant's metrics.json).

Examples:
  emocompress predict bundles/student "thank you so much, this made my day"
  emocompress predict runs/quickstart/variants/student-int8 "thank you so much"
  emocompress predict bundles/student "I am so sorry" "what?!" --json
  emocompress predict bundles/student --file texts.txt --json > labels.json
  cut -f1 dev.tsv | emocompress predict bundles/student --file - --json
"""

from __future__ import annotations

import argparse

NAME = "predict"
HELP = "label texts with a bundle or an ONNX variant (onnxruntime + tokenizers only)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "bundle",
        metavar="MODEL",
        help="bundle directory (emocompress export) or ONNX variant directory of a run",
    )
    parser.add_argument("texts", metavar="TEXT", nargs="*", help="texts to label")
    from emocompress.cli import TRAILING_POSITIONALS

    parser.set_defaults(**{TRAILING_POSITIONALS: "texts"})  # also after the options
    parser.add_argument(
        "--file", metavar="FILE", help="read texts from FILE, one per line ('-': standard input)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON (labels and probabilities)")
    parser.add_argument(
        "--top", type=int, default=3, metavar="N", help="probabilities shown per text (default: 3)"
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=64,
        help="texts run at once, by token length (default: 64); a dynamic int8 graph scores each text alone, "
        "so that its probabilities do not depend on the other texts",
    )


def read_texts(args: argparse.Namespace) -> list[str]:
    from pathlib import Path

    from emocompress.errors import UserError

    texts = list(args.texts)
    if args.file:
        path = Path(args.file)
        if args.file != "-" and path.is_dir():
            raise UserError(f"{path}: is a directory", expected="a text file, one text per line")
        if args.file != "-" and not path.exists():
            raise UserError(f"{path}: no such file", expected="a text file, one text per line")
        lines = _read_lines(args.file)
        texts += [line for line in lines if line.strip()]
        _report_blank_lines("stdin" if args.file == "-" else path, lines)
    if not texts:
        raise UserError("no texts to label", expected="TEXT arguments or --file FILE")
    return texts


def _read_lines(name: str) -> list[str]:
    """The lines of a file, a pipe (/dev/stdin, <(cmd)) or, for '-', standard input."""
    import sys

    from emocompress.errors import UserError

    try:
        if name == "-":
            data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
        else:
            with open(name, "rb") as handle:  # not is_file(): a pipe is no regular file
                data = handle.read()
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        raise UserError(f"{name}: not UTF-8 text ({exc.reason})") from exc
    return text.splitlines()


def _report_blank_lines(path: object, lines: list[str]) -> None:
    """Empty lines are not texts: skipped, and said so (on stderr, so --json stays JSON)."""
    import sys

    blank = [number for number, line in enumerate(lines, 1) if not line.strip()]
    if blank:
        shown = ", ".join(map(str, blank[:10])) + (", ..." if len(blank) > 10 else "")
        print(
            f"note: {path}: skipped {len(blank)} empty line{'s' * (len(blank) != 1)} "
            f"(line {shown})",
            file=sys.stderr,
        )


def run(args: argparse.Namespace) -> int:
    import json

    from emocompress.deploy.bundle import predict_texts
    from emocompress.errors import UserError

    if args.batch_size < 1 or args.top < 0:
        raise UserError("--batch-size must be >= 1 and --top >= 0")
    results = predict_texts(args.bundle, read_texts(args), batch_size=args.batch_size)
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
        return 0
    for result in results:
        top = list(result["probs"].items())[: args.top]
        print(result["text"])
        print(f"  labels: {', '.join(result['labels']) or '(none)'}")
        print("  top:    " + ", ".join(f"{name} {p:.3f}" for name, p in top))
    return 0
