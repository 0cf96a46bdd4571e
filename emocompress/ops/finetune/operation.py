"""finetune: train a multi-label classifier head (and the encoder) on the training split."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field

from emocompress.ops.base import Operation, Settings
from emocompress.ops.train.settings import FinetuneSettings

if TYPE_CHECKING:
    from emocompress.ops.context import OpContext


class EvaluateSettings(Settings):
    """evaluate copies a model and measures it as it is: the parent, or ``model``."""

    model: str | None = Field(
        None,
        description="a model reference to measure instead of the parent (a teacher trained "
        "elsewhere, e.g. another seed); the parent then only orders the step",
    )


def run_finetune(ctx: OpContext, settings: FinetuneSettings) -> dict[str, Any]:
    from emocompress.ops.train.loop import finetune

    return finetune(ctx, settings, start=_source(ctx, settings.model))


def _source(ctx: OpContext, model: str | None) -> Path:
    """The model an operation starts from: ``settings.model`` when set, else the parent."""
    from emocompress.models.reference import resolve_model_path

    return resolve_model_path(model) if model else ctx.parent_path


def run_evaluate(ctx: OpContext, settings: EvaluateSettings) -> dict[str, Any]:
    from emocompress.models.classifier import copy_model

    copy_model(_source(ctx, settings.model), ctx.out_dir, label_names=ctx.label_names)
    return {"model": settings.model} if settings.model else {}


def _planned_source(parent: dict[str, Any], model: str | None) -> dict[str, Any]:
    if model is None:
        return parent
    from emocompress.models.reference import config_of_reference

    return config_of_reference(model)


def plan_evaluate(parent: dict[str, Any], settings: EvaluateSettings) -> dict[str, Any]:
    return _planned_source(parent, settings.model)


def plan_finetune(parent: dict[str, Any], settings: FinetuneSettings) -> dict[str, Any]:
    return {**_planned_source(parent, settings.model), "emocompress_pooling": settings.pooling}


OPERATIONS = [
    Operation(
        "finetune",
        "fine-tune a model on the training split (BCE)",
        FinetuneSettings,
        run_finetune,
        metrics_sections=("training",),
        plan=plan_finetune,
        peak_memory=lambda sizes: sizes.training,
    ),
    Operation(
        "evaluate",
        "measure a model as it is (the parent, or settings.model)",
        EvaluateSettings,
        run_evaluate,
        plan=plan_evaluate,
    ),
]
