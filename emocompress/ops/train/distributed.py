"""Several processes under Hugging Face Accelerate (``accelerate launch -m emocompress run``).

On one process (a laptop, CI) nothing here is active and training is plain PyTorch. Under
``accelerate launch`` with more than one process, or with ``EMOCOMPRESS_ACCELERATE=1``, the
training loop wraps model and optimiser with an ``Accelerator`` (DDP), each process trains on
its share of the batches, and only the main process writes the run directory; the others
wait at a barrier after each step.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any


def requested() -> bool:
    return (
        int(os.environ.get("WORLD_SIZE", "1")) > 1
        or os.environ.get("EMOCOMPRESS_ACCELERATE") == "1"
    )


@cache
def accelerator() -> Any | None:
    """The process's Accelerator, or None when running as a single plain process."""
    if not requested():
        return None
    try:
        from accelerate import Accelerator
    except ImportError as exc:
        from emocompress.errors import UserError

        raise UserError(
            "running under several processes needs accelerate", expected="pip install accelerate"
        ) from exc
    return Accelerator()


def is_main_process() -> bool:
    acc = accelerator()
    return acc is None or acc.is_main_process


def wait_for_everyone() -> None:
    acc = accelerator()
    if acc is not None:
        acc.wait_for_everyone()


def device_or(default: str) -> str:
    acc = accelerator()
    return str(acc.device) if acc is not None else default


def shard(batches: list[Any]) -> list[Any]:
    """This process's share of the batches; every process gets the same count (DDP needs it)."""
    acc = accelerator()
    if acc is None or acc.num_processes == 1:
        return batches
    per_process = len(batches) // acc.num_processes
    return batches[acc.process_index :: acc.num_processes][:per_process]
