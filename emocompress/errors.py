"""The one exception type that reaches the user as a message instead of a traceback."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any


class UserError(Exception):
    """Bad input: a file, a recipe key, a model reference, a label set.

    The CLI prints ``str(error)`` (one clear message: what, where, what was expected)
    and exits with code 2. Raise it for anything the user can fix; let real bugs
    raise their own exceptions so they keep their traceback.
    """

    exit_code = 2

    def __init__(self, message: str, *, where: str | None = None, expected: str | None = None):
        parts = [message]
        if where:
            parts.insert(0, f"{where}:")
        if expected:
            parts.append(f"(expected {expected})")
        super().__init__(" ".join(parts))


class Interrupted(KeyboardInterrupt):
    """SIGTERM (or SIGINT) while a command works: the run is marked "interrupted", resumable.

    A KeyboardInterrupt, so everything that cleans up on Ctrl-C cleans up on SIGTERM too.
    """

    def __init__(self, signal_number: int, name: str) -> None:
        super().__init__(name)
        self.signal_number = signal_number
        self.name = name

    @property
    def exit_code(self) -> int:
        return 128 + self.signal_number


@contextlib.contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises :class:`Interrupted` in the main thread for the block, so a killed
    command cleans up (temporary folders, run.json "interrupted") as Ctrl-C does. Elsewhere
    than the main thread signals cannot be handled; the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(number: int, _frame: Any) -> None:
        raise Interrupted(number, signal.Signals(number).name)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def interruption_of(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM behind ``exc``: the exception itself, or one it was raised from
    or during (a signal that lands inside an import or a class body comes back wrapped, e.g.
    as a RuntimeError from ``__set_name__``)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
