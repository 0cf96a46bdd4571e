"""distil: a smaller student learns from its parent (the teacher)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from emocompress.ops.base import MemoryInputs, Operation
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
        if isinstance(encoder.get("layer_types"), list):  # ModernBERT: one entry per layer
            kept["layer_types"] = [encoder["layer_types"][i] for i in init.layers]
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


def distil_peak(sizes: MemoryInputs) -> int:
    """The teacher is held while the student is built from it, and through training when a
    hidden-state or attention loss needs its outputs; else it is freed before training."""
    settings = sizes.settings
    keeps_teacher = settings.hidden_weight > 0 or settings.attention_weight > 0
    if keeps_teacher:
        return sizes.parent_weights + sizes.training
    return max(sizes.parent_weights + sizes.weights, sizes.training)


def distil_parent_problems(settings: DistilSettings, parents: Sequence[str]) -> list[str]:
    """An ensemble of teachers with hidden-state or attention losses, which follow one teacher
    (the runner refuses it once the teachers are made)."""
    if len(parents) > 1 and (settings.hidden_weight > 0 or settings.attention_weight > 0):
        return [
            f"hidden-state and attention losses follow one teacher, not an ensemble of "
            f"{len(parents)} (expected hidden_weight: 0 and attention_weight: 0, or one parent)"
        ]
    return []


OPERATIONS = [
    Operation(
        "distil",
        "train a smaller student on the teacher's outputs",
        DistilSettings,
        run_distil,
        metrics_sections=("training",),
        plan=plan_distil,
        peak_memory=distil_peak,
        several_parents=True,  # an ensemble of teachers: the mean of their logits
        parent_problems=distil_parent_problems,
    )
]
