"""Live memory of this process (and its children): CPU RSS, and GPU memory where CUDA is."""

from __future__ import annotations

import contextlib
import sys

from textual.widgets import Static


def memory_text() -> str:
    import psutil

    process = psutil.Process()
    rss = process.memory_info().rss
    for child in process.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            rss += child.memory_info().rss
    text = f"CPU RSS {rss / 2**20:,.0f} MiB"
    torch = sys.modules.get("torch")  # never import torch just to ask
    if torch is not None and torch.cuda.is_available():
        used = torch.cuda.memory_allocated() / 2**20
        peak = torch.cuda.max_memory_allocated() / 2**20
        text += f"  GPU {used:,.0f} MiB (peak {peak:,.0f})"
    else:
        text += "  GPU n/a"
    return text


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
