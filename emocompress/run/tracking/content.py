"""What a tracker receives for one variant: read from the run directory, nothing computed.

``figures`` are the numeric leaves of metrics.json, flattened to dotted keys
(``quality.auc.macro``, ``quality.strategies.per_label.macro.f1``, ``size.parameters``, ...),
plus the summary row's short names (``macro_auc``, ``macro_f1``, ...); per-label figures go
into the ``per_emotion`` table instead. A figure that was not measured is left out, never 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from emocompress.artifacts.rundir import RunDir, VariantDir
from emocompress.artifacts.schema import Metrics
from emocompress.measure.summary import variant_row

SUMMARY_SCALARS = (
    "parameters", "parameters_without_embeddings", "mb", "macro_auc", "micro_auc",
    "auc_share", "macro_f1", "micro_f1", "p50_ms_batch_1", "p50_ms_batch_32", "texts_per_s",
    "peak_rss_mb", "gpu_peak_mb", "train_seconds",
)  # fmt: skip

# per-label maps become the per-emotion table; lists and names are not figures
_NOT_FIGURES = {"per_label", "labels", "schema_version"}

PER_EMOTION_COLUMNS = (
    "label", "support", "auc", "f1", "precision", "recall", "threshold", "tp", "fp", "fn",
)  # fmt: skip


def metric_figures(metrics: Metrics) -> dict[str, float]:
    """Every numeric figure of metrics.json under its dotted path (per-label maps left out)."""
    flat: dict[str, float] = {}
    _flatten_numbers(metrics.model_dump(mode="json", exclude_none=True), "", flat)
    return flat


def _flatten_numbers(data: Any, prefix: str, out: dict[str, float]) -> None:
    if isinstance(data, dict):
        for key, value in data.items():
            if key not in _NOT_FIGURES:
                _flatten_numbers(value, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(data, (int, float)) and not isinstance(data, bool) and math.isfinite(data):
        out[prefix] = float(data)


def summary_scalars(row: dict[str, Any]) -> dict[str, float]:
    """The summary row's numeric figures (unmeasured ones left out, never 0)."""
    return {key: float(row[key]) for key in SUMMARY_SCALARS if row.get(key) is not None}


def per_emotion_rows(metrics: Metrics) -> list[dict[str, Any]]:
    """One row per label: support, AUC, and the selected strategy's scores and threshold."""
    quality = metrics.quality
    if quality is None:
        return []
    rows = []
    for label, scores in quality.selected.per_label.items():
        rows.append(
            {
                "label": label,
                "support": scores.support,
                "auc": quality.auc.per_label.get(label),
                "f1": scores.f1,
                "precision": scores.precision,
                "recall": scores.recall,
                "threshold": scores.threshold,
                "tp": scores.tp,
                "fp": scores.fp,
                "fn": scores.fn,
            }
        )
    return rows


def variant_params(variant: VariantDir) -> dict[str, str]:
    """Lineage and the operation's settings, flattened to strings (trackers' params)."""
    lineage = variant.load_lineage_or_none()
    if lineage is None:
        return {"operation": "None", "parent": "None"}
    flat = {
        "operation": lineage.operation,
        "parent": str(lineage.parent or lineage.source),
        "format": lineage.format,
    }
    flat.update(_flatten_strings(lineage.settings, "settings"))
    return flat


def _flatten_strings(data: dict[str, Any], prefix: str) -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}"
        if isinstance(value, dict):
            flat.update(_flatten_strings(value, name))
        else:
            flat[name] = str(value)
    return flat


def curves(variant: VariantDir) -> list[tuple[str, float, int]]:
    """(name, value, step) points of the training history: loss and tune macro-AUC."""
    history = variant.load_history()
    if history is None:
        return []
    points = [("train_loss", float(p.loss), p.step) for p in history.steps]
    points += [
        ("tune_macro_auc", float(e.tune_macro_auc), e.step)
        for e in history.evaluations
        if e.tune_macro_auc is not None
    ]
    return points


@dataclass(frozen=True)
class TrackedVariant:
    """One variant as trackers see it."""

    run_name: str
    variant: VariantDir
    parents: list[str]
    operation: str | None
    is_onnx: bool
    params: dict[str, str]
    figures: dict[str, float]
    curves: list[tuple[str, float, int]]
    per_emotion: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The tracker run's name: ``<run>/<variant>``."""
        return f"{self.run_name}/{self.variant.name}"


def tracked_variants(run_dir: RunDir, reference: str = "teacher") -> list[TrackedVariant]:
    """Every measured variant of the run, parents before children (run.json order)."""
    reference_metrics = run_dir.variant(reference).load_metrics_or_none()
    run_name = run_dir.load_state().name or run_dir.root.name
    tracked = []
    for variant in run_dir.variants():
        if not variant.has_metrics():
            continue
        metrics = variant.load_metrics()
        lineage = variant.load_lineage_or_none()
        figures = metric_figures(metrics)
        figures.update(summary_scalars(variant_row(variant, reference_metrics)))
        tracked.append(
            TrackedVariant(
                run_name=run_name,
                variant=variant,
                parents=lineage.parents if lineage else [],
                operation=lineage.operation if lineage else None,
                is_onnx=variant.is_onnx,
                params=variant_params(variant),
                figures=figures,
                curves=curves(variant),
                per_emotion=per_emotion_rows(metrics),
            )
        )
    return tracked
