"""The short training run after pruning, through the shared loop (emocompress.ops.train.loop):
fine-tune on the labels (the settings' loss, BCE by default), or distil from the parent (its
cached logits on the train split as soft targets)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from emocompress.artifacts.schema import TrainingSummary
from emocompress.ops.context import OpContext


def recover(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    ctx: OpContext,
    settings: Any,
) -> TrainingSummary | None:
    """Train ``model`` in place as ``settings`` (RecoverySettings) say; None for mode none."""
    from emocompress.ops.train.loop import (
        effective_seed,
        history_summary,
        label_loss_fn,
        seed_everything,
        train,
        write_history,
    )

    if settings.mode == "none":
        return None
    seed_everything(effective_seed(ctx, settings))
    labels = torch.from_numpy(ctx.dataset.split("train").labels.astype(np.float32)).to(ctx.device)
    if settings.mode == "distil":
        loss_fn = _distil_loss(ctx, settings, labels)
    else:
        loss_fn = label_loss_fn(labels, settings)
    model.to(ctx.device)
    history = train(model, tokenizer, ctx, settings, loss_fn)
    write_history(ctx, history, settings)
    return history_summary(history, mode=settings.mode)


def _distil_loss(ctx: OpContext, settings: Any, labels: torch.Tensor):
    from emocompress.models.classifier import load_classifier, load_tokenizer
    from emocompress.ops.distil.distillation import DistilLoss, teacher_logits

    teacher = load_classifier(ctx.parent_path, device=ctx.device)
    soft = torch.from_numpy(teacher_logits(teacher, load_tokenizer(ctx.parent_path), ctx))
    del teacher  # the cached logits are all recovery needs
    return DistilLoss(settings, labels, soft.to(ctx.device), None, [], None)
