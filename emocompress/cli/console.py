"""The rich console the commands print tables with."""

from __future__ import annotations

import sys

from rich.console import Console

PIPE_WIDTH = 140


def make_console(*, stderr: bool = False, pipe_width: int = PIPE_WIDTH) -> Console:
    """A console as wide as the terminal; pipes and CI logs (no width) get ``pipe_width``
    columns instead of rich's 80, which would squash the wide tables."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else pipe_width)
