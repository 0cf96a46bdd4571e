"""finetune: train a multi-label classifier head (and the encoder) on the training split."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emocompress.ops.base import Operation, Settings
from emocompress.ops.train.settings import FinetuneSettings

if TYPE_CHECKING:
    from emocompress.ops.context import OpContext


class EvaluateSettings(Settings):
    """evaluate takes no settings: the parent model is copied and measured as it is."""


def run_finetune(ctx: OpContext, settings: FinetuneSettings) -> dict[str, Any]:
    from emocompress.ops.train.loop import finetune

    return finetune(ctx, settings)


def run_evaluate(ctx: OpContext, settings: EvaluateSettings) -> dict[str, Any]:
    from emocompress.models.classifier import copy_model

    copy_model(ctx.parent_path, ctx.out_dir, label_names=ctx.label_names)
    return {}


def plan_finetune(parent: dict[str, Any], settings: FinetuneSettings) -> dict[str, Any]:
    return {**parent, "emocompress_pooling": settings.pooling}


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
    Operation("evaluate", "measure a model as it is", EvaluateSettings, run_evaluate),
]
