"""Losses on gold multi-label targets, for imbalanced data.

GoEmotions-like data has a few frequent labels and many rare ones, and every example is a
negative for almost every label: plain BCE spends most of its gradient on easy negatives.
Each loss here is a function ``(logits, targets, weights) -> scalar`` (the mean over every
example and label, like BCE, so learning rates and distillation's ``alpha`` keep their
meaning); ``weights`` (one per label, or None) multiply the positive term only.

- :func:`bce_loss`: binary cross-entropy (the default; exactly
  ``binary_cross_entropy_with_logits``, with ``weights`` as its ``pos_weight``).
- :func:`focal_loss`: Lin et al. 2017, ``(1 - p_t)^gamma`` down-weights easy examples.
- :func:`asl_loss`: asymmetric loss, Ridnik et al. 2021: separate focusing for positives
  and negatives, and a probability margin that drops very easy negatives entirely.

Log-probabilities come from ``logsigmoid``, never ``log(sigmoid(x))``, so large logits stay
finite. :func:`label_loss` builds the one a :class:`TrainSettings` asks for (class-balanced
weights and label smoothing included).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from emocompress.ops.train.settings import (
    ASL_CLIP,
    ASL_GAMMA_NEG,
    ASL_GAMMA_POS,
    CB_BETA,
    FOCAL_GAMMA,
    TrainSettings,
)

# (logits, gold targets) -> scalar loss, with the settings' weights and smoothing applied
LabelLoss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def bce_loss(
    logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean binary cross-entropy; ``weights`` scale each label's positive term."""
    if weights is None:
        return nn.functional.binary_cross_entropy_with_logits(logits, targets)
    return nn.functional.binary_cross_entropy_with_logits(logits, targets, pos_weight=weights)


def focal_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    gamma: float = FOCAL_GAMMA,
    alpha: float | None = None,
) -> torch.Tensor:
    """Mean focal loss: ``-[a y (1-p)^g log p + (1-a)(1-y) p^g log(1-p)]``.

    ``alpha`` None weighs positives and negatives alike (no ``a``, ``1 - a`` factors); the
    positive and negative terms are kept apart so that soft (smoothed) targets are allowed.
    At ``gamma`` 0 and no ``alpha`` this is BCE.
    """
    log_p, log_not_p = nn.functional.logsigmoid(logits), nn.functional.logsigmoid(-logits)
    positive = targets * log_p
    negative = (1 - targets) * log_not_p
    if gamma:
        positive = positive * torch.exp(gamma * log_not_p)  # (1 - p)^gamma
        negative = negative * torch.exp(gamma * log_p)  # p^gamma
    if alpha is not None:
        positive, negative = alpha * positive, (1 - alpha) * negative
    if weights is not None:
        positive = positive * weights
    return -(positive + negative).mean()


def asl_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    gamma_pos: float = ASL_GAMMA_POS,
    gamma_neg: float = ASL_GAMMA_NEG,
    clip: float = ASL_CLIP,
) -> torch.Tensor:
    """Mean asymmetric loss: ``-[y (1-p)^g+ log p + (1-y) p_m^g- log(1-p_m)]``,
    ``p_m = max(p - clip, 0)``.

    The margin ``clip`` sets the loss of a negative with ``p <= clip`` to zero (and shifts the
    rest); ``gamma_neg > gamma_pos`` focuses on hard negatives more than on positives. The
    mean, not the paper code's sum, keeps the scale of BCE. At gammas 0 and clip 0 this is BCE.
    """
    log_p, log_not_p = nn.functional.logsigmoid(logits), nn.functional.logsigmoid(-logits)
    positive = targets * log_p
    if gamma_pos:
        positive = positive * torch.exp(gamma_pos * log_not_p)  # (1 - p)^gamma_pos
    if clip:
        p_margin = (torch.sigmoid(logits) - clip).clamp(min=0)
        log_not_margin = torch.log1p(-p_margin)  # 1 - p_m >= clip > 0: finite
        # where p_m is 0 the negative term is 0 whatever its weight: the floor keeps the
        # gradient of p_m^gamma finite there (0 * inf would be NaN for gamma_neg < 1)
        log_margin = torch.log(p_margin.clamp(min=1e-12))
    else:
        log_not_margin, log_margin = log_not_p, log_p
    negative = (1 - targets) * log_not_margin
    if gamma_neg:
        negative = negative * torch.exp(gamma_neg * log_margin)  # p_m^gamma_neg
    if weights is not None:
        positive = positive * weights
    return -(positive + negative).mean()


def class_balanced_weights(positives: torch.Tensor, beta: float) -> torch.Tensor:
    """Cui et al. 2019: each label's weight is ``1 / effective number`` of its positives,
    ``(1 - beta) / (1 - beta^n)``, scaled so that the mean weight is 1.

    A label with no positive example counts as one (its positive term never fires anyway).
    ``beta`` 0 gives equal weights; closer to 1, closer to inverse frequency.
    """
    counts = positives.to(torch.float64).clamp(min=1)
    effective = (1 - torch.pow(torch.tensor(beta, dtype=torch.float64), counts)) / (1 - beta)
    weights = 1 / effective
    return (weights / weights.mean()).to(torch.float32)


def smooth_targets(targets: torch.Tensor, eps: float) -> torch.Tensor:
    """Label smoothing for independent binary labels: ``y (1 - eps) + eps / 2``."""
    return targets * (1 - eps) + eps / 2


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def label_loss(settings: TrainSettings, train_labels: torch.Tensor) -> LabelLoss:
    """The gold-label loss ``settings`` ask for; ``train_labels`` (the whole train split, one
    row per example) give the label counts of class-balanced weights.

    With nothing set (BCE, no weights, no smoothing) this is exactly
    ``binary_cross_entropy_with_logits(logits, targets)``: the same bits as before.
    """
    weights = None
    if settings.class_weights == "balanced":
        beta = _or(settings.cb_beta, CB_BETA)
        weights = class_balanced_weights(train_labels.sum(0), beta).to(train_labels.device)
    eps = settings.label_smoothing or 0.0
    kind = settings.loss or "bce"
    focal = {"gamma": _or(settings.focal_gamma, FOCAL_GAMMA), "alpha": settings.focal_alpha}
    asl = {
        "gamma_pos": _or(settings.asl_gamma_pos, ASL_GAMMA_POS),
        "gamma_neg": _or(settings.asl_gamma_neg, ASL_GAMMA_NEG),
        "clip": _or(settings.asl_clip, ASL_CLIP),
    }

    def loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if eps:
            targets = smooth_targets(targets, eps)
        w = weights.to(logits.device) if weights is not None else None
        if kind == "focal":
            return focal_loss(logits, targets, w, **focal)
        if kind == "asl":
            return asl_loss(logits, targets, w, **asl)
        return bce_loss(logits, targets, w)

    return loss
