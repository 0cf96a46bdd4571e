"""The per-variant summary row: what `run` prints, `--json` writes, the TUI and reports read.

Every figure comes from the variant's own files (metrics.json, emocompress.json); a figure
that was not measured is ``None`` and shown as "n/a", never 0.
"""

from __future__ import annotations

from typing import Any

from emocompress.artifacts.rundir import VariantDir


def dig(data: Any, *keys: Any) -> Any:
    """``data[k1][k2]...`` or None when any step is missing."""
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def selected_f1(metrics: dict[str, Any], average: str = "macro") -> float | None:
    quality = metrics.get("quality") or {}
    strategy = quality.get("selected_strategy")
    return dig(quality, "strategies", strategy, average, "f1")


def variant_row(
    variant: VariantDir, reference_metrics: dict[str, Any] | None = None
) -> dict[str, Any]:
    metrics = variant.metrics()
    lineage = variant.lineage() if variant.lineage_file.is_file() else {}
    macro_auc = dig(metrics, "quality", "auc", "macro")
    reference_auc = dig(reference_metrics, "quality", "auc", "macro")
    speed = dig(metrics, "speed", "runtimes") or {}
    runtime = next(iter(speed), None)
    bytes_on_disk = dig(metrics, "size", "bytes_on_disk")
    return {
        "variant": variant.name,
        "operation": lineage.get("operation"),
        "parent": lineage.get("parent") or lineage.get("source"),
        "parameters": dig(metrics, "size", "parameters"),
        "parameters_without_embeddings": dig(metrics, "size", "parameters_without_embeddings"),
        "mb": bytes_on_disk / 1e6 if bytes_on_disk is not None else None,
        "macro_auc": macro_auc,
        "micro_auc": dig(metrics, "quality", "auc", "micro"),
        "auc_share": macro_auc / reference_auc if macro_auc is not None and reference_auc else None,
        "macro_f1": selected_f1(metrics),
        "micro_f1": selected_f1(metrics, "micro"),
        "strategy": dig(metrics, "quality", "selected_strategy"),
        "runtime": runtime,
        "p50_ms_batch_1": dig(speed, runtime, "batch_1", "p50_ms") if runtime else None,
        "p50_ms_batch_32": dig(speed, runtime, "batch_32", "p50_ms") if runtime else None,
        "texts_per_s": dig(speed, runtime, "batch_32", "texts_per_s") if runtime else None,
        "peak_rss_mb": dig(speed, runtime, "peak_rss_mb") if runtime else None,
        "gpu_peak_mb": dig(speed, runtime, "gpu_peak_mb") if runtime else None,
        "train_seconds": _train_seconds(variant),
    }


def _train_seconds(variant: VariantDir) -> float | None:
    if not variant.history_file.is_file():
        return None
    from emocompress.artifacts.rundir import read_json

    return read_json(variant.history_file).get("seconds")


def _fmt(value: Any, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def summary_table(rows: list[dict[str, Any]], title: str = "variants"):
    """A rich table of :func:`variant_row` rows."""
    from rich.table import Table

    table = Table(
        title=title,
        title_justify="left",
        caption="mAUC/µAUC: macro/micro AUC on the report split; share: of the reference's mAUC; "
        "mF1: macro F1 under the threshold strategy chosen on the tune split; ms: p50 latency",
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
        ("mF1", "macro_f1", ".3f"),
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
        table.add_row(*[_fmt(row.get(key), spec) for _, key, spec in shown])
    return table
