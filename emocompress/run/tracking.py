"""Optional experiment tracking: the run directory stays the record; MLflow or Weights &
Biases get a copy of the same figures and curves when a recipe names them.

MLflow works offline with a SQLite store (``sqlite:///runs/mlflow.db``, the default);
W&B runs offline when ``WANDB_MODE=offline`` is set. Both are optional installs
(``pip install 'emocompress[tracking]'`` for MLflow).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from emocompress.artifacts.rundir import RunDir, VariantDir
from emocompress.errors import UserError
from emocompress.measure.summary import variant_row
from emocompress.progress import Reporter

SCALARS = (
    "parameters", "parameters_without_embeddings", "mb", "macro_auc", "micro_auc",
    "auc_share", "macro_f1", "micro_f1", "p50_ms_batch_1", "p50_ms_batch_32", "texts_per_s",
    "peak_rss_mb", "gpu_peak_mb", "train_seconds",
)  # fmt: skip


def variant_scalars(row: dict[str, Any]) -> dict[str, float]:
    """The numeric summary figures of a variant (unmeasured ones left out, never 0)."""
    return {key: float(row[key]) for key in SCALARS if row.get(key) is not None}


def variant_params(variant: VariantDir) -> dict[str, str]:
    lineage = variant.load_lineage_or_none()
    if lineage is None:
        return {"operation": "None", "parent": "None"}
    flat = {
        "operation": lineage.operation,
        "parent": str(lineage.parent or lineage.source),
    }
    flat.update(_flatten(lineage.settings, "settings"))
    return flat


def curves(variant: VariantDir) -> Iterator[tuple[str, float, int]]:
    """(name, value, step) points of the training history: loss and tune macro-AUC."""
    history = variant.load_history()
    if history is None:
        return
    for point in history.steps:
        yield "train_loss", float(point.loss), point.step
    for evaluation in history.evaluations:
        if evaluation.tune_macro_auc is not None:
            yield "tune_macro_auc", float(evaluation.tune_macro_auc), evaluation.step


def _flatten(data: dict[str, Any], prefix: str) -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name))
        else:
            flat[name] = str(value)
    return flat


@dataclass(frozen=True)
class TrackedVariant:
    """What a tracker receives for one variant: all read from the run directory."""

    name: str
    params: dict[str, str]
    scalars: dict[str, float]
    curves: list[tuple[str, float, int]]


def tracked_variants(run_dir: RunDir, reference: str = "teacher") -> list[TrackedVariant]:
    reference_metrics = run_dir.variant(reference).load_metrics_or_none()
    run_name = run_dir.load_state().name or run_dir.root.name
    return [
        TrackedVariant(
            f"{run_name}/{v.name}",
            variant_params(v),
            variant_scalars(variant_row(v, reference_metrics)),
            list(curves(v)),
        )
        for v in run_dir.variants()
        if v.has_metrics()
    ]


def log_run(tracking: Any, run_dir: RunDir, reporter: Reporter) -> None:
    variants = tracked_variants(run_dir)
    if tracking.mlflow is not None:
        _log_mlflow(tracking.mlflow, run_dir, variants)
        reporter.log(
            f"tracking: {len(variants)} variants logged to MLflow {tracking.mlflow.tracking_uri}"
        )
    if tracking.wandb is not None:
        _log_wandb(tracking.wandb, variants)
        reporter.log(
            f"tracking: {len(variants)} variants logged to W&B project {tracking.wandb.project}"
        )


def _require(module: str, key: str, install: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise UserError(f"{key} is set but {module} is not installed", expected=install) from exc


def _log_mlflow(spec: Any, run_dir: RunDir, variants: list[TrackedVariant]) -> None:
    mlflow = _require("mlflow", "tracking.mlflow", "pip install 'emocompress[tracking]'")
    mlflow.set_tracking_uri(spec.tracking_uri)
    mlflow.set_experiment(spec.experiment)
    for variant in variants:
        with mlflow.start_run(run_name=variant.name):
            mlflow.set_tag("emocompress.run_dir", str(run_dir.root.resolve()))
            mlflow.log_params(variant.params)
            mlflow.log_metrics(variant.scalars)
            for name, value, step in variant.curves:
                mlflow.log_metric(name, value, step=step)


def _log_wandb(spec: Any, variants: list[TrackedVariant]) -> None:
    wandb = _require("wandb", "tracking.wandb", "pip install wandb")
    for variant in variants:
        run = wandb.init(
            project=spec.project,
            entity=spec.entity,
            name=variant.name,
            config=variant.params,
            reinit=True,
        )
        for name, value, step in variant.curves:
            run.log({name: value}, step=step)
        run.summary.update(variant.scalars)
        run.finish()
