"""Progress for long work: rich bars on a terminal, plain timestamped lines in CI or pipes.

A :class:`Reporter` is handed down to every long loop. Listeners (the TUI) receive the same
events as plain tuples, from whatever thread the work runs in; they must not touch widgets.
A reporter can also be cancelled: loops call :meth:`Reporter.check_cancelled` between steps,
and every :meth:`Task.advance` checks too, so any loop that reports progress stops at its
next step. A task that ends by an exception (cancelled, failed) emits ``"stopped"``, never
``"end"``: a listener never shows as done what was not.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

Event = tuple[str, str, float, float | None]  # (kind, text, completed, total)
Listener = Callable[[Event], None]


class Cancelled(Exception):
    """Raised inside long work when the user asked to stop it."""


def plain_mode() -> bool:
    return bool(os.environ.get("CI")) or not sys.stderr.isatty()


@dataclass
class Task:
    reporter: Reporter
    description: str
    total: float | None
    completed: float = 0.0
    _rich_id: int | None = None
    _last_line: float = field(default=0.0)

    def advance(self, amount: float = 1.0, *, info: str = "") -> None:
        self.completed += amount
        self.reporter._update(self, info)


class Reporter:
    """Progress and log lines. ``mode``: "rich", "plain" or "quiet" (listeners only)."""

    def __init__(self, mode: str | None = None, *, plain_interval: float = 10.0) -> None:
        self.mode = mode or ("plain" if plain_mode() else "rich")
        self.plain_interval = plain_interval
        self.listeners: list[Listener] = []
        self._cancel = threading.Event()
        self._progress = None

    # -- listeners and cancellation -------------------------------------------------
    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def cancel(self) -> None:
        self._cancel.set()

    def check_cancelled(self) -> None:
        if self._cancel.is_set():
            raise Cancelled("cancelled by the user")

    def _emit(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)

    # -- output -----------------------------------------------------------------------
    def log(self, text: str) -> None:
        self._emit(("log", text, 0.0, None))
        if self.mode == "quiet":
            return
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False)
        else:
            self._plain(text)

    def _plain(self, text: str) -> None:
        stamp = datetime.now().strftime("%H:%M:%S")
        print(f"[{stamp}] {text}", file=sys.stderr, flush=True)

    @contextlib.contextmanager
    def task(self, description: str, total: float | None = None) -> Iterator[Task]:
        task = Task(self, description, total)
        self._emit(("start", description, 0.0, total))
        started = time.perf_counter()
        owns_progress = False
        if self.mode == "rich":
            owns_progress = self._progress is None
            if owns_progress:
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeElapsedColumn,
                    TimeRemainingColumn,
                )

                self._progress = Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    TimeRemainingColumn(),
                    TextColumn("{task.fields[info]}"),
                    transient=False,
                )
                self._progress.start()
            task._rich_id = self._progress.add_task(description, total=total, info="")
        elif self.mode == "plain":
            self._plain(f"{description} ...")
        finished = False
        try:
            yield task
            finished = True
        finally:
            seconds = time.perf_counter() - started
            if self._progress is not None and task._rich_id is not None:
                self._progress.update(task._rich_id, completed=task.completed)
                if owns_progress:
                    self._progress.stop()
                    self._progress = None
            elif self.mode == "plain":
                outcome = "done in" if finished else "stopped after"
                self._plain(f"{description}: {outcome} {seconds:.1f}s")
            # "end" only for work that finished: a cancelled or failed task is "stopped"
            kind = "end" if finished else "stopped"
            self._emit((kind, description, task.completed, task.total))

    def _update(self, task: Task, info: str) -> None:
        self.check_cancelled()  # every loop that reports progress is a place to stop
        self._emit(("progress", task.description, task.completed, task.total))
        if self._progress is not None and task._rich_id is not None:
            self._progress.update(task._rich_id, completed=task.completed, info=info)
        elif self.mode == "plain":
            moment = time.monotonic()
            if moment - task._last_line >= self.plain_interval:
                task._last_line = moment
                share = f" ({100 * task.completed / task.total:.0f}%)" if task.total else ""
                self._plain(
                    f"{task.description}: {task.completed:g}/{task.total or '?'}{share} {info}".rstrip()
                )
