"""What every operation is: a name, a settings model, and a function from parent to variant.

An operation turns a parent variant (or a model reference) into a new variant directory.
Settings are pydantic models with ``extra="forbid"`` so that a typo in a recipe is an
error before any work starts. Module-level imports must stay light (pydantic only): torch
and friends are imported inside ``run``.
"""

from __future__ import annotations

from collections.abc import Callable
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
