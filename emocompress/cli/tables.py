"""Terminal tables for a metrics.json ``quality`` section (rich only, nothing heavy).

Every table says which split chose the thresholds and which split the figures come from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table

from emocompress.artifacts.schema import Interval, LabelScores, Metrics, Quality
from emocompress.errors import UserError
from emocompress.format import fmt


def quality_table(quality: Quality) -> Table:
    """One row per threshold strategy: micro and macro F1 / precision / recall, tune macro F1."""
    table = Table(
        title=f"Quality on {_report_split(quality)}",
        caption=(
            f"AUC micro {fmt(quality.auc.micro, '.3f')}, macro {fmt(quality.auc.macro, '.3f')}. "
            f"{_split_note(quality)} * selected: {quality.selected_because}."
        ),
    )
    table.add_column("strategy")
    table.add_column("parameters")
    for average in ("micro", "macro"):
        for short in ("F1", "P", "R"):
            table.add_column(f"{average} {short}", justify="right")
    table.add_column(f"{quality.tune_split} macro F1", justify="right")
    for name, entry in quality.strategies.items():
        marker = " *" if name == quality.selected_strategy else ""
        table.add_row(
            f"{name}{marker}",
            _describe_params(entry.params),
            *(
                fmt(value, ".3f")
                for scores in (entry.micro, entry.macro)
                for value in (scores.f1, scores.precision, scores.recall)
            ),
            fmt(entry.tune_macro_f1, ".3f"),
        )
    return table


def label_extremes_table(quality: Quality, n: int = 5, strategy: str | None = None) -> Table:
    """The ``n`` best and ``n`` worst labels by F1 under the selected (or given) strategy."""
    strategy = strategy or quality.selected_strategy
    ranked = sorted(
        _per_label(quality, strategy).items(), key=lambda item: (-(item[1].f1 or 0.0), item[0])
    )
    table = _label_table(quality, f"Best and worst {n} labels by F1 ({strategy})", with_group=True)
    if len(ranked) <= 2 * n:  # every label fits: no group repeats a label
        _add_label_rows(table, quality, ranked, group="all")
        return table
    _add_label_rows(table, quality, ranked[:n], group=f"top {n}")
    table.add_section()
    _add_label_rows(table, quality, ranked[-n:], group=f"bottom {n}")
    return table


def per_label_table(quality: Quality, strategy: str | None = None) -> Table:
    """Every label in label order under the selected (or given) strategy, with its AUC."""
    strategy = strategy or quality.selected_strategy
    table = _label_table(quality, f"Per-label quality ({strategy})", with_group=False)
    _add_label_rows(table, quality, list(_per_label(quality, strategy).items()), group=None)
    return table


# ------------------------------------------------------------------------- helpers


def _label_table(quality: Quality, title: str, *, with_group: bool) -> Table:
    table = Table(title=f"{title} on {_report_split(quality)}", caption=_split_note(quality))
    if with_group:
        table.add_column("")
    table.add_column("emotion")
    for column in ("F1", "precision", "recall", "support", "threshold", "AUC"):
        table.add_column(column, justify="right")
    return table


def _add_label_rows(
    table: Table, quality: Quality, rows: list[tuple[str, LabelScores]], group: str | None
) -> None:
    auc = quality.auc.per_label
    for index, (name, stats) in enumerate(rows):
        cells = [
            name,
            fmt(stats.f1, ".3f"),
            fmt(stats.precision, ".3f"),
            fmt(stats.recall, ".3f"),
            str(stats.support),
            fmt(stats.threshold, ".2f"),
            fmt(auc.get(name), ".3f"),
        ]
        if group is not None:
            cells.insert(0, group if index == 0 else "")
        table.add_row(*cells)


def _per_label(quality: Quality, strategy: str) -> Mapping[str, LabelScores]:
    if strategy not in quality.strategies:
        raise UserError(
            f"strategy {strategy!r} is not in the quality section",
            expected="one of " + (", ".join(quality.strategies) or "none"),
        )
    return quality.strategies[strategy].per_label


def _describe_params(params: Mapping[str, Any]) -> str:
    if "thresholds" in params:
        values = list(params["thresholds"].values())
        if not values:
            return "per label"
        return f"per label, {min(values):.2f}-{max(values):.2f}"
    if "threshold" in params:
        return f"threshold {params['threshold']:.2f}"
    if "k" in params:
        return f"k = {params['k']}"
    return ", ".join(f"{key}={value}" for key, value in params.items())


def _report_split(quality: Quality) -> str:
    return f"{quality.report_split} (n={quality.n_report})"


def _split_note(quality: Quality) -> str:
    tune = f"{quality.tune_split} (n={quality.n_tune})"
    return f"Thresholds chosen on {tune}; figures measured on {_report_split(quality)}."


def intervals_table(metrics: Metrics) -> Table | None:
    """The headline figures with their bootstrap intervals (None: metrics.json has none)."""
    section = metrics.intervals
    if section is None:
        return None
    percent = f"{100 * section.confidence:g}%"
    table = Table(
        title=f"{percent} intervals on {section.report_split} (n={section.n_report})",
        caption=f"Paired percentile bootstrap, {section.resamples} resamples, seed "
        f"{section.seed}; F1/P/R under {section.strategy} (selected).",
    )
    for column in ("figure", "value", f"{percent} interval", "±"):
        table.add_column(column, justify="left" if column == "figure" else "right")
    rows = [
        ("macro AUC", section.auc_macro),
        ("micro AUC", section.auc_micro),
        ("macro F1", section.macro.f1),
        ("micro F1", section.micro.f1),
        ("macro precision", section.macro.precision),
        ("macro recall", section.macro.recall),
    ]
    for name, interval in rows:
        table.add_row(name, *_interval_cells(interval))
    return table


def label_intervals_table(metrics: Metrics) -> Table | None:
    """Per emotion: support, F1 and AUC with intervals, the tune positives its threshold rests on."""
    section, support = metrics.intervals, metrics.threshold_support
    if section is None:
        return None
    table = Table(
        title=f"Per-emotion intervals ({section.strategy}) on {section.report_split}",
        caption="tune +: positives of the tune split the label's threshold was chosen on"
        + (f" (warned under {support.min_positives})" if support else ""),
    )
    for column in ("emotion", "support", "F1", "F1 interval", "AUC", "AUC interval", "tune +"):
        table.add_column(column, justify="left" if column == "emotion" else "right")
    for name, label in section.per_label.items():
        f1, auc = _interval_cells(label.f1), _interval_cells(label.auc)
        tune = support.positives.get(name) if support else None
        table.add_row(name, str(label.support), f1[0], f1[1], auc[0], auc[1], fmt(tune))
    return table


def _interval_cells(interval: Interval) -> tuple[str, str, str]:
    if interval.low is None or interval.high is None:
        return fmt(interval.point, ".4f"), "n/a", "n/a"
    return (
        fmt(interval.point, ".4f"),
        f"[{interval.low:.4f}, {interval.high:.4f}]",
        f"{(interval.high - interval.low) / 2:.4f}",
    )
