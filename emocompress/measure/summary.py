"""The per-variant summary row: what `run` prints, `--json` writes, the TUI and reports read.

Every figure comes from the variant's typed metrics and lineage (train time from its
history); a figure that was not measured is ``None`` and shown as "n/a", never 0.
"""

from __future__ import annotations

from typing import Any

from emocompress.artifacts.rundir import VariantDir
from emocompress.artifacts.schema import ComparisonFile, Interval, Metrics, RuntimeSpeed
from emocompress.format import fmt, fmt_delta, fmt_interval


def selected_f1(metrics: Metrics | None, average: str = "macro") -> float | None:
    """F1 (micro or macro) under the threshold strategy selected on the tune split."""
    if metrics is None or metrics.quality is None:
        return None
    scores = (
        metrics.quality.selected.micro if average == "micro" else metrics.quality.selected.macro
    )
    return scores.f1


def interval_fields(metrics: Metrics) -> dict[str, float | None]:
    """``<figure>_low`` / ``<figure>_high`` of the headline figures (None: no intervals)."""
    section = metrics.intervals
    figures: dict[str, Interval | None] = {
        "macro_auc": section.auc_macro if section else None,
        "micro_auc": section.auc_micro if section else None,
        "macro_f1": section.macro.f1 if section else None,
        "micro_f1": section.micro.f1 if section else None,
    }
    fields: dict[str, float | None] = {}
    for name, interval in figures.items():
        fields[f"{name}_low"] = interval.low if interval else None
        fields[f"{name}_high"] = interval.high if interval else None
    return fields


def delta_fields(name: str, comparison: ComparisonFile | None) -> dict[str, Any]:
    """The paired difference from the reference (comparison.json); empty without one."""
    if comparison is None or comparison.reference is None or name == comparison.reference:
        return {}
    pair = comparison.pair(name, comparison.reference)
    if pair is None:
        return {}
    auc, f1 = pair.figures.macro_auc, pair.figures.macro_f1
    return {
        "delta_macro_auc": auc.point,
        "delta_macro_auc_low": auc.low,
        "delta_macro_auc_high": auc.high,
        "delta_macro_auc_significant": auc.significant,
        "delta_macro_f1": f1.point,
        "delta_macro_f1_low": f1.low,
        "delta_macro_f1_high": f1.high,
        "delta_macro_f1_significant": f1.significant,
        "significant_f1_drops": pair.significant_f1_drops,
    }


def variant_row(
    variant: VariantDir,
    reference: Metrics | None = None,
    comparison: ComparisonFile | None = None,
) -> dict[str, Any]:
    """The summary row; with ``comparison``, the paired delta from the reference too."""
    metrics = variant.load_metrics()
    lineage = variant.load_lineage_or_none()
    quality, size = metrics.quality, metrics.size
    macro_auc = metrics.macro_auc
    reference_auc = reference.macro_auc if reference is not None else None
    runtimes = metrics.speed.runtimes if metrics.speed else {}
    # the runtime a variant ships with: its only one, else the first measured
    runtime, speed = next(iter(runtimes.items()), (None, RuntimeSpeed()))
    parent = None
    if lineage is not None:
        parent = lineage.parent or lineage.source
    return {
        "variant": variant.name,
        "operation": lineage.operation if lineage else None,
        "parent": parent,
        "parameters": size.parameters if size else None,
        "parameters_without_embeddings": size.parameters_without_embeddings if size else None,
        "mb": size.megabytes if size else None,
        "macro_auc": macro_auc,
        "micro_auc": quality.auc.micro if quality else None,
        "auc_share": macro_auc / reference_auc if macro_auc is not None and reference_auc else None,
        "macro_f1": selected_f1(metrics),
        "micro_f1": selected_f1(metrics, "micro"),
        "strategy": quality.selected_strategy if quality else None,
        "runtime": runtime,
        "p50_ms_batch_1": speed.batch(1).p50_ms,
        "p50_ms_batch_32": speed.batch(32).p50_ms,
        "texts_per_s": speed.batch(32).texts_per_s,
        # against the bench call's baseline, and of the machine's matmul limit, at batch 32
        "speedup": speed.speedup_at(32),
        "percent_of_limit": _percent(speed.batch(32).share_of_limit),
        "peak_rss_mb": speed.peak_rss_mb,
        "gpu_peak_mb": speed.gpu_peak_mb,
        "train_seconds": variant.train_seconds(),
        **interval_fields(metrics),
        **delta_fields(variant.name, comparison),
        "threshold_warnings": metrics.threshold_support.warnings
        if metrics.threshold_support
        else [],
    }


def _percent(fraction: float | None) -> float | None:
    return None if fraction is None else 100.0 * fraction


def summary_table(rows: list[dict[str, Any]], title: str = "variants"):
    """A rich table of :func:`variant_row` rows."""
    from rich.table import Table

    table = Table(
        title=title,
        title_justify="left",
        caption="mAUC/µAUC: macro/micro AUC on the report split (± half the bootstrap interval); "
        "share: of the reference's mAUC; ΔmAUC/ΔmF1: paired difference from the reference "
        "[interval] (* the interval excludes 0, ~ it contains 0); mF1: macro F1 under the "
        "threshold strategy chosen on the tune split; F1 drops: emotions whose F1 fell "
        "significantly; ms: p50 latency",
        caption_justify="left",
    )
    columns = [
        ("variant", "variant", "s"),
        ("op", "operation", "s"),
        ("params", "parameters", ",d"),
        ("w/o emb", "parameters_without_embeddings", ",d"),
        ("MB", "mb", ".1f"),
        ("mAUC", "macro_auc", ".4f"),
        ("µAUC", "micro_auc", ".4f"),
        ("share", "auc_share", ".3f"),
        ("ΔmAUC", "delta_macro_auc", ".3f"),
        ("mF1", "macro_f1", ".3f"),
        ("ΔmF1", "delta_macro_f1", ".3f"),
        ("F1 drops", "significant_f1_drops", "n"),
        ("ms b1", "p50_ms_batch_1", ".2f"),
        ("ms b32", "p50_ms_batch_32", ".1f"),
        ("texts/s", "texts_per_s", ".0f"),
        ("train s", "train_seconds", ".0f"),
    ]
    shown = [
        c for c in columns if any(row.get(c[1]) is not None for row in rows) or c[1] == "variant"
    ]
    for header, _, spec in shown:
        table.add_column(header, justify="left" if spec == "s" else "right", no_wrap=True)
    for row in rows:
        table.add_row(*[summary_cell(row, key, spec) for _, key, spec in shown])
    return table


def summary_cell(row: dict[str, Any], key: str, spec: str) -> str:
    """One cell: a figure with its interval where the row has one (``<key>_low``/``_high``)."""
    value = row.get(key)
    if spec == "n":  # a list shown by its length
        return fmt(None if value is None else len(value))
    if key.startswith("delta_"):
        return fmt_delta(
            value,
            row.get(f"{key}_low"),
            row.get(f"{key}_high"),
            spec,
            significant=row.get(f"{key}_significant"),
        )
    if row.get(f"{key}_low") is not None:
        return fmt_interval(value, row.get(f"{key}_low"), row.get(f"{key}_high"), spec)
    return fmt(value, spec)
