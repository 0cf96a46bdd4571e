"""Terminal tables of comparison.json: intervals, paired deltas, what compression forgot."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from emocompress.artifacts.schema import ComparisonFile, PairComparison
from emocompress.format import fmt, fmt_interval
from emocompress.measure.forgot import (
    DELTA_HEADERS,
    EMOTION_HEADERS,
    EXAMPLE_HEADERS,
    delta_cells,
    emotion_cells,
    example_cells,
)


def variants_table(comparison: ComparisonFile) -> Table:
    """Each variant's headline figures with their intervals."""
    spec = comparison.bootstrap
    percent = f"{100 * spec.confidence:g}%"
    table = Table(
        title=f"{percent} intervals on {comparison.report_split} (n={comparison.n_report})",
        caption=f"Paired percentile bootstrap over the report examples: {spec.resamples} "
        f"resamples, seed {spec.seed}. F1 under each variant's selected threshold strategy.",
    )
    for column in ("variant", "macro AUC", "micro AUC", "macro F1", "micro F1", "strategy"):
        table.add_column(column, justify="left" if column in {"variant", "strategy"} else "right")
    for name, section in comparison.variants.items():
        table.add_row(
            name,
            *(
                fmt_interval(i.point, i.low, i.high, ".4f", style="range")
                for i in (section.auc_macro, section.auc_micro, section.macro.f1, section.micro.f1)
            ),
            section.strategy,
        )
    return table


def pair_tables(comparison: ComparisonFile, *, examples: int = 5) -> list[Table]:
    """Per pair: the deltas, the per-emotion F1 drops, the examples that changed most."""
    tables = [deltas_table(comparison)] if comparison.comparisons else []
    for pair in comparison.comparisons:
        tables.append(emotions_table(pair))
        if examples > 0 and pair.examples:
            tables.append(examples_table(pair, examples))
    return tables


def deltas_table(comparison: ComparisonFile) -> Table:
    table = Table(
        title="Paired differences (variant - other)",
        caption=escape(
            "[low, high]: the interval; * it excludes 0 (significant), ~ it contains 0."
        ),
    )
    for column in DELTA_HEADERS:
        table.add_column(column, justify="left" if column in {"variant", "against"} else "right")
    for pair in comparison.comparisons:
        table.add_row(*delta_cells(pair))
    return table


def emotions_table(pair: PairComparison, limit: int = 10) -> Table:
    """The emotions that lost most: significant drops first, with support."""
    table = Table(
        title=f"What {pair.variant} forgot against {pair.against}: emotions",
        caption=f"Significant F1 drops first ({len(pair.significant_f1_drops)}); "
        f"support: positives in the report split. "
        f"{min(limit, len(pair.per_label))} of {len(pair.per_label)} shown.",
    )
    for column in EMOTION_HEADERS:
        table.add_column(column, justify="left" if column == "emotion" else "right")
    for row in pair.per_label[:limit]:
        table.add_row(*emotion_cells(row))
    return table


def examples_table(pair: PairComparison, limit: int) -> Table:
    table = Table(
        title=f"What {pair.variant} forgot against {pair.against}: examples",
        caption=f"{pair.flipped_decisions} decisions flipped on {pair.flipped_examples} examples "
        "at each one's selected thresholds; most flips first, then largest probability change.",
    )
    for column in EXAMPLE_HEADERS:
        table.add_column(column, justify="right" if column == "#" else "left", overflow="fold")
    for example in pair.examples[:limit]:
        table.add_row(*example_cells(example, escape(fmt(example.text))))
    return table
