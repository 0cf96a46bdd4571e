"""One writer per run directory: an OS file lock (``run.lock``) naming its holder.

The lock is ``flock`` on ``RUN_DIR/run.lock``, so the kernel releases it when the holding
process dies (``kill -9`` included): a lock file left behind by a dead process is stale and
the next writer takes it over, saying whose it was. While a live process holds it, a second
writer is refused (exit 2) with the holder's pid, host and start time. The file is written
in place (never renamed), so every process locks the same inode.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from emocompress.errors import UserError

try:  # POSIX; elsewhere the run directory is not locked (documented in docs/safety.md)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a lock."""

    pid: int | None
    host: str | None
    started: str | None
    command: str | None

    def describe(self) -> str:
        if self.pid is None:
            return "an unknown process"
        text = f"pid {self.pid} on {self.host or 'an unknown host'}"
        if self.started:
            text += f", since {self.started}"
        if self.command:
            text += f" ({self.command})"
        return text


def read_holder(path: Path) -> Holder:
    """The holder recorded in a lock file; unknown fields where it is unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        data = {}
    if not isinstance(data, dict):
        data = {}
    pid = data.get("pid")
    return Holder(
        pid=pid if isinstance(pid, int) else None,
        host=str(data["host"]) if data.get("host") else None,
        started=str(data["started"]) if data.get("started") else None,
        command=str(data["command"]) if data.get("command") else None,
    )


def _me() -> dict[str, object]:
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))[
            :200
        ],
    }


@contextlib.contextmanager
def hold_lock(path: Path, *, on_stale: Callable[[Holder], None] | None = None) -> Iterator[Holder]:
    """Hold the lock at ``path`` for the block; UserError naming the holder when taken.

    ``on_stale(previous)`` is called when a lock file of a process that is gone is taken over.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fcntl is None:  # pragma: no cover
        yield Holder(os.getpid(), socket.gethostname(), None, None)
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(path)
            raise UserError(
                f"{path.parent}: the run directory is being written by {holder.describe()}",
                expected=f"that process to finish (or another --out); the lock is {path}",
            ) from None
        previous = read_holder(path)
        if previous.pid is not None and on_stale is not None:
            on_stale(previous)
        me = _me()
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
        try:
            yield Holder(me["pid"], me["host"], me["started"], me["command"])  # type: ignore[arg-type]
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # released: no holder recorded
    finally:
        os.close(fd)  # closing releases the flock
