"""Live memory of this process (and its children): CPU RSS, and GPU memory where CUDA is.

The panel never imports torch and never reads a half-imported one: a recipe run imports
torch in a worker thread, and ``sys.modules["torch"]`` exists from the first line of that
import, long before ``torch.cuda`` does. GPU memory is read only once the worker says torch
is ready (:func:`mark_torch_ready`, called by the run screen's worker after its imports).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from types import ModuleType

from textual.widgets import Static

_torch_ready = threading.Event()


def mark_torch_ready() -> None:
    """Torch is fully imported (call after ``import torch`` returned, from any thread)."""
    _torch_ready.set()


def _finished_torch() -> ModuleType | None:
    """The torch module when its import has finished, else None (never imports it)."""
    if not _torch_ready.is_set():
        return None
    return sys.modules.get("torch")


def memory_text() -> str:
    import psutil

    process = psutil.Process()
    rss = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            rss += child.memory_info().rss
    text = f"CPU RSS {rss / 2**20:,.0f} MiB (this process and its children)"
    torch = _finished_torch()
    gpu = None
    if torch is not None:
        with contextlib.suppress(Exception):  # a broken CUDA setup is "n/a", not a crash
            if torch.cuda.is_available():
                used = torch.cuda.memory_allocated() / 2**20
                peak = torch.cuda.max_memory_allocated() / 2**20
                gpu = f"  GPU {used:,.0f} MiB allocated (peak {peak:,.0f})"
    return text + (gpu or "  GPU n/a")


class MemoryPanel(Static):
    """Samples every second when ``live``; frozen (for snapshot tests) otherwise."""

    def __init__(self, *, live: bool = True, **kwargs) -> None:
        super().__init__("memory: not sampled", **kwargs)
        self.live = live

    def on_mount(self) -> None:
        if self.live:
            self.sample()
            self.set_interval(1.0, self.sample)

    def sample(self) -> None:
        self.update(memory_text())
