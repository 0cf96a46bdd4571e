"""Markdown tables for the report (numbers formatted by emocompress.format); the comparison
against a baseline."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from emocompress.format import fmt, fmt_percent, fmt_signed
from emocompress.report.data import percent_change


def md_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str = "") -> str:
    """A GitHub pipe table. ``align`` holds one "l" or "r" per column (default: first left,
    others right)."""
    align = align or "l" + "r" * (len(headers) - 1)
    rule = ["---" if a == "l" else "---:" for a in align]
    lines = [_row(headers), _row(rule)]
    lines += [_row([str(cell).replace("|", "\\|") for cell in row]) for row in rows]
    return "\n".join(lines) + "\n"


def _row(cells: Sequence[Any]) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


# ------------------------------------------------------------------------- comparison


@dataclass(frozen=True)
class Metric:
    """One comparison row: a key of the report's per-variant row (data.VariantData.row)."""

    label: str
    key: str
    spec: str
    higher_is_better: bool


COMPARED: tuple[Metric, ...] = (
    Metric("macro AUC", "macro_auc", ".4f", True),
    Metric("micro AUC", "micro_auc", ".4f", True),
    Metric("macro F1 (selected)", "macro_f1", ".4f", True),
    Metric("micro F1 (selected)", "micro_f1", ".4f", True),
    Metric("macro precision (selected)", "macro_precision", ".4f", True),
    Metric("macro recall (selected)", "macro_recall", ".4f", True),
    Metric("micro precision (selected)", "micro_precision", ".4f", True),
    Metric("micro recall (selected)", "micro_recall", ".4f", True),
    Metric("parameters", "parameters", ",d", False),
    Metric("parameters w/o embeddings", "parameters_without_embeddings", ",d", False),
    Metric("bytes on disk", "weight_bytes", ",d", False),
    Metric("p50 latency batch 1 (ms)", "p50_ms_batch_1", ".2f", False),
    Metric("p50 latency batch 32 (ms)", "p50_ms_batch_32", ".2f", False),
    Metric("throughput (texts/s)", "texts_per_s", ".1f", True),
    Metric("peak RSS (MB)", "peak_rss_mb", ".1f", False),
    Metric("train time (s)", "train_seconds", ".1f", False),
    Metric("best epoch (checkpoint kept)", "best_epoch", "g", False),
    Metric("max sequence length (config)", "max_positions", "d", True),
)


def comparison_rows(base: Mapping[str, Any], other: Mapping[str, Any]) -> list[list[str]]:
    """[metric, baseline, variant, delta, percent] for every metric either side measured."""
    rows = []
    for metric in COMPARED:
        b, v = base.get(metric.key), other.get(metric.key)
        if b is None and v is None:
            continue
        delta = v - b if v is not None and b is not None else None
        rows.append(
            [
                metric.label,
                fmt(b, metric.spec),
                fmt(v, metric.spec),
                fmt_signed(delta, metric.spec),
                fmt_percent(percent_change(v, b)),
            ]
        )
    return rows
