"""Tokenise once, then batch by length with dynamic padding (fast on CPU, same results).

The batch plans here are numpy only (torch is imported by :func:`collate` alone), so the
ONNX side (emocompress.models.ort, which must run without torch) batches with the same code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch
    from transformers import PreTrainedTokenizerBase


@dataclass(frozen=True)
class Encoded:
    input_ids: list[list[int]]
    token_type_ids: list[list[int]] | None
    pad_id: int

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def lengths(self) -> np.ndarray:
        return np.fromiter((len(ids) for ids in self.input_ids), dtype=np.int64, count=len(self))


def encode(tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], max_length: int) -> Encoded:
    out = tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)
    token_types = out.get("token_type_ids")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    return Encoded(
        list(out["input_ids"]), list(token_types) if token_types is not None else None, pad_id
    )


def collate(encoded: Encoded, indices: Sequence[int]) -> dict[str, torch.Tensor]:
    """Pad the chosen examples to the longest among them."""
    import torch

    width = max(len(encoded.input_ids[i]) for i in indices)
    ids = torch.full((len(indices), width), encoded.pad_id, dtype=torch.long)
    mask = torch.zeros((len(indices), width), dtype=torch.long)
    types = torch.zeros((len(indices), width), dtype=torch.long) if encoded.token_type_ids else None
    for row, i in enumerate(indices):
        seq = encoded.input_ids[i]
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
        if types is not None:
            types[row, : len(seq)] = torch.tensor(encoded.token_type_ids[i])
    batch = {"input_ids": ids, "attention_mask": mask}
    if types is not None:
        batch["token_type_ids"] = types
    return batch


BATCHING_MODES = ("plain", "bucketed")


def inference_batches(
    lengths: np.ndarray, batch_size: int, *, bucketed: bool = True
) -> list[np.ndarray]:
    """Index batches covering every item once, each padded to its longest when run.

    Bucketed (the default everywhere texts are scored): sorted by token length, longest first
    (so memory peaks early and visibly), so a batch's texts have similar lengths and little
    padding. Plain: in the order given (what a caller that batches as texts arrive pays).
    """
    lengths = np.asarray(lengths)
    order = np.argsort(-lengths, kind="stable") if bucketed else np.arange(len(lengths))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def score_in_batches(
    lengths: np.ndarray,
    batch_size: int,
    columns: int,
    score: Callable[[np.ndarray], np.ndarray],
    *,
    bucketed: bool = True,
) -> np.ndarray:
    """Rows ``score(indices)`` of every batch of :func:`inference_batches`, put back in the
    input order: (n, columns) float32. The one batching loop of PyTorch and ONNX scoring."""
    out = np.zeros((len(lengths), columns), dtype=np.float32)
    for indices in inference_batches(lengths, batch_size, bucketed=bucketed):
        out[indices] = score(indices)
    return out


def padded_tokens(lengths: np.ndarray, batches: Sequence[np.ndarray]) -> tuple[int, int]:
    """(tokens computed, real tokens) of running ``batches``, each padded to its longest."""
    lengths = np.asarray(lengths)
    computed = sum(len(b) * int(lengths[b].max()) for b in batches if len(b))
    real = sum(int(lengths[b].sum()) for b in batches)
    return computed, real


def training_batches(
    lengths: np.ndarray, batch_size: int, rng: np.random.Generator, *, bucket: int = 50
) -> list[np.ndarray]:
    """Shuffled batches whose members have similar lengths (length bucketing).

    Shuffle, cut into chunks of ``bucket`` batches, sort each chunk by length, slice it into
    batches, then shuffle the batch order: random enough for SGD, little padding.
    """
    order = rng.permutation(len(lengths))
    chunk = batch_size * bucket
    batches: list[np.ndarray] = []
    for start in range(0, len(order), chunk):
        part = order[start : start + chunk]
        part = part[np.argsort(lengths[part], kind="stable")]
        batches.extend(part[i : i + batch_size] for i in range(0, len(part), batch_size))
    rng.shuffle(batches)
    return batches
