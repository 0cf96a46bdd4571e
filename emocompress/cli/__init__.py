"""The ``emocompress`` command line: finds the command modules and dispatches to them."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from emocompress import __version__
from emocompress.errors import UserError


def _command_modules() -> list:
    import emocompress.cli.commands as package

    modules = [
        importlib.import_module(f"{package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith("_")
    ]
    return sorted(modules, key=lambda m: (getattr(m, "ORDER", 100), m.NAME))


def build_parser() -> argparse.ArgumentParser:
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
    for module in _command_modules():
        doc = (module.__doc__ or module.HELP).strip()
        command = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(command)
        command.set_defaults(_run=module.run)
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
