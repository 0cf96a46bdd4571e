"""The report's "Intervals and what compression forgot" section, from comparison.json.

Every figure here comes from the run's comparison.json (emocompress.measure.comparison):
each variant's figures with their bootstrap intervals, the paired differences against the
reference and the parent, and per pair the emotions whose F1 dropped (significant drops
first, with support) and the report texts that changed most.
"""

from __future__ import annotations

from emocompress.artifacts.schema import ComparisonFile, PairComparison
from emocompress.format import fmt_interval
from emocompress.measure.forgot import (
    DELTA_HEADERS,
    EMOTION_HEADERS,
    EXAMPLE_HEADERS,
    delta_cells,
    emotion_cells,
    example_cells,
)
from emocompress.report.tables import md_table

EMOTIONS_SHOWN = 10
EXAMPLES_SHOWN = 10
TEXT_CHARS = 160


def forgot_section(comparison: ComparisonFile | None) -> str:
    """The whole section; a note saying how to get it when the run has no comparison."""
    title = "## Intervals and what compression forgot\n\n"
    if comparison is None:
        return title + "Not computed (no comparison.json: run `emocompress compare RUN`).\n"
    spec = comparison.bootstrap
    percent = f"{100 * spec.confidence:g}%"
    parts = [
        title,
        f"From `{ComparisonFile.FILE}`: a paired percentile bootstrap over the "
        f"{comparison.n_report} examples of the report split ({comparison.report_split}), "
        f"{spec.resamples} resamples, seed {spec.seed}, {percent} intervals. Every variant is "
        "resampled with the same examples, so a difference's interval is that of the "
        "difference on the same texts; `*` marks one that excludes 0 (significant), `~` one "
        "that contains 0. F1 is under each variant's selected threshold strategy.\n\n",
        _variants_table(comparison),
        "\n",
    ]
    if comparison.comparisons:
        parts += ["### Paired differences (variant − other)\n\n", _deltas_table(comparison), "\n"]
    for pair in comparison.comparisons:
        parts.append(_pair_section(pair))
    return "".join(parts)


def _variants_table(comparison: ComparisonFile) -> str:
    rows = []
    for name, section in comparison.variants.items():
        figures = (section.auc_macro, section.auc_micro, section.macro.f1, section.micro.f1)
        rows.append(
            [
                name,
                *(fmt_interval(i.point, i.low, i.high, ".4f", style="range") for i in figures),
                section.strategy,
            ]
        )
    headers = ["variant", "macro AUC", "micro AUC", "macro F1", "micro F1", "strategy"]
    return md_table(headers, rows, align="lrrrrl")


def _deltas_table(comparison: ComparisonFile) -> str:
    rows = [delta_cells(pair) for pair in comparison.comparisons]
    return md_table(DELTA_HEADERS, rows, align="llrrrl")


def _pair_section(pair: PairComparison) -> str:
    drops = len(pair.significant_f1_drops)
    shown = pair.per_label[: max(EMOTIONS_SHOWN, drops)]
    examples = pair.examples[:EXAMPLES_SHOWN]
    return "".join(
        [
            f"### What {pair.variant} forgot against {pair.against}\n\n",
            f"{drops} emotion(s) with a significant F1 drop"
            + (f": {', '.join(pair.significant_f1_drops)}" if drops else "")
            + f". {len(shown)} of {len(pair.per_label)} emotions, significant drops first, "
            "then by F1 change; support: positives in the report split.\n\n",
            md_table(EMOTION_HEADERS, [emotion_cells(row) for row in shown]),
            "\n",
            f"{pair.flipped_decisions} decisions flipped on {pair.flipped_examples} of the "
            f"report examples at each one's selected thresholds. The {len(examples)} that "
            "changed most (most flips, then the largest probability change): read these "
            "before shipping.\n\n",
            md_table(
                EXAMPLE_HEADERS,
                [example_cells(example, _text(example.text)) for example in examples],
                align="llllll",
            ),
            "\n",
        ]
    )


def _text(text: str | None) -> str:
    """One table cell: on one line, shortened, as code (inert in Markdown and in HTML)."""
    if text is None:
        return "n/a"
    flat = " ".join(text.split()).replace("`", "'")
    if len(flat) > TEXT_CHARS:
        flat = flat[: TEXT_CHARS - 1] + "…"
    return f"`{flat}`"
