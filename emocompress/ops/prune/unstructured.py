"""Unstructured magnitude sparsity: the smallest weights of the encoder's Linear layers set
to zero.

Reported honestly: the tensors stay dense, so parameters, bytes on disk and speed do not
change unless a sparse format or a sparse runtime is used; ``emocompress inspect
--sparsity`` shows the zeros. During recovery the zeros are held by torch's pruning masks
(``weight_orig * weight_mask``); :func:`make_permanent` folds them into the weights.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils import prune as torch_prune
from transformers import PreTrainedModel

from emocompress.ops.prune.blocks import layers_of


def encoder_linears(model: PreTrainedModel) -> list[tuple[str, nn.Linear]]:
    """The Linear layers of the encoder's transformer layers (not embeddings, not the head)."""
    layers = layers_of(model)
    return [(n, m) for n, m in layers.named_modules() if isinstance(m, nn.Linear)]


def apply_sparsity(model: PreTrainedModel, sparsity: float, scope: str) -> None:
    """Mask the ``sparsity`` share of smallest-magnitude weights (per tensor or globally)."""
    linears = encoder_linears(model)
    if scope == "global":
        torch_prune.global_unstructured(
            [(m, "weight") for _, m in linears],
            pruning_method=torch_prune.L1Unstructured,
            amount=sparsity,
        )
    else:
        for _, module in linears:
            torch_prune.l1_unstructured(module, "weight", amount=sparsity)


def make_permanent(model: PreTrainedModel) -> dict[str, float | int]:
    """Fold the masks into the weights; return the zeros they left."""
    zeros = total = 0
    for _, module in encoder_linears(model):
        if torch_prune.is_pruned(module):
            torch_prune.remove(module, "weight")
        zeros += int((module.weight == 0).sum())
        total += module.weight.numel()
    all_params = sum(p.numel() for p in model.parameters())
    all_zeros = sum(int((p == 0).sum()) for p in model.parameters())
    return {
        "zeros_in_pruned_weights": zeros,
        "pruned_weights": total,
        "sparsity_of_pruned_weights": round(zeros / max(total, 1), 6),
        "sparsity_of_all_parameters": round(all_zeros / max(all_params, 1), 6),
        "note": "dense tensors: bytes and speed are unchanged without a sparse format or runtime",
    }


@torch.no_grad()
def is_masked(model: PreTrainedModel) -> bool:
    return any(torch_prune.is_pruned(m) for _, m in encoder_linears(model))
