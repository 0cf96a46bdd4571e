"""Quality metrics and threshold strategies: the ``quality`` section of metrics.json.

Definitions live in docs/metrics.md; this module implements them with numpy only.

Conventions used throughout:

- ``probs`` is an (n, L) matrix of probabilities, ``labels`` an (n, L) 0/1 matrix,
  ``label_names`` the L column names in order.
- Probabilities are compared as float32, the precision predictions files store, so a
  section recomputed from saved predictions equals the one computed in memory.
- An example is predicted positive for a label when ``prob >= threshold``.
- Any ratio with a zero denominator is 0 (scikit-learn's ``zero_division=0``).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emocompress.artifacts.predictions import load_predictions, validate_arrays
from emocompress.errors import UserError
from emocompress.registry import Registry

# Candidate thresholds for the tuned strategies: 0.01, 0.02, ..., 0.99. A fixed grid keeps
# thresholds readable and is coarse enough not to chase single tune examples.
THRESHOLD_GRID: np.ndarray = np.arange(1, 100) / 100
FIXED_THRESHOLD = 0.5
TOP_K_CHOICES: tuple[int, ...] = (1, 2, 3)
SELECTED_BECAUSE = "highest macro F1 on the tune split"
# a per-label threshold tuned on fewer positives than this is flagged as unreliable
MIN_TUNE_POSITIVES = 10
# per_label_shrunk: a label with n tune positives keeps n / (n + SHRINK_PRIOR) of its own
# threshold and takes the rest from the global one (50 positives: halfway)
SHRINK_PRIOR = 50
# per_label_cv: folds of the tune split, and the seed of the (fixed) assignment of rows to them
CV_FOLDS = 5
CV_SEED = 0

Params = dict[str, Any]


# --------------------------------------------------------------------------- AUC


def auc_scores(probs: np.ndarray, labels: np.ndarray, label_names: Sequence[str]) -> dict:
    """ROC AUC per label, macro (mean over labels where it is defined) and micro (flattened).

    A label without a positive or without a negative example has no AUC: it is ``None``,
    named in ``labels_without_positives`` / ``labels_without_negatives`` and left out of
    the macro average.
    """
    probs, labels = _as_arrays(probs, labels, label_names)
    per_label = {name: _binary_auc(probs[:, j], labels[:, j]) for j, name in enumerate(label_names)}
    defined = [value for value in per_label.values() if value is not None]
    positives = labels.sum(axis=0)
    return {
        "micro": _binary_auc(probs.ravel(), labels.ravel()),
        "macro": float(np.mean(defined)) if defined else None,
        "per_label": per_label,
        "labels_without_positives": [
            name for name, count in zip(label_names, positives, strict=True) if count == 0
        ],
        "labels_without_negatives": [
            name for name, count in zip(label_names, positives, strict=True) if count == len(labels)
        ],
    }


def _binary_auc(scores: np.ndarray, truth: np.ndarray) -> float | None:
    # Mann-Whitney U with tied scores given their average rank: equal to the area under
    # the ROC curve with ties interpolated (what scikit-learn computes).
    n_pos = int(truth.sum())
    n_neg = truth.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = _average_ranks(scores)
    u = ranks[truth == 1].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks; tied values share the mean of the ranks they span."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    starts_group = np.r_[True, ordered[1:] != ordered[:-1]]
    group = np.cumsum(starts_group) - 1
    starts = np.flatnonzero(starts_group)
    ends = np.r_[starts[1:], values.size]
    ranks = np.empty(values.size, dtype=np.float64)
    ranks[order] = ((starts + 1 + ends) / 2)[group]
    return ranks


# ------------------------------------------------------------- precision / recall / F1


def confusion_counts(pred: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per-label true positives, false positives and false negatives, each of shape (L,)."""
    pred = np.asarray(pred).astype(bool)
    gold = np.asarray(labels).astype(bool)
    tp = np.sum(pred & gold, axis=0)
    fp = np.sum(pred & ~gold, axis=0)
    fn = np.sum(~pred & gold, axis=0)
    return tp, fp, fn


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """Elementwise numerator / denominator, 0 where the denominator is 0."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    out = np.zeros(np.broadcast(numerator, denominator).shape)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    # 2TP / (2TP + FP + FN): the harmonic mean of precision and recall, 0 when undefined
    return _ratio(2 * tp, 2 * tp + fp + fn)


def _macro_f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """Mean of per-label F1 over the last axis (labels); works on (G, L) count grids too."""
    return _f1(tp, fp, fn).mean(axis=-1)


def prf(pred: np.ndarray, labels: np.ndarray, label_names: Sequence[str]) -> dict:
    """Precision, recall and F1: micro (pooled counts), macro (mean over labels), per label.

    Zero division gives 0, and macro averages every label, including one without
    positives in the split (as scikit-learn does with ``zero_division=0``).
    """
    _check_columns(np.asarray(pred), label_names)
    tp, fp, fn = confusion_counts(pred, labels)
    precision, recall, f1 = _ratio(tp, tp + fp), _ratio(tp, tp + fn), _f1(tp, fp, fn)
    micro_tp, micro_fp, micro_fn = tp.sum(), fp.sum(), fn.sum()
    return {
        "micro": {
            "f1": float(_f1(micro_tp, micro_fp, micro_fn)),
            "precision": float(_ratio(micro_tp, micro_tp + micro_fp)),
            "recall": float(_ratio(micro_tp, micro_tp + micro_fn)),
        },
        "macro": {
            "f1": float(f1.mean()),
            "precision": float(precision.mean()),
            "recall": float(recall.mean()),
        },
        "per_label": {
            name: {
                "f1": float(f1[j]),
                "precision": float(precision[j]),
                "recall": float(recall[j]),
                "support": int(tp[j] + fn[j]),
                "tp": int(tp[j]),
                "fp": int(fp[j]),
                "fn": int(fn[j]),
            }
            for j, name in enumerate(label_names)
        },
    }


# ---------------------------------------------------------------- threshold strategies


def counts_over_grid(
    probs: np.ndarray, labels: np.ndarray, grid: np.ndarray = THRESHOLD_GRID
) -> tuple[np.ndarray, ...]:
    """TP, FP, FN of ``prob >= t`` for every threshold t in ``grid``: each of shape (G, L).

    Sorting each label's probabilities once makes every threshold a binary search, instead
    of G passes over the (n, L) matrix.
    """
    probs = _as_float32(probs)
    labels = np.asarray(labels).astype(bool)
    grid = np.asarray(grid, dtype=np.float32)
    n = probs.shape[0]
    shape = (grid.size, probs.shape[1])
    predicted, tp = np.empty(shape, dtype=np.int64), np.empty(shape, dtype=np.int64)
    for j in range(probs.shape[1]):
        column = probs[:, j]
        predicted[:, j] = n - np.searchsorted(np.sort(column), grid, side="left")
        positives = np.sort(column[labels[:, j]])
        tp[:, j] = positives.size - np.searchsorted(positives, grid, side="left")
    fp = predicted - tp
    fn = labels.sum(axis=0) - tp
    return tp, fp, fn


def fit_fixed(probs: np.ndarray, labels: np.ndarray, label_names: Sequence[str]) -> Params:
    """0.5 for every label; nothing is tuned."""
    return {"threshold": FIXED_THRESHOLD}


def fit_global(probs: np.ndarray, labels: np.ndarray, label_names: Sequence[str]) -> Params:
    """The one grid threshold with the highest macro F1 (lowest threshold on a tie)."""
    macro = _macro_f1(*counts_over_grid(probs, labels))
    return {"threshold": float(THRESHOLD_GRID[int(np.argmax(macro))])}


def fit_per_label(probs: np.ndarray, labels: np.ndarray, label_names: Sequence[str]) -> Params:
    """Each label's grid threshold with its highest F1 (lowest on a tie).

    A label whose best tune F1 is 0 (no positive in the split, or none ever ranked high
    enough) has nothing to tune on and takes the global threshold.
    """
    f1 = _f1(*counts_over_grid(probs, labels))
    best = THRESHOLD_GRID[np.argmax(f1, axis=0)]
    fallback = fit_global(probs, labels, label_names)["threshold"]
    chosen = np.where(f1.max(axis=0) > 0, best, fallback)
    return {"thresholds": {name: float(t) for name, t in zip(label_names, chosen, strict=True)}}


def fit_per_label_shrunk(
    probs: np.ndarray, labels: np.ndarray, label_names: Sequence[str], prior: int = SHRINK_PRIOR
) -> Params:
    """Each label's ``per_label`` threshold pulled toward the ``global`` one by its support.

    t = w * t_label + (1 - w) * t_global with w = n_pos / (n_pos + SHRINK_PRIOR), n_pos the
    label's tune positives, rounded to the nearest grid threshold: a label with 5 positives
    keeps a tenth of its own (noisy) choice, one with 500 almost all of it. ``prior`` is
    SHRINK_PRIOR in metrics.json; other values are for benchmarks (bench/thresholds.md).
    """
    own = np.asarray(list(fit_per_label(probs, labels, label_names)["thresholds"].values()))
    overall = fit_global(probs, labels, label_names)["threshold"]
    positives = np.asarray(labels).astype(bool).sum(axis=0)
    weight = positives / (positives + prior)
    chosen = _nearest_on_grid(weight * own + (1 - weight) * overall)
    return {
        "thresholds": {name: float(t) for name, t in zip(label_names, chosen, strict=True)},
        "shrink_prior": prior,
    }


def fit_per_label_cv(probs: np.ndarray, labels: np.ndarray, label_names: Sequence[str]) -> Params:
    """Each label's threshold as the mean of ``per_label`` fitted on CV_FOLDS training folds.

    The tune rows are split into CV_FOLDS folds (a fixed seeded permutation, so the same
    file gives the same thresholds); each fit leaves one fold out, and a label's threshold is
    the mean of its fold thresholds, rounded to the grid. Averaging fits on resampled data
    (bagging) damps the choices a handful of positives drive; the mean is used rather than
    the best pooled out-of-fold F1 because every grid threshold scores the same pooled
    counts whichever fold it was chosen on, so the pooled figure cannot tell fits apart.
    """
    probs, labels = _as_float32(probs), np.asarray(labels).astype(np.uint8)
    n = probs.shape[0]
    folds = min(CV_FOLDS, n)
    if folds < 2:
        return {**fit_per_label(probs, labels, label_names), "folds": folds}
    fold_of = np.random.default_rng(CV_SEED).permutation(n) % folds
    fits = [
        list(
            fit_per_label(probs[fold_of != f], labels[fold_of != f], label_names)[
                "thresholds"
            ].values()
        )
        for f in range(folds)
    ]
    chosen = _nearest_on_grid(np.mean(fits, axis=0))
    return {
        "thresholds": {name: float(t) for name, t in zip(label_names, chosen, strict=True)},
        "folds": folds,
    }


def _nearest_on_grid(values: np.ndarray) -> np.ndarray:
    """Each value as the nearest THRESHOLD_GRID threshold (the lower one on a tie)."""
    index = np.abs(np.asarray(values)[None, :] - THRESHOLD_GRID[:, None]).argmin(axis=0)
    return THRESHOLD_GRID[index]


def fit_top_k(probs: np.ndarray, labels: np.ndarray, label_names: Sequence[str]) -> Params:
    """The k in TOP_K_CHOICES with the highest macro F1 (smallest k on a tie)."""
    scores = [_macro_f1(*confusion_counts(_top_k(probs, k), labels)) for k in TOP_K_CHOICES]
    return {"k": TOP_K_CHOICES[int(np.argmax(scores))]}


@dataclass(frozen=True)
class ThresholdStrategy:
    """One way to turn probabilities into labels, its parameters chosen on the tune split.

    ``fit`` maps tune probabilities and labels to JSON parameters; :func:`apply_thresholds`
    turns parameters into predictions, so a metrics.json entry is enough to reproduce them.
    """

    name: str
    fit: Callable[[np.ndarray, np.ndarray, Sequence[str]], Params]
    # tie-break for the selected strategy on equal tune macro F1: fewest tuned parameters
    # first; among the per-label ones the most constrained first (per_label, free, last)
    rank: int


STRATEGIES: Registry[ThresholdStrategy] = Registry(
    "threshold strategy",
    [
        ThresholdStrategy("fixed", fit_fixed, rank=0),
        ThresholdStrategy("global", fit_global, rank=1),
        ThresholdStrategy("per_label", fit_per_label, rank=5),
        ThresholdStrategy("top_k", fit_top_k, rank=2),
        ThresholdStrategy("per_label_shrunk", fit_per_label_shrunk, rank=3),
        ThresholdStrategy("per_label_cv", fit_per_label_cv, rank=4),
    ],
    name=lambda strategy: strategy.name,
)
# the strategies in tie-break order (the order the TUI lists them in)
STRATEGY_ORDER: tuple[str, ...] = tuple(
    strategy.name for strategy in sorted(STRATEGIES.values(), key=lambda s: s.rank)
)


def _top_k(probs: np.ndarray, k: int) -> np.ndarray:
    """Exactly k labels per example: the k highest probabilities (lower column on a tie)."""
    probs = _as_float32(probs)
    k = min(k, probs.shape[1])
    order = np.argsort(-probs, axis=1, kind="stable")
    pred = np.zeros(probs.shape, dtype=np.uint8)
    np.put_along_axis(pred, order[:, :k], 1, axis=1)
    return pred


def label_thresholds(params: Mapping[str, Any], label_names: Sequence[str]) -> list[float | None]:
    """The threshold each label is predicted with under ``params``; None for top_k."""
    if "thresholds" in params:
        thresholds = params["thresholds"]
        missing = [name for name in label_names if name not in thresholds]
        if missing:
            raise UserError(
                f"per-label thresholds miss {', '.join(missing[:5])}",
                expected="one threshold per label",
            )
        return [float(thresholds[name]) for name in label_names]
    if "threshold" in params:
        return [float(params["threshold"])] * len(label_names)
    if "k" in params:
        return [None] * len(label_names)
    raise UserError(
        f"unknown strategy parameters {sorted(params)}",
        expected="'threshold', 'thresholds' or 'k'",
    )


def apply_thresholds(
    probs: np.ndarray,
    strategy_entry: Mapping[str, Any],
    label_names: Sequence[str] | None = None,
) -> np.ndarray:
    """0/1 (n, L) predictions from a metrics.json strategy entry (or its ``params``).

    ``label_names`` maps per-label thresholds to columns; without it their order in the
    entry is used (metrics.json keeps label order).
    """
    params = strategy_entry.get("params", strategy_entry)
    probs = _as_float32(probs)
    if "k" in params:
        return _top_k(probs, int(params["k"]))
    if label_names is None:
        label_names = list(params.get("thresholds", {})) or [str(j) for j in range(probs.shape[1])]
    _check_columns(probs, label_names)
    thresholds = np.asarray(label_thresholds(params, label_names), dtype=np.float32)
    return (probs >= thresholds).astype(np.uint8)


def threshold_support(
    tune_probs: np.ndarray,
    tune_labels: np.ndarray,
    label_names: Sequence[str],
    *,
    tune_split: str = "tune",
    min_positives: int = MIN_TUNE_POSITIVES,
) -> dict:
    """How many tune positives each label's threshold rests on, and what to warn about.

    The ``threshold_support`` section of metrics.json: ``positives`` per label, the labels
    ``per_label`` could not tune (best tune F1 0: they take the global threshold) and one
    line per problem: labels under ``min_positives`` (their tuned threshold is unreliable;
    ``global`` and ``top_k`` tune one parameter over all labels and are not affected).
    """
    label_names = [str(name) for name in label_names]
    tune_probs, tune_labels = _as_arrays(tune_probs, tune_labels, label_names, tune_split)
    positives = tune_labels.sum(axis=0).astype(int)
    best_f1 = _f1(*counts_over_grid(tune_probs, tune_labels)).max(axis=0)
    fallback = [name for name, f1 in zip(label_names, best_f1, strict=True) if f1 <= 0]
    few = [
        (name, int(count))
        for name, count in zip(label_names, positives, strict=True)
        if count < min_positives
    ]
    few.sort(key=lambda item: (item[1], item[0]))
    warnings = []
    if few:
        listed = ", ".join(f"{name} ({count})" for name, count in few)
        warnings.append(
            f"per_label: {len(few)} of {len(label_names)} thresholds rest on fewer than "
            f"{min_positives} positives of the {tune_split} split, unreliable: {listed}"
        )
    if fallback:
        warnings.append(
            f"per_label: {', '.join(fallback)} could not be tuned (best {tune_split} F1 is 0) "
            "and fall back to the global threshold"
        )
    return {
        "tune_split": tune_split,
        "min_positives": int(min_positives),
        "positives": {name: int(c) for name, c in zip(label_names, positives, strict=True)},
        "fallback": fallback,
        "warnings": warnings,
    }


# ---------------------------------------------------------------- the quality section


def compute_quality(
    tune_probs: np.ndarray,
    tune_labels: np.ndarray,
    report_probs: np.ndarray,
    report_labels: np.ndarray,
    label_names: Sequence[str],
    *,
    tune_split: str = "tune",
    report_split: str = "dev",
    strategies: Sequence[str] | None = None,
) -> dict:
    """The ``quality`` section of metrics.json.

    Every strategy's parameters are chosen on the tune split only; every figure is
    measured on the report split, except ``tune_macro_f1`` which selects the strategy.
    ``strategies``: the ones measured and selected among (a recipe's
    ``evaluation.strategies``); default every registered one.
    """
    label_names = [str(name) for name in label_names]
    tune_probs, tune_labels = _as_arrays(tune_probs, tune_labels, label_names, tune_split)
    report_probs, report_labels = _as_arrays(report_probs, report_labels, label_names, report_split)
    # every name is looked up before any fitting, so an unknown one fails first
    chosen = (
        {name: STRATEGIES.lookup(name) for name in strategies}
        if strategies
        else dict(STRATEGIES.items())
    )
    entries, tune_f1 = {}, {}
    for name, strategy in chosen.items():
        params = strategy.fit(tune_probs, tune_labels, label_names)
        tune_f1[name] = _macro_f1_of(params, tune_probs, tune_labels, label_names)
        entries[name] = {
            **_strategy_entry(params, report_probs, report_labels, label_names),
            "tune_macro_f1": tune_f1[name],
        }
    selected = max((n for n in STRATEGY_ORDER if n in tune_f1), key=tune_f1.__getitem__)
    return {
        "tune_split": tune_split,
        "report_split": report_split,
        "n_tune": int(tune_probs.shape[0]),
        "n_report": int(report_probs.shape[0]),
        "auc": auc_scores(report_probs, report_labels, label_names),
        "strategies": entries,
        # max() keeps the first of equal values, so STRATEGY_ORDER breaks ties
        "selected_strategy": selected,
        "selected_because": SELECTED_BECAUSE,
    }


def _strategy_entry(
    params: Params, probs: np.ndarray, labels: np.ndarray, label_names: Sequence[str]
) -> dict:
    """A strategy's parameters and its scores on one split, with each label's threshold."""
    scores = prf(apply_thresholds(probs, params, label_names), labels, label_names)
    thresholds = label_thresholds(params, label_names)
    for name, threshold in zip(label_names, thresholds, strict=True):
        scores["per_label"][name]["threshold"] = threshold
    return {"params": params, **scores}


def _macro_f1_of(
    params: Params, probs: np.ndarray, labels: np.ndarray, label_names: Sequence[str]
) -> float:
    predicted = apply_thresholds(probs, params, label_names)
    return float(_macro_f1(*confusion_counts(predicted, labels)))


def quality_from_files(
    tune_npz: str | os.PathLike[str],
    report_npz: str | os.PathLike[str],
    *,
    tune_split: str | None = None,
    report_split: str | None = None,
    strategies: Sequence[str] | None = None,
) -> dict:
    """Recompute the quality section from two predictions files.

    Split names default to the file stems (``predictions/<split>.npz``).
    """
    tune, report = load_predictions(tune_npz), load_predictions(report_npz)
    if tune.label_names != report.label_names:
        raise UserError(
            f"label names differ between {tune_npz} and {report_npz}",
            expected="the same labels in the same order",
        )
    return compute_quality(
        tune.probs,
        tune.labels,
        report.probs,
        report.labels,
        tune.label_names,
        tune_split=tune_split or Path(tune_npz).stem,
        report_split=report_split or Path(report_npz).stem,
        strategies=strategies,
    )


def quality_differences(recorded: Any, recomputed: Any, *, tol: float = 1e-9) -> list[str]:
    """Where a recorded quality section disagrees with a recomputed one ("path: a != b").

    Numbers may differ by ``tol``; an empty list means the recorded figures check out.
    """
    return list(_differences(recorded, recomputed, tol, "quality"))


def _differences(a: Any, b: Any, tol: float, path: str):
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in dict.fromkeys([*a, *b]):
            if key not in a or key not in b:
                yield f"{path}.{key}: only in {'recorded' if key in a else 'recomputed'}"
            else:
                yield from _differences(a[key], b[key], tol, f"{path}.{key}")
    elif isinstance(a, list | tuple) and isinstance(b, list | tuple) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            yield from _differences(x, y, tol, f"{path}[{i}]")
    elif _is_number(a) and _is_number(b):
        if not math.isclose(a, b, rel_tol=0, abs_tol=tol):
            yield f"{path}: {a} != {b}"
    elif a != b:
        yield f"{path}: {a!r} != {b!r}"


# ------------------------------------------------------------------------- helpers


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_float32(probs: np.ndarray) -> np.ndarray:
    return np.asarray(probs, dtype=np.float32)


def _as_arrays(
    probs: np.ndarray,
    labels: np.ndarray,
    label_names: Sequence[str],
    where: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    validate_arrays(probs, labels, label_names, where=where)
    return _as_float32(probs), np.asarray(labels).astype(np.uint8)


def _check_columns(matrix: np.ndarray, label_names: Sequence[str]) -> None:
    if matrix.ndim != 2 or matrix.shape[1] != len(label_names):
        raise UserError(
            f"matrix of shape {matrix.shape} for {len(label_names)} labels",
            expected="(examples, labels)",
        )
