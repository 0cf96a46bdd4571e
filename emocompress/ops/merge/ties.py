"""TIES merging (Yadav et al., 2023): trim, elect sign, disjoint mean.

For each model the task vector ``tau_i = x_i - base`` keeps only its ``density`` share of
entries with the largest magnitude (the rest become 0). Each entry's sign is elected as the
sign of ``sum(w_i * tau_i)``; the merged task vector is, per entry, the weighted mean of the
trimmed ``w_i * tau_i`` whose sign agrees with the elected one, divided by the sum of those
models' weights (0 where none agrees). The result is ``base + merged``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from emocompress.ops.merge.base import MergeMethod, MethodParams, TensorInputs

if TYPE_CHECKING:
    import torch


def trim(tau: torch.Tensor, density: float) -> torch.Tensor:
    """Keep the ``round(density * numel)`` entries of largest magnitude, zero the rest."""
    import torch

    keep = int(round(density * tau.numel()))
    if keep >= tau.numel():
        return tau
    flat = tau.reshape(-1)
    trimmed = torch.zeros_like(flat)
    if keep > 0:
        index = torch.topk(flat.abs(), keep, sorted=False).indices
        trimmed[index] = flat[index]
    return trimmed.reshape(tau.shape)


def ties(inputs: TensorInputs, params: MethodParams | None = None) -> torch.Tensor:
    import torch

    assert inputs.base is not None
    weighted = [
        trim(tensor - inputs.base, density) * weight
        for tensor, weight, density in zip(
            inputs.tensors, inputs.weights, inputs.densities, strict=True
        )
    ]
    elected = torch.sign(torch.stack(weighted).sum(dim=0))
    total = torch.zeros_like(inputs.base)
    weight_sum = torch.zeros_like(inputs.base)
    for tau, weight in zip(weighted, inputs.weights, strict=True):
        agrees = (torch.sign(tau) == elected) & (tau != 0)
        total += torch.where(agrees, tau, 0.0)
        weight_sum += agrees * weight
    merged = torch.where(weight_sum > 0, total / weight_sum.clamp_min(1e-30), 0.0)
    return inputs.base + merged


METHOD = MergeMethod(
    "ties",
    "TIES: trim each task vector to its density, elect signs, average the agreeing entries",
    MethodParams,
    ties,
    needs_base=True,
    uses_density=True,
)
