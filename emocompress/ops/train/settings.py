"""Settings shared by the operations that train (finetune, distil, recovery after pruning)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from emocompress.ops.base import Settings

# what an unset option means (the papers' defaults)
FOCAL_GAMMA = 2.0
ASL_GAMMA_POS, ASL_GAMMA_NEG, ASL_CLIP = 0.0, 4.0, 0.05
CB_BETA = 0.999


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
        None,
        ge=1,
        description="stop after this many tune evaluations (eval_every) without macro-AUC gain",
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
    # losses for imbalanced multi-label data (emocompress.ops.train.losses). Unset (None)
    # means off, or the value in the description: step hashes leave None out, so runs made
    # before these settings existed resume without retraining, and unset trains as plain BCE
    loss: Literal["bce", "focal", "asl"] | None = Field(
        None, description="gold-label loss: bce (unset), focal (Lin et al.) or asl (Ridnik et al.)"
    )
    focal_gamma: float | None = Field(
        None, ge=0, le=100, description=f"focal: focusing exponent (unset: {FOCAL_GAMMA}; 0 = BCE)"
    )
    focal_alpha: float | None = Field(
        None, gt=0, lt=1, description="focal: weight of positives (1 - alpha: negatives); unset: 1"
    )
    asl_gamma_pos: float | None = Field(
        None, ge=0, le=100, description=f"asl: focusing of positives (unset: {ASL_GAMMA_POS})"
    )
    asl_gamma_neg: float | None = Field(
        None, ge=0, le=100, description=f"asl: focusing of negatives (unset: {ASL_GAMMA_NEG})"
    )
    asl_clip: float | None = Field(
        None,
        ge=0,
        lt=1,
        description=f"asl: probability margin under which negatives cost 0 (unset: {ASL_CLIP})",
    )
    class_weights: Literal["none", "balanced"] | None = Field(
        None, description="weights of each label's positive term: none (unset), or balanced (Cui)"
    )
    cb_beta: float | None = Field(
        None, ge=0, lt=1, description=f"balanced: effective-number beta (unset: {CB_BETA})"
    )
    label_smoothing: float | None = Field(
        None, ge=0, lt=1, description="gold targets become y * (1 - eps) + eps / 2 (unset: 0)"
    )
    layer_decay: float | None = Field(
        None,
        gt=0,
        le=1,
        description="layer-wise lr decay: head and top layer lr, each layer below x decay",
    )


class FinetuneSettings(TrainSettings):
    model: str | None = Field(
        None,
        description="start from this model reference instead of the parent (in a variant: "
        "e.g. the pretrained encoder again, for a second teacher seed)",
    )
    pooling: Literal["cls", "mean"] = Field(
        "cls", description="classification head input: [CLS] (model's own head) or mean of tokens"
    )
    dropout: float = Field(0.1, ge=0, lt=1)
