"""The CLI commands: one module per command, listed here in the order ``--help`` shows them.

Each module defines ``NAME`` (the sub-command), ``HELP`` (one line), ``add_arguments(parser)``
and ``run(args) -> int``; its docstring is the command's ``--help`` text. Adding a command is
adding a module and naming it in :data:`COMMANDS`. Keep module-level imports light (``--help``
imports every command module): heavy libraries are imported inside ``run``.
"""

from __future__ import annotations

import argparse
from typing import Protocol

from emocompress.cli.commands import (
    bench,
    card,
    compare,
    distil,
    export,
    inspect,
    merge,
    predict,
    prune,
    pull,
    push,
    quantize,
    report,
    run,
    tui,
)
from emocompress.cli.commands import eval as eval_command
from emocompress.registry import Registry


class Command(Protocol):
    """What a command module provides."""

    NAME: str
    HELP: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


COMMANDS: Registry[Command] = Registry(
    "command",
    [
        run,
        eval_command,
        inspect,
        distil,
        prune,
        merge,
        export,
        quantize,
        bench,
        compare,
        report,
        tui,
        predict,
        card,
        push,
        pull,
    ],
    name=lambda command: command.NAME,
)
