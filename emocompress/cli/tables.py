"""Terminal tables for a metrics.json ``quality`` section (rich only, nothing heavy).

Every table says which split chose the thresholds and which split the figures come from.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table

NA = "n/a"


def quality_table(quality: Mapping[str, Any]) -> Table:
    """One row per threshold strategy: micro and macro F1 / precision / recall, tune macro F1."""
    auc = quality.get("auc", {})
    table = Table(
        title=f"Quality on {_report_split(quality)}",
        caption=(
            f"AUC micro {_fmt(auc.get('micro'))}, macro {_fmt(auc.get('macro'))}. "
            f"{_split_note(quality)} * selected: {quality.get('selected_because', NA)}."
        ),
    )
    table.add_column("strategy")
    table.add_column("parameters")
    for average in ("micro", "macro"):
        for short in ("F1", "P", "R"):
            table.add_column(f"{average} {short}", justify="right")
    table.add_column(f"{quality.get('tune_split', 'tune')} macro F1", justify="right")
    for name, entry in quality.get("strategies", {}).items():
        marker = " *" if name == quality.get("selected_strategy") else ""
        table.add_row(
            f"{name}{marker}",
            _describe_params(entry.get("params", {})),
            *(
                _fmt(entry.get(average, {}).get(metric))
                for average in ("micro", "macro")
                for metric in ("f1", "precision", "recall")
            ),
            _fmt(entry.get("tune_macro_f1")),
        )
    return table


def label_extremes_table(
    quality: Mapping[str, Any], n: int = 5, strategy: str | None = None
) -> Table:
    """The ``n`` best and ``n`` worst labels by F1 under the selected (or given) strategy."""
    strategy = strategy or quality["selected_strategy"]
    ranked = sorted(
        _per_label(quality, strategy).items(), key=lambda item: (-_or_zero(item[1]["f1"]), item[0])
    )
    table = _label_table(quality, f"Best and worst {n} labels by F1 ({strategy})", with_group=True)
    if len(ranked) <= 2 * n:  # every label fits: no group repeats a label
        _add_label_rows(table, quality, ranked, group="all")
        return table
    _add_label_rows(table, quality, ranked[:n], group=f"top {n}")
    table.add_section()
    _add_label_rows(table, quality, ranked[-n:], group=f"bottom {n}")
    return table


def per_label_table(quality: Mapping[str, Any], strategy: str | None = None) -> Table:
    """Every label in label order under the selected (or given) strategy, with its AUC."""
    strategy = strategy or quality["selected_strategy"]
    table = _label_table(quality, f"Per-label quality ({strategy})", with_group=False)
    _add_label_rows(table, quality, list(_per_label(quality, strategy).items()), group=None)
    return table


# ------------------------------------------------------------------------- helpers


def _label_table(quality: Mapping[str, Any], title: str, *, with_group: bool) -> Table:
    table = Table(title=f"{title} on {_report_split(quality)}", caption=_split_note(quality))
    if with_group:
        table.add_column("")
    table.add_column("emotion")
    for column in ("F1", "precision", "recall", "support", "threshold", "AUC"):
        table.add_column(column, justify="right")
    return table


def _add_label_rows(
    table: Table, quality: Mapping[str, Any], rows: list, group: str | None
) -> None:
    auc = quality.get("auc", {}).get("per_label", {})
    for index, (name, stats) in enumerate(rows):
        cells = [
            name,
            _fmt(stats.get("f1")),
            _fmt(stats.get("precision")),
            _fmt(stats.get("recall")),
            str(stats.get("support", NA)),
            _fmt(stats.get("threshold"), digits=2),
            _fmt(auc.get(name)),
        ]
        if group is not None:
            cells.insert(0, group if index == 0 else "")
        table.add_row(*cells)


def _per_label(quality: Mapping[str, Any], strategy: str) -> Mapping[str, Any]:
    strategies = quality.get("strategies", {})
    if strategy not in strategies:
        known = ", ".join(strategies) or "none"
        raise KeyError(f"strategy {strategy!r} not in the quality section (has {known})")
    return strategies[strategy].get("per_label", {})


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


def _report_split(quality: Mapping[str, Any]) -> str:
    count = quality.get("n_report")
    return f"{quality.get('report_split', '?')}" + (f" (n={count})" if count is not None else "")


def _split_note(quality: Mapping[str, Any]) -> str:
    count = quality.get("n_tune")
    tune = f"{quality.get('tune_split', '?')}" + (f" (n={count})" if count is not None else "")
    return f"Thresholds chosen on {tune}; figures measured on {_report_split(quality)}."


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return NA
    return f"{value:.{digits}f}"


def _or_zero(value: Any) -> float:
    return value if isinstance(value, int | float) else 0.0
