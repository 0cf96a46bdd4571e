"""Several processes under Hugging Face Accelerate or torchrun (docs/distributed.md).

On one process (a laptop, CI) nothing here is active and training is plain PyTorch. Under
``accelerate launch`` / ``torchrun`` with more than one process, or with
``EMOCOMPRESS_ACCELERATE=1``, the training loop wraps the model and optimiser with an
``Accelerator`` (DDP) and:

- every batch is the same as on one process, split across the processes (:func:`local_share`),
  and each process's loss is weighted by its share, so the averaged gradient is the
  single-process gradient of the whole batch: N processes give the weights one process gives;
- scoring (tune evaluations, the teacher's logits for distillation) is split across the
  processes and gathered (:func:`sharded_rows`): every example is scored exactly once;
- only the main process writes the run directory; the others wait at a barrier after each
  step and train alongside in a scratch folder.

Without a GPU the processes talk over gloo (``Accelerator(cpu=True)``): Accelerate on its own
would give each CPU process a group of one, and both would write the run directory.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

import numpy as np


def requested() -> bool:
    return world_size_from_env() > 1 or os.environ.get("EMOCOMPRESS_ACCELERATE") == "1"


def world_size_from_env() -> int:
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        return 1


@cache
def accelerator() -> Any | None:
    """The process's Accelerator, or None when running as a single plain process."""
    if not requested():
        return None
    from emocompress.errors import UserError

    try:
        import torch
        from accelerate import Accelerator
    except ImportError as exc:
        raise UserError(
            "running under several processes needs accelerate", expected="pip install accelerate"
        ) from exc
    acc = Accelerator(cpu=not torch.cuda.is_available())
    atexit.register(shutdown)
    expected = world_size_from_env()
    if acc.num_processes != expected:
        raise UserError(
            f"WORLD_SIZE is {expected} but Accelerate formed a group of {acc.num_processes}",
            expected="start with `accelerate launch` or `torchrun` (docs/distributed.md)",
        )
    return acc


def shutdown() -> None:
    """Leave the process group at exit: a gloo group left to the interpreter's teardown can
    abort the process ("terminate called without an active exception")."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def process_count() -> int:
    acc = accelerator()
    return 1 if acc is None else acc.num_processes


def process_index() -> int:
    acc = accelerator()
    return 0 if acc is None else acc.process_index


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


def local_share(indices: np.ndarray) -> np.ndarray:
    """This process's part of a batch: every ``n``-th example from its rank on."""
    count = process_count()
    return indices if count == 1 else indices[process_index() :: count]


def loss_weight(local: int, whole: int) -> float:
    """What a process's mean loss is multiplied by so that DDP's average of the gradients
    is the gradient of the mean loss over the whole batch (the shares may differ by one)."""
    return 1.0 if whole == 0 else local * process_count() / whole


def all_mean(value: float) -> float:
    """The mean of ``value`` over the processes (a logged loss is the whole batch's)."""
    if process_count() == 1:
        return value
    import torch
    import torch.distributed as dist

    tensor = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(tensor)
    return float(tensor.item()) / process_count()


def average_gradients(parameters: Sequence[Any]) -> None:
    """All-reduce the gradients of parameters DDP does not own (a distillation projection)."""
    if process_count() == 1:
        return
    import torch.distributed as dist

    for param in parameters:
        if param.grad is not None:
            dist.all_reduce(param.grad)
            param.grad /= process_count()


def sharded_rows(compute: Callable[[np.ndarray], np.ndarray], n: int) -> np.ndarray:
    """Rows ``compute(indices)`` for ``range(n)``, each process computing its share once and
    all of them receiving the whole (in order)."""
    everything = np.arange(n)
    if process_count() == 1:
        return compute(everything)
    import torch.distributed as dist

    mine = local_share(everything)
    gathered: list[Any] = [None] * process_count()
    # our own processes' arrays: all_gather_object's pickling never sees outside data
    dist.all_gather_object(gathered, (mine, compute(mine)))
    first = gathered[0][1]
    rows = np.empty((n, *first.shape[1:]), dtype=first.dtype)
    for indices, values in gathered:
        rows[indices] = values
    return rows
