"""Uniform soup: the (weighted) average of the models, sum(w_i * x_i) / sum(w_i)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from emocompress.ops.merge.base import MergeMethod, MethodParams, TensorInputs

if TYPE_CHECKING:
    import torch


def weighted_average(inputs: TensorInputs, params: MethodParams | None = None) -> torch.Tensor:
    total = sum(inputs.weights)
    merged = inputs.tensors[0] * (inputs.weights[0] / total)
    for tensor, weight in zip(inputs.tensors[1:], inputs.weights[1:], strict=True):
        merged.add_(tensor, alpha=weight / total)
    return merged


METHOD = MergeMethod(
    "uniform",
    "uniform soup: the average of the models (weighted by their weights)",
    MethodParams,
    weighted_average,
)
