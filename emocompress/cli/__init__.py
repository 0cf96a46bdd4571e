"""The ``emocompress`` command line: the commands of :data:`~emocompress.cli.commands.COMMANDS`.

One error path for every command (docs/safety.md):

- exit 0: done; exit 1: a gate failed (gates.xml names it);
- exit 2: bad input, one line saying what, where and what was expected: a
  :class:`~emocompress.errors.UserError`, or an OS error about a file (missing, permission
  denied, disk full, read-only);
- exit 3: an unexpected crash (a bug): one line naming the file its traceback went to (the
  run directory's crash.log, else a temporary file);
- 130 / 143: interrupted by SIGINT / SIGTERM (a run is left "interrupted", resumable);
- a closed stdout (``... --json | head``) ends quietly, like a tool killed by SIGPIPE (141).

``--debug`` (before or after the command) or ``EMOCOMPRESS_DEBUG=1`` prints tracebacks.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from emocompress import __version__
from emocompress.errors import UserError

CRASH_EXIT = 3
BROKEN_PIPE_EXIT = 141
DEBUG_VARIABLE = "EMOCOMPRESS_DEBUG"


def build_parser() -> argparse.ArgumentParser:
    from emocompress.cli.commands import COMMANDS

    parser = argparse.ArgumentParser(
        prog="emocompress",
        description=(
            "Distil, prune, merge and export emotion classifiers, and measure every variant "
            "the same way (AUC, F1 under tuned thresholds, size, latency, memory)."
        ),
        epilog=(
            "Run 'emocompress COMMAND --help' for a command's options. Exit codes: 0 done, "
            "1 a gate failed, 2 bad input (one line), 3 a crash (traceback in a log file). "
            "--out never replaces what emocompress did not write unless --overwrite "
            "(docs/safety.md)."
        ),
    )
    parser.add_argument("--version", action="version", version=f"emocompress {__version__}")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS.values():
        parser_ = sub.add_parser(
            command.NAME,
            help=command.HELP,
            description=(command.__doc__ or command.HELP).strip(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        command.add_arguments(parser_)
        # SUPPRESS: `emocompress --debug CMD` is not reset by the sub-command's default
        parser_.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP
        )
        parser_.set_defaults(_run=command.run)
    return parser


_DEBUG_HELP = f"show tracebacks (also {DEBUG_VARIABLE}=1)"


def debugging(args: argparse.Namespace | None = None) -> bool:
    return bool(getattr(args, "debug", False)) or os.environ.get(DEBUG_VARIABLE, "") not in (
        "",
        "0",
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = _parse(parser, argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 0
    from emocompress.errors import sigterm_interrupts

    try:
        # every command cleans up on SIGTERM as on Ctrl-C; the process exits after it
        with sigterm_interrupts(exiting=argv is None):
            return int(args._run(args) or 0)
    except BaseException as exc:  # noqa: BLE001 - this is the one place errors are shown
        return handle_error(exc, args, list(sys.argv if argv is None else argv))


TRAILING_POSITIONALS = "_trailing_positionals"
"""A command's default naming its list positional that also takes the words after its options
(``predict BUNDLE --top 1 "text"``): argparse fills a list positional only before them."""


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    args, extra = parser.parse_known_args(argv)
    dest = getattr(args, TRAILING_POSITIONALS, None)
    if extra and dest and not any(word.startswith("-") for word in extra):
        setattr(args, dest, [*getattr(args, dest), *extra])
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def handle_error(exc: BaseException, args: argparse.Namespace | None, argv: list[str]) -> int:
    """Show ``exc`` the one way (module docstring) and return the exit code."""
    if isinstance(exc, SystemExit):
        if exc.code == 1 and _stdout_is_devnull():
            return BROKEN_PIPE_EXIT  # rich's own broken-pipe exit: the same code as ours
        raise exc
    if isinstance(exc, BrokenPipeError):
        _silence_stdout()
        return BROKEN_PIPE_EXIT
    debug = debugging(args)
    from emocompress.errors import interruption_of

    exc = interruption_of(exc) or exc  # a signal inside an import arrives wrapped
    if isinstance(exc, KeyboardInterrupt):
        from emocompress.errors import Interrupted

        if debug:
            traceback.print_exception(exc)
        name = exc.name if isinstance(exc, Interrupted) else "SIGINT"
        # only the commands that run recipes can take up where they stopped
        resumable = args is not None and hasattr(args, "resume")
        hint = "; a run can continue with --resume" if resumable else ""
        _say(f"interrupted ({name}){hint}", label="")
        return exc.exit_code if isinstance(exc, Interrupted) else 130
    from emocompress.cli.oserrors import user_error_of

    error = exc if isinstance(exc, UserError) else user_error_of(exc)
    if error is not None:
        if debug:
            traceback.print_exception(exc)
        _say(str(error))
        return UserError.exit_code
    text = "".join(traceback.format_exception(exc))
    if debug:
        sys.stderr.write(text)
    try:
        from emocompress.artifacts.crashlog import write_crash

        where = f"traceback in {write_crash(text, argv)}"
    except OSError:
        where = "no log could be written"
    summary = (
        f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
    )
    _say(
        f"unexpected crash ({summary[:300]}); {where}; rerun with --debug to see it here",
        label="crash: ",
    )
    return CRASH_EXIT


def _say(message: str, *, label: str = "error: ") -> None:
    """One message on stderr; soft-wrapped so that it stays one line in logs."""
    try:
        from rich.console import Console
        from rich.text import Text

        console = Console(stderr=True, highlight=False, soft_wrap=True)
        console.print(Text(label, style="bold red") + Text(message) if label else Text(message))
    except (BrokenPipeError, OSError):
        pass  # stderr is gone too: the exit code still says it


def _stdout_is_devnull() -> bool:
    """Whether stdout was pointed at /dev/null (what rich does on a broken pipe)."""
    try:
        mine, null = os.fstat(sys.stdout.fileno()), os.stat(os.devnull)
    except (OSError, ValueError):
        return False
    return (mine.st_dev, mine.st_ino) == (null.st_dev, null.st_ino)


def _silence_stdout() -> None:
    """Python flushes stdout at exit and would fail again: point it at /dev/null."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
