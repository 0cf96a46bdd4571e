"""Where an unexpected crash's traceback goes: the run directory being written, else a
temporary file. The command line prints one line naming the file (``--debug`` shows it)."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

_current: list[Path] = []  # the run directory the process writes (the last one named)


def remember_run_dir(root: str | os.PathLike[str]) -> None:
    """Name the run directory whose crash.log a crash of this process goes to."""
    _current[:] = [Path(root)]


def forget_run_dir() -> None:
    _current.clear()


def write_crash(traceback_text: str, argv: list[str] | None = None) -> Path:
    """Append the traceback to the run's crash.log (or a new temporary file); its path."""
    from emocompress.artifacts.rundir import RunDir

    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    entry = f"=== {stamp} pid {os.getpid()}: {' '.join(argv or [])}\n{traceback_text}\n"
    if _current and _current[0].is_dir():
        path = RunDir(_current[0]).crash_log
        try:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(entry)
            return path
        except OSError:
            pass  # a full or read-only disk: fall back to the temporary folder
    fd, name = tempfile.mkstemp(prefix="emocompress-crash-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(entry)
    return Path(name)
