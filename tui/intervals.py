"""Intervals in the app: the run's comparison.json, one interval-aware cell, what was forgot.

No Textual here (view models only, like tui/data.py). A run's comparison.json is read when
the catalogue loads (it is written at the end of ``emocompress run``, by ``emocompress
compare RUN`` and by ``report``); a run without one shows its figures without intervals.
"""

from __future__ import annotations

from typing import Any

from emocompress.artifacts.rundir import RunDir
from emocompress.artifacts.schema import ComparisonFile, Delta, PairComparison
from emocompress.errors import UserError
from emocompress.format import NA, fmt, fmt_delta, fmt_interval
from emocompress.measure.forgot import (
    EMOTION_HEADERS,
    EXAMPLE_HEADERS,
    emotion_cells,
    example_cells,
)
from emocompress.measure.summary import delta_fields

# VariantView and Column (tui/data.py) are used by attribute only: tui/data.py imports this
# module, so naming them here would be an import cycle
VariantView = Any
Column = Any

EXAMPLES_SHOWN = 20
NOT_SIGNIFICANT = "~"  # the mark of a delta whose interval contains 0


def read_comparison(run_dir: RunDir) -> tuple[ComparisonFile | None, str | None]:
    """The run's comparison.json, or None; a broken file is the problem, not a crash."""
    try:
        return run_dir.load_comparison(), None
    except UserError as error:
        return None, str(error)


def attach_comparison(views: list[VariantView], comparison: ComparisonFile | None) -> None:
    """Give each view of one run its comparison and the paired delta from the reference."""
    for view in views:
        view.comparison = comparison
        if comparison is not None and view.error is None:
            view.row.update(delta_fields(view.name, comparison))


def interval_cell(column: Column, view: VariantView, reference: Any, mode: str) -> str | None:
    """The cell of a figure with an interval (None: the figure has none, format it plainly).

    Values: ``0.9395 ±0.0031``. Deltas from the run's reference: the paired delta and its
    interval, ``~`` when the interval contains 0 (not significant).
    """
    row = view.row
    if mode == "value":
        low, high = row.get(f"{column.key}_low"), row.get(f"{column.key}_high")
        if low is None or high is None:
            return None
        return fmt_interval(row.get(column.key), low, high, column.spec)
    if mode == "delta" and reference is not None and _is_run_reference(view, reference):
        key = f"delta_{column.key}"
        if row.get(key) is None:
            return None
        return fmt_delta(
            row[key],
            row.get(f"{key}_low"),
            row.get(f"{key}_high"),
            column.spec,
            significant=row.get(f"{key}_significant"),
        )
    return None


def _is_run_reference(view: VariantView, reference: VariantView) -> bool:
    comparison = view.comparison
    return (
        comparison is not None
        and reference.name == comparison.reference
        and (reference.run == view.run)
    )


def pair_between(a: VariantView, b: VariantView) -> tuple[PairComparison | None, int]:
    """The paired comparison of b against a (sign +1), or of a against b (sign -1)."""
    comparison = b.comparison
    if comparison is None or a.run != b.run:
        return None, 1
    pair = comparison.pair(b.name, a.name)
    if pair is not None:
        return pair, 1
    return comparison.pair(a.name, b.name), -1


def delta_text(delta: Delta | None, sign: int, spec: str) -> str | None:
    """``b - a`` with its interval from a pair (sign -1: the pair is a - b)."""
    if delta is None or delta.point is None:
        return None
    low, high = delta.low, delta.high
    if sign < 0:  # 0.0 - x, not -x: a zero stays +0.0 (-0.0 would show as "-0.000")
        low, high = (None if high is None else 0.0 - high), (None if low is None else 0.0 - low)
    point = delta.point if sign > 0 else 0.0 - delta.point
    return fmt_delta(point, low, high, spec, significant=delta.significant)


PAIRED_FIGURES = {"macro_auc": "macro_auc", "micro_auc": "micro_auc", "macro_f1": "macro_f1"}


def compare_delta(a: VariantView, b: VariantView, key: str, spec: str) -> str | None:
    """The paired Δ cell of the compare screen, for the figures comparison.json pairs."""
    pair, sign = pair_between(a, b)
    if pair is None or key not in PAIRED_FIGURES:
        return None
    return delta_text(getattr(pair.figures, PAIRED_FIGURES[key]), sign, spec)


def emotion_pair_cells(a: VariantView, b: VariantView) -> dict[str, tuple[str, str, str]] | None:
    """Per emotion: (support, paired ΔF1, paired ΔAUC) of b - a; None without a pair."""
    pair, sign = pair_between(a, b)
    if pair is None:
        return None
    return {
        row.label: (
            str(row.support),
            delta_text(row.f1, sign, ".3f") or NA,
            delta_text(row.auc, sign, ".3f") or NA,
        )
        for row in pair.per_label
    }


# ----------------------------------------------------------------------------- forgot


FORGOT_EMOTION_HEADERS = EMOTION_HEADERS
FORGOT_EXAMPLE_HEADERS = EXAMPLE_HEADERS


def forgot_pairs(view: VariantView) -> list[PairComparison]:
    """The variant's comparisons: against the reference and against its parent."""
    comparison = view.comparison
    if comparison is None:
        return []
    return [pair for pair in comparison.comparisons if pair.variant == view.name]


def forgot_title(pair: PairComparison) -> str:
    drops = ", ".join(pair.significant_f1_drops) or "none"
    return (
        f"{pair.variant} against {pair.against} ({', '.join(pair.roles)}): "
        f"significant F1 drops: {drops}. {pair.flipped_decisions} decisions flipped on "
        f"{pair.flipped_examples} examples. {NOT_SIGNIFICANT}: interval contains 0"
    )


def forgot_emotion_rows(pair: PairComparison) -> list[list[str]]:
    """Significant F1 drops first, each emotion with support and paired intervals."""
    return [emotion_cells(row) for row in pair.per_label]


def forgot_example_rows(pair: PairComparison, limit: int = EXAMPLES_SHOWN) -> list[list[str]]:
    """The examples that changed most: the text, gold labels, lost/gained decisions."""
    return [example_cells(example, fmt(example.text)) for example in pair.examples[:limit]]
