"""Whole-layer dropping: the kept layers are renumbered, config.json says how many remain."""

from __future__ import annotations

from collections.abc import Sequence

from transformers import PreTrainedModel

from emocompress.errors import UserError


def drop_layers(model: PreTrainedModel, drop: Sequence[int]) -> tuple[PreTrainedModel, list[int]]:
    """A copy of ``model`` without the layers ``drop``; returns it and the kept indices."""
    from emocompress.models.classifier import count_layers, with_layers

    total = count_layers(model)
    bad = sorted(i for i in drop if not 0 <= i < total)
    if bad:
        raise UserError(f"cannot drop layers {bad}: the model has layers 0..{total - 1}")
    keep = [i for i in range(total) if i not in set(drop)]
    if not keep:
        raise UserError(f"dropping layers {sorted(set(drop))} would leave no layer")
    return with_layers(model, keep), keep
