"""Paired bootstrap intervals of the quality figures, vectorised over resamples.

A resample draws the report split's n examples with replacement; it is kept as a row of
*counts* (how often each example was drawn), so every figure of every resample is a
weighted sum and all resamples are computed at once:

- F1 / precision / recall: true and false positives per label are ``counts @ matrix``;
- ROC AUC: each label's scores are sorted once; the Mann-Whitney sum of a resample is the
  positives' weight times the negatives' weight below them (ties counting one half), a
  cumulative sum along the sorted scores (no sort per resample).

Row 0 of every array is the whole split (all counts 1): the point estimate, equal to the
figure of metrics.json (its AUCs are taken from metrics.py itself, so not even float
rounding differs). Differences are
*paired*: two variants are resampled with the same counts (the same seed and n give the
same counts), so an interval of ``a - b`` reflects how the two differ on the same examples,
not how much each one alone varies. Percentile intervals; docs/metrics.md ("Intervals").
numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from emocompress.artifacts.schema import (
    BootstrapSpec,
    Delta,
    DeltaFigures,
    Interval,
    LabelIntervals,
    Quality,
    QualityIntervals,
    ScoreIntervals,
)
from emocompress.measure.metrics import apply_thresholds, auc_scores

# elements of one (resamples x scores) block: bounds the memory of the AUC sums
_BLOCK = 4_000_000


def resolved(spec: BootstrapSpec | None, seed: int) -> BootstrapSpec:
    """``spec`` with its seed filled in (null: the run's ``seed``)."""
    spec = spec or BootstrapSpec()
    return spec if spec.seed is not None else spec.model_copy(update={"seed": seed})


def resample_counts(n: int, resamples: int, seed: int) -> np.ndarray:
    """(resamples + 1, n) int32 draw counts; row 0 is the whole split (all ones).

    Equal ``(n, resamples, seed)`` give equal counts: that is what pairs two variants.
    """
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, n, size=(resamples, n))
    offsets = (np.arange(resamples) * n)[:, None]
    counts = np.bincount((drawn + offsets).ravel(), minlength=resamples * n)
    return np.vstack([np.ones((1, n), dtype=np.int32), counts.reshape(resamples, n)]).astype(
        np.int32
    )


def weighted_auc(
    scores: np.ndarray,
    truth: np.ndarray,
    weights: np.ndarray,
    owner: np.ndarray | None = None,
) -> np.ndarray:
    """ROC AUC of one score vector under each row of ``weights`` (R, n): shape (R,).

    ``owner[k]`` is the column of ``weights`` that score k takes its weight from (the
    example of a flattened (example, label) score, for micro AUC); default: score k is
    example k. NaN where a row gives no weight to the positives or to the negatives. With
    unit weights this is the Mann-Whitney AUC with ties counted one half (metrics.py).
    """
    scores = np.asarray(scores)
    truth = np.asarray(truth).astype(bool)
    order = np.argsort(scores, kind="stable")
    columns = order if owner is None else np.asarray(owner)[order]
    ordered, positive = scores[order], truth[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    group = np.cumsum(np.r_[True, ordered[1:] != ordered[:-1]]) - 1
    ends = np.r_[starts[1:], ordered.size] - 1
    where_pos = np.flatnonzero(positive)
    # for each positive: the sorted positions just before and at the end of its tie group
    first_of = starts[group[where_pos]]
    last_of = ends[group[where_pos]]
    before_idx = np.maximum(first_of - 1, 0)
    has_before = first_of > 0
    negative_columns = np.where(positive, -1, columns)
    out = np.empty(weights.shape[0])
    rows = max(1, _BLOCK // max(1, scores.size))
    for first in range(0, weights.shape[0], rows):
        block = weights[first : first + rows]
        # negatives' weight along the sorted scores (positives weigh 0 here)
        padded = np.concatenate([block, np.zeros((block.shape[0], 1), block.dtype)], axis=1)
        below_or_at = np.cumsum(padded[:, negative_columns], axis=1, dtype=np.int32)
        total_neg = below_or_at[:, -1].astype(np.float64)
        before = np.where(has_before, below_or_at[:, before_idx], 0)
        credit = before + 0.5 * (below_or_at[:, last_of] - before)
        pos_weight = block[:, columns[where_pos]]
        u = (pos_weight * credit).sum(axis=1)
        denominator = pos_weight.sum(axis=1) * total_neg
        with np.errstate(invalid="ignore", divide="ignore"):
            out[first : first + rows] = np.where(denominator > 0, u / denominator, np.nan)
    return out


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.zeros(np.broadcast(numerator, denominator).shape)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


@dataclass(frozen=True)
class Resampled:
    """Every quality figure of one variant, row 0 the whole split, rows 1.. the resamples."""

    label_names: tuple[str, ...]
    n: int  # examples of the split
    support: np.ndarray  # (L,) positives in the report split
    auc_micro: np.ndarray  # (R,)
    auc_macro: np.ndarray  # (R,)
    auc: np.ndarray  # (R, L)
    f1: np.ndarray  # (R, L)
    precision: np.ndarray  # (R, L)
    recall: np.ndarray  # (R, L)
    micro: dict[str, np.ndarray]  # f1, precision, recall: (R,)
    macro: dict[str, np.ndarray]


def resample_figures(
    probs: np.ndarray,
    labels: np.ndarray,
    predicted: np.ndarray,
    label_names: Sequence[str],
    counts: np.ndarray,
) -> Resampled:
    """AUC (micro, macro, per label) and F1/P/R (micro, macro, per label) under ``counts``.

    ``predicted`` is the 0/1 matrix of the variant's selected threshold strategy.
    """
    probs = np.asarray(probs, dtype=np.float32)
    gold = np.asarray(labels).astype(bool)
    pred = np.asarray(predicted).astype(bool)
    n, n_labels = probs.shape
    auc = np.column_stack([weighted_auc(probs[:, j], gold[:, j], counts) for j in range(n_labels)])
    defined = ~np.isnan(auc[0])
    with np.errstate(invalid="ignore"), _quiet_nanmean():
        macro_auc = (
            np.nanmean(auc[:, defined], axis=1) if defined.any() else np.full(len(counts), np.nan)
        )
    example_of = np.repeat(np.arange(n), n_labels)  # row-major ravel: example, then label
    micro_auc = weighted_auc(probs.ravel(), gold.ravel(), counts, owner=example_of)
    weights = counts.astype(np.float64)
    tp = weights @ (pred & gold)
    fp = weights @ (pred & ~gold)
    fn = weights @ (~pred & gold)
    precision, recall, f1 = (
        _ratio(tp, tp + fp),
        _ratio(tp, tp + fn),
        _ratio(2 * tp, 2 * tp + fp + fn),
    )
    stp, sfp, sfn = tp.sum(axis=1), fp.sum(axis=1), fn.sum(axis=1)
    # row 0: metrics.py's own AUCs (the weighted sums agree to float rounding; this way
    # the point of every interval is exactly the figure of metrics.json)
    exact = auc_scores(probs, gold.astype(np.uint8), label_names)
    auc[0] = [np.nan if exact["per_label"][name] is None else exact["per_label"][name]
              for name in label_names]  # fmt: skip
    macro_auc[0] = np.nan if exact["macro"] is None else exact["macro"]
    micro_auc[0] = np.nan if exact["micro"] is None else exact["micro"]
    return Resampled(
        label_names=tuple(str(name) for name in label_names),
        n=n,
        support=gold.sum(axis=0),
        auc_micro=micro_auc,
        auc_macro=macro_auc,
        auc=auc,
        f1=f1,
        precision=precision,
        recall=recall,
        micro={
            "f1": _ratio(2 * stp, 2 * stp + sfp + sfn),
            "precision": _ratio(stp, stp + sfp),
            "recall": _ratio(stp, stp + sfn),
        },
        macro={
            "f1": f1.mean(axis=1),
            "precision": precision.mean(axis=1),
            "recall": recall.mean(axis=1),
        },
    )


class _quiet_nanmean:
    """np.nanmean of an all-NaN row warns; such a row is simply undefined here."""

    def __enter__(self) -> None:
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc: object) -> None:
        self._catch.__exit__(*exc)


def _number(value: float) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _bounds(values: np.ndarray, confidence: float) -> tuple[float | None, float | None]:
    """Percentile bounds of the resamples (row 0 excluded), NaN resamples left out.

    Undefined (None) when fewer than half the resamples define the figure.
    """
    resampled = values[1:]
    finite = resampled[np.isfinite(resampled)]
    if finite.size == 0 or finite.size < resampled.size / 2:
        return None, None
    tail = (1 - confidence) / 2
    low, high = np.quantile(finite, [tail, 1 - tail])
    return float(low), float(high)


def interval(values: np.ndarray, confidence: float) -> Interval:
    """The point (row 0) and percentile interval of one figure's resampled values."""
    low, high = _bounds(values, confidence)
    return Interval(point=_number(values[0]), low=low, high=high)


def delta(mine: np.ndarray, theirs: np.ndarray, confidence: float) -> Delta:
    """``mine - theirs`` resample by resample (paired), with its interval."""
    difference = np.asarray(mine, dtype=np.float64) - np.asarray(theirs, dtype=np.float64)
    low, high = _bounds(difference, confidence)
    significant = low is not None and high is not None and (low > 0 or high < 0)
    return Delta(point=_number(difference[0]), low=low, high=high, significant=significant)


def quality_intervals(
    figures: Resampled, spec: BootstrapSpec, *, report_split: str, strategy: str
) -> QualityIntervals:
    """The ``intervals`` section of metrics.json from one variant's resampled figures."""
    c = spec.confidence

    def scores(source: dict[str, np.ndarray]) -> ScoreIntervals:
        return ScoreIntervals(
            **{name: interval(source[name], c) for name in ("f1", "precision", "recall")}
        )

    assert spec.seed is not None, "resolve the seed first (bootstrap.resolved)"
    return QualityIntervals(
        resamples=spec.resamples,
        seed=spec.seed,
        confidence=c,
        report_split=report_split,
        n_report=figures.n,
        strategy=strategy,
        auc_micro=interval(figures.auc_micro, c),
        auc_macro=interval(figures.auc_macro, c),
        micro=scores(figures.micro),
        macro=scores(figures.macro),
        per_label={
            name: LabelIntervals(
                f1=interval(figures.f1[:, j], c),
                precision=interval(figures.precision[:, j], c),
                recall=interval(figures.recall[:, j], c),
                auc=interval(figures.auc[:, j], c),
                support=int(figures.support[j]),
            )
            for j, name in enumerate(figures.label_names)
        },
    )


def delta_figures(mine: Resampled, theirs: Resampled, confidence: float) -> DeltaFigures:
    """Paired differences of the headline figures, ``mine - theirs``."""
    return DeltaFigures(
        macro_auc=delta(mine.auc_macro, theirs.auc_macro, confidence),
        micro_auc=delta(mine.auc_micro, theirs.auc_micro, confidence),
        macro_f1=delta(mine.macro["f1"], theirs.macro["f1"], confidence),
        micro_f1=delta(mine.micro["f1"], theirs.micro["f1"], confidence),
        macro_precision=delta(mine.macro["precision"], theirs.macro["precision"], confidence),
        macro_recall=delta(mine.macro["recall"], theirs.macro["recall"], confidence),
    )


def variant_resamples(
    probs: np.ndarray,
    labels: np.ndarray,
    predicted: np.ndarray,
    label_names: Sequence[str],
    spec: BootstrapSpec,
) -> Resampled:
    """:func:`resample_figures` with the counts ``spec`` (seed resolved) draws for this split."""
    assert spec.seed is not None, "resolve the seed first (bootstrap.resolved)"
    counts = resample_counts(len(probs), spec.resamples, spec.seed)
    return resample_figures(probs, labels, predicted, label_names, counts)


def selected_resamples(
    quality: Quality,
    probs: np.ndarray,
    labels: np.ndarray,
    label_names: Sequence[str],
    spec: BootstrapSpec,
) -> Resampled:
    """The resampled figures of a variant under its selected threshold strategy."""
    predicted = apply_thresholds(probs, quality.selected.params, label_names)
    return variant_resamples(probs, labels, predicted, label_names, spec)


def intervals_of_quality(
    quality: Quality,
    probs: np.ndarray,
    labels: np.ndarray,
    label_names: Sequence[str],
    spec: BootstrapSpec,
) -> QualityIntervals:
    """The ``intervals`` section for a variant's quality section and report predictions."""
    figures = selected_resamples(quality, probs, labels, label_names, spec)
    return quality_intervals(
        figures, spec, report_split=quality.report_split, strategy=quality.selected_strategy
    )
