"""What a distil step may say: how the student starts and what it learns from the teacher."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from emocompress.ops.base import Settings
from emocompress.ops.train.settings import TrainSettings


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
        0.5,
        ge=0,
        le=1,
        description="weight of the hard-label loss (loss:); 1 - alpha goes to soft targets (BCE)",
    )
    hidden_weight: float = Field(0.0, ge=0, description="weight of hidden-state MSE")
    attention_weight: float = Field(0.0, ge=0, description="weight of attention-map KL")
    layer_pairs: list[LayerPair] | None = Field(
        None, description="student/teacher layer pairs for hidden and attention losses"
    )
    pooling: str | None = Field(None, description="student pooling; default: the teacher's")
