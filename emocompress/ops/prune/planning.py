"""Config arithmetic of a prune (no weights): what --dry-run shows for a prune step.

Applies the same rounding as the pruning itself for uniform scope. Head pruning that keeps
the hidden size cannot be written in a standard config; the planned config then says the
kept head count and ``emocompress_shape_note`` says that attention is smaller than the
config implies (the real variant carries a shape plan).
"""

from __future__ import annotations

from typing import Any

POOLED = "emocompress-pooled"  # emocompress.models.pooled.MODEL_TYPE, without importing torch


def _kept(units: int, share: float) -> int:
    return units - int(round(units * share)) if share > 0 else units


def planned_config(parent: dict[str, Any], settings: Any) -> dict[str, Any]:
    config = dict(parent)
    pooled = config.get("model_type") == POOLED
    encoder = dict(config["backbone"]) if pooled else config
    layers = int(encoder.get("num_hidden_layers", 0))
    heads = int(encoder.get("num_attention_heads", 1))
    hidden = int(encoder.get("hidden_size", 0))
    head_size = hidden // heads if heads else 0
    if settings.drop_layers:
        encoder["num_hidden_layers"] = layers - len(set(settings.drop_layers))
    if settings.ffn and "intermediate_size" in encoder:
        encoder["intermediate_size"] = _kept(int(encoder["intermediate_size"]), settings.ffn)
    kept_heads = _kept(heads, settings.heads)
    if settings.hidden:
        kept_hidden = _kept(hidden, settings.hidden)
        kept_hidden = max(kept_heads, kept_hidden // kept_heads * kept_heads)
        encoder["hidden_size"] = kept_hidden
    if settings.heads:
        new_hidden = int(encoder["hidden_size"])
        if new_hidden % kept_heads == 0:
            encoder["num_attention_heads"] = kept_heads
        if kept_heads * head_size != new_hidden:
            encoder["emocompress_shape_note"] = (
                f"{kept_heads} heads of size {head_size} per layer: attention is "
                f"{kept_heads * head_size} wide, smaller than this config implies"
            )
    if pooled:
        config["backbone"] = encoder
    return config
