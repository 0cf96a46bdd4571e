"""distil: a smaller student learns from its parent (the teacher)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emocompress.ops.base import Operation
from emocompress.ops.distil.settings import DistilSettings

if TYPE_CHECKING:
    from emocompress.ops.context import OpContext


def run_distil(ctx: OpContext, settings: DistilSettings) -> dict[str, Any]:
    from emocompress.ops.distil.distillation import distil

    return distil(ctx, settings)


def plan_distil(parent: dict[str, Any], settings: DistilSettings) -> dict[str, Any]:
    init = settings.init
    if init.layers is not None:
        backbone = parent.get("backbone")
        # emocompress's pooled models keep the encoder's config (and layer count) in backbone
        encoder = backbone if isinstance(backbone, dict) else parent
        key = next(
            (k for k in ("num_hidden_layers", "n_layers") if k in encoder), "num_hidden_layers"
        )
        kept = {**encoder, key: len(init.layers)}
        child = {**parent, "backbone": kept} if encoder is backbone else kept
    elif init.config is not None:
        child = {**parent, **init.config}
    else:
        from emocompress.models.reference import config_of_reference

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
