"""The ``emocompress`` command line: the commands of :data:`~emocompress.cli.commands.COMMANDS`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from emocompress import __version__
from emocompress.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    from emocompress.cli.commands import COMMANDS

    parser = argparse.ArgumentParser(
        prog="emocompress",
        description=(
            "Distil, prune, merge and export emotion classifiers, and measure every variant "
            "the same way (AUC, F1 under tuned thresholds, size, latency, memory)."
        ),
        epilog="Run 'emocompress COMMAND --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"emocompress {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS.values():
        parser_ = sub.add_parser(
            command.NAME,
            help=command.HELP,
            description=(command.__doc__ or command.HELP).strip(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(parser_)
        parser_.set_defaults(_run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0
    try:
        return int(args._run(args) or 0)
    except UserError as error:
        from rich.console import Console
        from rich.text import Text

        # soft_wrap: one message stays one line in logs, however long its paths are
        console = Console(stderr=True, highlight=False, soft_wrap=True)
        console.print(Text("error: ", style="bold red") + Text(str(error)))
        return UserError.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
