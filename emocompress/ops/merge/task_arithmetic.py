"""Task arithmetic: base + sum(lambda_i * (x_i - base)); each model's weight is its lambda."""

from __future__ import annotations

from typing import TYPE_CHECKING

from emocompress.ops.merge.base import MergeMethod, MethodParams, TensorInputs

if TYPE_CHECKING:
    import torch


def task_arithmetic(inputs: TensorInputs, params: MethodParams | None = None) -> torch.Tensor:
    assert inputs.base is not None
    merged = inputs.base.clone()
    for tensor, weight in zip(inputs.tensors, inputs.weights, strict=True):
        merged.add_(tensor - inputs.base, alpha=weight)
    return merged


METHOD = MergeMethod(
    "task_arithmetic",
    "base + sum of weight * (model - base) (weights are the lambdas, not normalised)",
    MethodParams,
    task_arithmetic,
    needs_base=True,
)
