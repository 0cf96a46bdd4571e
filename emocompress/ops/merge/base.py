"""The one interface every merge method implements: a name, a parameters model, and a
function that merges one tensor at a time.

A method never sees whole models (greedy soup aside, which chooses its ingredients first
and then merges like the uniform soup), so every method streams in bounded memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    import torch


class MethodParams(BaseModel):
    """Parameters of a method as a whole (per-model weights live on the inputs)."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class TensorInputs:
    """One tensor name's values, float32, from every model being merged (base excluded)."""

    tensors: list[torch.Tensor]
    weights: list[float]
    densities: list[float]
    base: torch.Tensor | None = None


@dataclass(frozen=True)
class MergeMethod:
    name: str
    help: str
    params: type[MethodParams]
    # merge(inputs, params) -> the merged float32 tensor of the same shape
    merge: Callable[[TensorInputs, Any], torch.Tensor]
    needs_base: bool = False
    models: int | None = None  # exact number of models the method takes (None: two or more)
    # whether per-model densities mean anything to the method
    uses_density: bool = False
    # select(inputs, tuning) -> (indices of the models to merge, facts): for methods that
    # choose their ingredients by measuring them on the tune split (greedy soup)
    select: Callable[[list[Any], Any], tuple[list[int], dict[str, Any]]] | None = None
