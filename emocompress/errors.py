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


_STOPPING = {"depth": 0, "stopping": False}  # the blocks of sigterm_interrupts, nested


@contextlib.contextmanager
def sigterm_interrupts(*, exiting: bool = False) -> Iterator[None]:
    """SIGTERM raises :class:`Interrupted` in the main thread for the block, so a killed
    command cleans up (temporary folders, run.json "interrupted") as Ctrl-C does. The first
    SIGINT or SIGTERM stops the command, and those that follow are ignored until the
    outermost block ends, so that the cleaning up is not itself cut short (an impatient
    second Ctrl-C). ``exiting``: the block is the process's last work (the command line), so
    once stopping, the signals stay ignored after it, while the process exits. Elsewhere than
    the main thread signals cannot be handled; the block runs as it is."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(number: int, _frame: Any) -> None:
        if _STOPPING["stopping"]:
            return  # already stopping on an earlier signal
        _STOPPING["stopping"] = True
        if number == signal.SIGINT:
            raise KeyboardInterrupt
        raise Interrupted(number, signal.Signals(number).name)

    if _STOPPING["depth"] == 0:
        _STOPPING["stopping"] = False
    _STOPPING["depth"] += 1
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, interrupt)
    if previous[signal.SIGINT] is signal.default_int_handler or (
        getattr(previous[signal.SIGINT], "__qualname__", "") == interrupt.__qualname__
    ):  # only where Ctrl-C raises KeyboardInterrupt (not where it is ignored, e.g. nohup)
        signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    except BaseException as exc:
        if interruption_of(exc) is not None:  # also a KeyboardInterrupt raised elsewhere
            _STOPPING["stopping"] = True
        raise
    finally:
        _STOPPING["depth"] -= 1
        if not (exiting and _STOPPING["stopping"]):
            for number, handler in previous.items():
                signal.signal(number, handler)
        else:
            for number in previous:
                signal.signal(number, signal.SIG_IGN)


@contextlib.contextmanager
def interrupts_ignored() -> Iterator[None]:
    """SIGINT and SIGTERM are ignored for the block (main thread only): for recording that a
    command was stopped, which a second Ctrl-C must not cut short. Restored afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    for number in previous:
        signal.signal(number, signal.SIG_IGN)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


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
