"""The gold-label losses (emocompress.ops.train.losses): each against its formula written out
directly on small tensors, each reducing to BCE at gamma 0 / clip 0, finite at extreme
logits, and the defaults giving the same bits as plain BCE did."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from emocompress.ops.train.losses import (
    asl_loss,
    bce_loss,
    class_balanced_weights,
    focal_loss,
    label_loss,
    smooth_targets,
)
from emocompress.ops.train.settings import TrainSettings

B, C = 5, 4


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(B, C, generator=generator, dtype=torch.float64) * 3
    targets = (torch.rand(B, C, generator=generator) < 0.4).to(torch.float64)
    weights = torch.tensor([0.5, 1.0, 2.0, 0.5], dtype=torch.float64)
    return logits, targets, weights


def _elementwise_mean(fn, logits, targets):
    """The mean over every element of ``fn(x, y)``, one Python float at a time."""
    values = [
        fn(float(logits[i, j]), float(targets[i, j]), j)
        for i in range(logits.shape[0])
        for j in range(logits.shape[1])
    ]
    return sum(values) / len(values)


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_bce_is_torch_bce_with_weights_on_positives(batch):
    logits, targets, weights = batch

    def direct(x, y, j):
        p = _sigmoid(x)
        return -(float(weights[j]) * y * math.log(p) + (1 - y) * math.log(1 - p))

    assert float(bce_loss(logits, targets, weights)) == pytest.approx(
        _elementwise_mean(direct, logits, targets), rel=1e-12
    )


@pytest.mark.parametrize(("gamma", "alpha"), [(2.0, None), (1.5, 0.25), (0.5, 0.75)])
def test_focal_matches_its_formula(batch, gamma, alpha):
    logits, targets, weights = batch
    smoothed = smooth_targets(targets, 0.1)  # soft targets: both terms of every element

    def direct(x, y, j):
        p = _sigmoid(x)
        a_pos, a_neg = (alpha, 1 - alpha) if alpha is not None else (1.0, 1.0)
        positive = float(weights[j]) * a_pos * y * (1 - p) ** gamma * math.log(p)
        negative = a_neg * (1 - y) * p**gamma * math.log(1 - p)
        return -(positive + negative)

    got = focal_loss(logits, smoothed, weights, gamma=gamma, alpha=alpha)
    assert float(got) == pytest.approx(_elementwise_mean(direct, logits, smoothed), rel=1e-12)


@pytest.mark.parametrize(
    ("gamma_pos", "gamma_neg", "clip"), [(0.0, 4.0, 0.05), (1.0, 2.0, 0.2), (0.5, 0.5, 0.0)]
)
def test_asl_matches_its_formula(batch, gamma_pos, gamma_neg, clip):
    logits, targets, weights = batch
    smoothed = smooth_targets(targets, 0.1)

    def direct(x, y, j):
        p = _sigmoid(x)
        p_m = max(p - clip, 0.0)
        positive = float(weights[j]) * y * (1 - p) ** gamma_pos * math.log(p)
        negative = (1 - y) * p_m**gamma_neg * math.log(1 - p_m)
        return -(positive + negative)

    got = asl_loss(logits, smoothed, weights, gamma_pos=gamma_pos, gamma_neg=gamma_neg, clip=clip)
    assert float(got) == pytest.approx(_elementwise_mean(direct, logits, smoothed), rel=1e-9)


def test_asl_margin_zeroes_easy_negatives():
    logits = torch.tensor([[-5.0, -4.0]], dtype=torch.float64)  # p = 0.007, 0.018
    targets = torch.zeros_like(logits)
    assert float(asl_loss(logits, targets, clip=0.05)) == 0.0
    assert float(asl_loss(logits, targets, clip=0.01)) > 0.0  # the second one is past 0.01


@pytest.mark.parametrize("weighted", [False, True])
def test_focal_and_asl_reduce_to_bce(batch, weighted):
    logits, targets, weights = batch
    w = weights if weighted else None
    soft = smooth_targets(targets, 0.2)
    bce = bce_loss(logits, soft, w)
    assert torch.allclose(focal_loss(logits, soft, w, gamma=0.0), bce, rtol=1e-12)
    assert torch.allclose(
        asl_loss(logits, soft, w, gamma_pos=0.0, gamma_neg=0.0, clip=0.0), bce, rtol=1e-12
    )


@pytest.mark.parametrize(
    "loss",
    [
        lambda x, y: bce_loss(x, y),
        lambda x, y: focal_loss(x, y, gamma=2.0, alpha=0.25),
        lambda x, y: focal_loss(x, y, gamma=0.5),
        lambda x, y: asl_loss(x, y),
        lambda x, y: asl_loss(x, y, gamma_pos=0.5, gamma_neg=0.5, clip=0.05),
        lambda x, y: asl_loss(x, y, gamma_pos=0.5, gamma_neg=0.5, clip=0.0),
    ],
)
def test_losses_and_gradients_stay_finite_at_extreme_logits(loss):
    # float32 as in training: log(sigmoid(-100)) would be log(0) = -inf
    logits = torch.tensor([[-1e4, -100.0, -20.0, 0.0, 20.0, 100.0, 1e4]], requires_grad=True)
    for targets in (torch.zeros_like(logits), torch.ones_like(logits)):
        value = loss(logits, targets)
        (grad,) = torch.autograd.grad(value, logits)
        assert torch.isfinite(value) and torch.isfinite(grad).all()
        assert float(value.detach()) > 0  # a wrong answer at 1e4 costs something


def test_class_balanced_weights():
    counts = torch.tensor([1000.0, 100.0, 10.0, 0.0])
    beta = 0.99
    weights = class_balanced_weights(counts, beta)
    raw = [(1 - beta) / (1 - beta ** max(n, 1)) for n in counts.tolist()]
    expected = [r / (sum(raw) / len(raw)) for r in raw]
    assert weights.tolist() == pytest.approx(expected, rel=1e-6)
    assert float(weights.mean()) == pytest.approx(1.0, rel=1e-6)
    assert weights[0] < weights[1] < weights[2]  # rarer labels weigh more
    assert class_balanced_weights(counts, 0.0).tolist() == [1.0] * 4  # beta 0: no weighting


def test_label_smoothing_formula():
    targets = torch.tensor([[0.0, 1.0]])
    assert smooth_targets(targets, 0.1)[0].tolist() == pytest.approx([0.05, 0.95])


def test_defaults_give_the_bits_of_plain_bce(batch):
    logits, targets, _ = batch
    logits, targets = logits.float(), targets.float()
    loss = label_loss(TrainSettings(), targets)
    assert torch.equal(
        loss(logits, targets), nn.functional.binary_cross_entropy_with_logits(logits, targets)
    )


def test_label_loss_applies_weights_and_smoothing(batch):
    logits, targets, _ = batch
    train_labels = torch.tensor(
        [[1, 0, 0, 1]] * 30 + [[1, 1, 0, 0]] * 5 + [[0, 0, 1, 0]], dtype=torch.float64
    )
    settings = TrainSettings(
        loss="focal", focal_gamma=1.0, class_weights="balanced", cb_beta=0.9, label_smoothing=0.2
    )
    weights = class_balanced_weights(train_labels.sum(0), 0.9).to(torch.float64)
    expected = focal_loss(logits, smooth_targets(targets, 0.2), weights, gamma=1.0)
    got = label_loss(settings, train_labels)(logits, targets)
    assert torch.allclose(got, expected, rtol=1e-6)
    asl = TrainSettings(loss="asl", asl_gamma_neg=2.0, asl_clip=0.1)
    assert torch.equal(
        label_loss(asl, train_labels)(logits, targets),
        asl_loss(logits, targets, gamma_pos=0.0, gamma_neg=2.0, clip=0.1),
    )
