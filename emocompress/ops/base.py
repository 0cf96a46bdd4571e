"""What every operation is: a name, a settings model, and a function from parent to variant.

An operation turns a parent variant (or a model reference) into a new variant directory.
Settings are pydantic models with ``extra="forbid"`` so that a typo in a recipe is an
error before any work starts. Module-level imports must stay light (pydantic only): torch
and friends are imported inside ``run``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from emocompress.ops.context import OpContext


class Settings(BaseModel):
    """Base class for operation settings: unknown keys are errors."""

    # inf and NaN are never a setting (lr: inf would train to NaN weights)
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


@dataclass(frozen=True)
class MemoryInputs:
    """What a step's peak memory depends on, from the dry run's plan (bytes, fp32)."""

    parent_weights: int  # the (first) parent's weights; the model reference's for the teacher
    weights: int  # the variant's own weights
    training: int  # AdamW training of the variant: 4x weights + activations kept for backward
    inference: int  # weights + the largest layer's activations
    settings: Any


def inference_peak(sizes: MemoryInputs) -> int:
    """Load the parent and hold the result: the default for an operation that does not train."""
    return max(sizes.inference, sizes.parent_weights)


@dataclass(frozen=True)
class Operation:
    name: str
    help: str
    settings: type[Settings]
    # run(ctx, settings) writes the new variant into ctx.out_dir and returns lineage facts
    run: Callable[[OpContext, Any], dict[str, Any] | None]
    produces: Literal["pytorch", "onnx"] = "pytorch"
    # whether the runner evaluates the result on the data
    evaluate: bool = True
    # plan(parent_config, settings) -> the child's config.json dict, for --dry-run (no weights);
    # None: the child has the parent's architecture
    plan: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None
    # the facts run() returns that also belong in metrics.json (sections of the same name)
    metrics_sections: tuple[str, ...] = ()
    # implied_gates(settings) -> gate bounds the variant must meet unless the recipe sets them
    implied_gates: Callable[[Any], dict[str, float]] | None = None
    # the parent formats it can start from (checked by --dry-run and before it runs)
    accepts: tuple[Literal["pytorch", "onnx"], ...] = ("pytorch",)
    # peak_memory(sizes) -> bytes the step needs above the process's baseline, for the dry
    # run's estimate (each model fitted to measured peaks: bench/scale-roberta-large.md)
    peak_memory: Callable[[MemoryInputs], int] = inference_peak
    # whether it takes several parents (a merge, an ensemble distil); the others take one,
    # and a recipe that gives them a list of several is refused when it is loaded
    several_parents: bool = False
    # parent_problems(settings, parent names) -> what run() would refuse about its parents
    # (one line each), checked when the recipe is loaded instead of after the parents are made
    parent_problems: Callable[[Any, Sequence[str]], list[str]] | None = None
