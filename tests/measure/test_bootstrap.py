"""Paired bootstrap intervals: real arrays, figures checked against metrics.py's definitions."""

from __future__ import annotations

import numpy as np
import pytest

from emocompress.artifacts.schema import BootstrapSpec
from emocompress.measure.bootstrap import (
    delta,
    delta_figures,
    quality_intervals,
    resample_counts,
    resample_figures,
    resolved,
    variant_resamples,
)
from emocompress.measure.metrics import auc_scores, prf

NAMES = ["joy", "anger", "grief"]


def _scores(rng: np.random.Generator, labels: np.ndarray, signal: float) -> np.ndarray:
    """Probabilities that rank positives higher by ``signal`` (rounded: ties happen)."""
    noise = rng.random(labels.shape)
    return np.round(np.clip(signal * labels + (1 - signal) * noise, 0, 1), 2).astype(np.float32)


def _labels(rng: np.random.Generator, n: int, rates=(0.3, 0.1, 0.04)) -> np.ndarray:
    return (rng.random((n, len(rates))) < np.asarray(rates)).astype(np.uint8)


def test_counts_are_seeded_and_row_zero_is_the_whole_split():
    a, b = resample_counts(50, 30, seed=7), resample_counts(50, 30, seed=7)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, resample_counts(50, 30, seed=8))
    assert (a[0] == 1).all() and (a.sum(axis=1) == 50).all()
    assert resolved(None, 13).seed == 13 and resolved(BootstrapSpec(seed=2), 13).seed == 2


def test_every_resample_equals_the_figures_of_the_drawn_examples():
    rng = np.random.default_rng(0)
    labels = _labels(rng, 240)
    probs = _scores(rng, labels, 0.4)
    pred = probs >= 0.5
    counts = resample_counts(len(labels), 40, seed=3)
    figures = resample_figures(probs, labels, pred, NAMES, counts)
    for row in (0, 1, 17, 40):  # row 0: the whole split
        drawn = np.repeat(np.arange(len(labels)), counts[row])
        auc = auc_scores(probs[drawn], labels[drawn], NAMES)
        scores = prf(pred[drawn], labels[drawn], NAMES)
        assert figures.auc_macro[row] == pytest.approx(auc["macro"], abs=1e-12)
        assert figures.auc_micro[row] == pytest.approx(auc["micro"], abs=1e-12)
        for j, name in enumerate(NAMES):
            assert figures.auc[row, j] == pytest.approx(auc["per_label"][name], abs=1e-12)
            assert figures.f1[row, j] == pytest.approx(scores["per_label"][name]["f1"], abs=1e-12)
        assert figures.macro["f1"][row] == pytest.approx(scores["macro"]["f1"], abs=1e-12)
        assert figures.micro["recall"][row] == pytest.approx(scores["micro"]["recall"], abs=1e-12)


def test_a_label_missing_from_a_resample_is_left_out_not_zero():
    labels = np.zeros((40, 2), dtype=np.uint8)
    labels[:20, 0] = 1
    labels[3, 1] = 1  # one positive: most resamples still draw it, some do not
    probs = np.linspace(0, 1, 80, dtype=np.float32).reshape(40, 2)
    figures = resample_figures(
        probs, labels, probs >= 0.5, ["a", "b"], resample_counts(40, 200, seed=1)
    )
    missing = np.isnan(figures.auc[1:, 1])
    assert missing.any() and not missing.all()
    # the macro AUC of those resamples is label a's alone
    rows = np.flatnonzero(missing) + 1
    assert np.allclose(figures.auc_macro[rows], figures.auc[rows, 0])


def test_two_identical_variants_differ_by_an_interval_containing_zero():
    rng = np.random.default_rng(1)
    labels = _labels(rng, 300)
    probs = _scores(rng, labels, 0.3)
    spec = resolved(BootstrapSpec(resamples=200), 5)
    one = variant_resamples(probs, labels, probs >= 0.4, NAMES, spec)
    two = variant_resamples(probs.copy(), labels, probs >= 0.4, NAMES, spec)
    deltas = delta_figures(two, one, spec.confidence)
    for figure in deltas.model_dump().values():
        assert figure["low"] <= 0 <= figure["high"]
        assert figure["significant"] is False


def test_a_clearly_worse_variant_is_a_significant_drop():
    rng = np.random.default_rng(2)
    labels = _labels(rng, 400)
    spec = resolved(BootstrapSpec(resamples=200), 5)
    good = _scores(rng, labels, 0.6)
    bad = _scores(rng, labels, 0.1)
    mine = variant_resamples(bad, labels, bad >= 0.5, NAMES, spec)
    theirs = variant_resamples(good, labels, good >= 0.5, NAMES, spec)
    drop = delta(mine.auc_macro, theirs.auc_macro, spec.confidence)
    assert drop.significant and drop.high < 0 and drop.low <= drop.point <= drop.high


def test_the_paired_interval_covers_the_true_difference_at_about_the_stated_rate():
    """Samples of 300 from a population whose macro-AUC difference is known: the 90%
    paired interval of each sample covers it in about 90% of 60 samples."""
    rng = np.random.default_rng(3)
    population = _labels(rng, 20_000, rates=(0.3, 0.15))
    strong = _scores(rng, population, 0.35)
    weak = _scores(rng, population, 0.25)
    names = NAMES[:2]
    truth = (
        auc_scores(weak, population, names)["macro"]
        - auc_scores(strong, population, names)["macro"]
    )
    assert truth < -0.02  # a real difference, not zero
    covered = 0
    trials = 60
    for seed in range(trials):
        pick = np.random.default_rng(100 + seed).choice(len(population), 300, replace=False)
        spec = BootstrapSpec(resamples=300, seed=seed, confidence=0.9)
        labels = population[pick]
        mine = variant_resamples(weak[pick], labels, weak[pick] >= 0.5, names, spec)
        theirs = variant_resamples(strong[pick], labels, strong[pick] >= 0.5, names, spec)
        found = delta(mine.auc_macro, theirs.auc_macro, spec.confidence)
        covered += found.low <= truth <= found.high
    # binomial(60, 0.9): 47 or more in about 99% of runs of this test with other seeds
    assert 47 <= covered <= trials, f"covered {covered} of {trials}"


def test_quality_intervals_hold_the_points_of_metrics_json():
    rng = np.random.default_rng(4)
    labels = _labels(rng, 200)
    probs = _scores(rng, labels, 0.4)
    pred = probs >= 0.5
    spec = resolved(BootstrapSpec(resamples=100), 13)
    section = quality_intervals(
        variant_resamples(probs, labels, pred, NAMES, spec),
        spec,
        report_split="dev",
        strategy="fixed",
    )
    auc, scores = auc_scores(probs, labels, NAMES), prf(pred, labels, NAMES)
    # the points are metrics.json's figures exactly, not up to float rounding
    assert section.auc_macro.point == auc["macro"] and section.auc_micro.point == auc["micro"]
    assert section.per_label["joy"].auc.point == auc["per_label"]["joy"]
    assert section.macro.f1.point == scores["macro"]["f1"]
    assert section.micro.precision.point == scores["micro"]["precision"]
    assert section.auc_macro.low < section.auc_macro.point < section.auc_macro.high
    assert section.per_label["grief"].support == int(labels[:, 2].sum())
    assert (section.n_report, section.resamples, section.seed) == (200, 100, 13)
