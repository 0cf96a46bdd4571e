"""Settings shared by the operations that train (finetune, distil, recovery after pruning)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from emocompress.ops.base import Settings


class TrainSettings(Settings):
    # upper bounds: far past any sensible value, so a typo (1e12 epochs) is refused, not run
    epochs: float = Field(
        3, gt=0, le=1000, description="passes over the training split (fractions allowed)"
    )
    batch_size: int = Field(32, ge=1, le=65536)
    grad_accum: int = Field(1, ge=1, le=65536, description="gradient accumulation steps")
    lr: float = Field(5e-5, gt=0, le=10, description="peak learning rate (AdamW)")
    head_lr: float | None = Field(
        None, gt=0, le=10, description="learning rate of the new classifier head"
    )
    weight_decay: float = Field(0.01, ge=0)
    warmup: float = Field(0.1, ge=0, lt=1, description="share of steps with linear warm-up")
    max_grad_norm: float = Field(1.0, gt=0, le=1e6)
    patience: int | None = Field(
        None, ge=1, description="stop after this many epochs without tune macro-AUC gain"
    )
    eval_every: float = Field(
        1.0, gt=0, le=1000, description="evaluate on the tune split every N epochs"
    )
    max_steps: int | None = Field(None, ge=1, le=10**9, description="hard cap on optimiser steps")
    seed: int | None = Field(
        None,
        ge=0,
        le=2**32 - 1,
        description="this variant's seed (data order, dropout, new weights); default: the recipe's",
    )


class FinetuneSettings(TrainSettings):
    pooling: Literal["cls", "mean"] = Field(
        "cls", description="classification head input: [CLS] (model's own head) or mean of tokens"
    )
    dropout: float = Field(0.1, ge=0, lt=1)
