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
    from emocompress.models.families import family_of_type

    config = dict(parent)
    pooled = config.get("model_type") == POOLED
    encoder = dict(config["backbone"]) if pooled else config
    family = family_of_type(encoder.get("model_type"))
    # the family's own config keys (DistilBERT: n_layers, n_heads, dim, hidden_dim)
    layers_key = family.layers_key if family else "num_hidden_layers"
    heads_key = family.heads_key if family else "num_attention_heads"
    hidden_key = family.hidden_key if family else "hidden_size"
    ffn_key = family.ffn_key if family else "intermediate_size"
    layers = int(encoder.get(layers_key, 0))
    heads = int(encoder.get(heads_key, 1))
    hidden = int(encoder.get(hidden_key, 0))
    head_size = hidden // heads if heads else 0
    if settings.drop_layers:
        encoder[layers_key] = layers - len(set(settings.drop_layers))
        if isinstance(encoder.get("layer_types"), list):  # ModernBERT: one entry per layer
            kept = [i for i in range(layers) if i not in set(settings.drop_layers)]
            encoder["layer_types"] = [encoder["layer_types"][i] for i in kept]
    if settings.ffn and ffn_key in encoder:
        encoder[ffn_key] = _kept(int(encoder[ffn_key]), settings.ffn)
    kept_heads = _kept(heads, settings.heads)
    if settings.hidden:
        kept_hidden = _kept(hidden, settings.hidden)
        kept_hidden = max(kept_heads, kept_hidden // kept_heads * kept_heads)
        encoder[hidden_key] = kept_hidden
        if family and family.embedding_key and encoder.get(family.embedding_key) == hidden:
            encoder[family.embedding_key] = kept_hidden
    if settings.heads:
        new_hidden = int(encoder[hidden_key])
        if new_hidden % kept_heads == 0:
            encoder[heads_key] = kept_heads
        if kept_heads * head_size != new_hidden:
            encoder["emocompress_shape_note"] = (
                f"{kept_heads} heads of size {head_size} per layer: attention is "
                f"{kept_heads * head_size} wide, smaller than this config implies"
            )
    if pooled:
        config["backbone"] = encoder
    return config
