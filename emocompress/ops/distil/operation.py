"""distil: a smaller student learns from its parent (the teacher)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from emocompress.ops.base import Operation, Settings
from emocompress.ops.train.settings import TrainSettings

if TYPE_CHECKING:
    from emocompress.ops.context import OpContext


class StudentInit(Settings):
    """Exactly one of: ``layers`` of the teacher, another ``model``, or a ``config``."""

    layers: list[int] | None = Field(None, description="teacher layers to keep, e.g. [0, 2, 4]")
    model: str | None = Field(None, description="model reference of a pretrained student")
    config: dict[str, Any] | None = Field(
        None, description="config overrides on the teacher's config; random initialisation"
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> StudentInit:
        given = [k for k in ("layers", "model", "config") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of layers, model, config (got {given or 'none'})")
        if self.layers is not None and (not self.layers or min(self.layers) < 0):
            raise ValueError("layers must be a non-empty list of teacher layer indices >= 0")
        return self


class LayerPair(Settings):
    student: int = Field(ge=0)
    teacher: int = Field(ge=0)


class DistilSettings(TrainSettings):
    init: StudentInit
    temperature: float = Field(2.0, gt=0, description="softens teacher and student logits")
    alpha: float = Field(
        0.5, ge=0, le=1, description="weight of the hard-label BCE; 1 - alpha goes to soft targets"
    )
    hidden_weight: float = Field(0.0, ge=0, description="weight of hidden-state MSE")
    attention_weight: float = Field(0.0, ge=0, description="weight of attention-map KL")
    layer_pairs: list[LayerPair] | None = Field(
        None, description="student/teacher layer pairs for hidden and attention losses"
    )
    pooling: str | None = Field(None, description="student pooling; default: the teacher's")


def run_distil(ctx: OpContext, settings: DistilSettings) -> dict[str, Any]:
    from emocompress.ops.distil.distillation import distil

    return distil(ctx, settings)


def plan_distil(parent: dict[str, Any], settings: DistilSettings) -> dict[str, Any]:
    init = settings.init
    if init.layers is not None:
        key = next(
            (k for k in ("num_hidden_layers", "n_layers") if k in parent), "num_hidden_layers"
        )
        child = {**parent, key: len(init.layers)}
    elif init.config is not None:
        child = {**parent, **init.config}
    else:
        from emocompress.run.dryrun import config_of_reference

        child = {
            **config_of_reference(init.model),
            "emocompress_pooling": parent.get("emocompress_pooling", "cls"),
        }
    if settings.pooling:
        child["emocompress_pooling"] = settings.pooling
    return child


OPERATIONS = [
    Operation(
        "distil",
        "train a smaller student on the teacher's outputs",
        DistilSettings,
        run_distil,
        metrics_sections=("training",),
        plan=plan_distil,
    )
]
