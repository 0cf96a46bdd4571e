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

from emocompress.artifacts.rundir import RunDir, VariantDir, read_json
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
    lineage = variant.lineage() if variant.lineage_file.is_file() else {}
    flat = {
        "operation": str(lineage.get("operation")),
        "parent": str(lineage.get("parent") or lineage.get("source")),
    }
    flat.update(_flatten(lineage.get("settings") or {}, "settings"))
    return flat


def curves(variant: VariantDir) -> Iterator[tuple[str, float, int]]:
    """(name, value, step) points from history.json: training loss and tune macro-AUC."""
    if not variant.history_file.is_file():
        return
    history = read_json(variant.history_file)
    for point in history.get("steps", []):
        yield "train_loss", float(point["loss"]), int(point["step"])
    for point in history.get("evaluations", []):
        yield "tune_macro_auc", float(point["tune_macro_auc"]), int(point["step"])


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
    reference_dir = run_dir.variant(reference)
    reference_metrics = reference_dir.metrics() if reference_dir.metrics_file.is_file() else None
    run_name = run_dir.state().get("name", run_dir.root.name)
    return [
        TrackedVariant(
            f"{run_name}/{v.name}",
            variant_params(v),
            variant_scalars(variant_row(v, reference_metrics)),
            list(curves(v)),
        )
        for v in run_dir.variants()
        if v.metrics_file.is_file()
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
