"""Optional experiment tracking: the run directory stays the record; MLflow or Weights &
Biases get a copy of the same figures and curves when a recipe names them.

MLflow works offline with a SQLite store (``sqlite:///runs/mlflow.db``, the default);
W&B runs offline when ``WANDB_MODE=offline`` is set. Both are optional installs
(``pip install 'emocompress[tracking]'`` for MLflow).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from emocompress.errors import UserError
from emocompress.progress import Reporter
from emocompress.rundir import RunDir, VariantDir, read_json
from emocompress.summary import variant_row

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


def log_run(tracking: Any, run_dir: RunDir, reporter: Reporter) -> None:
    reference = run_dir.variant(getattr(tracking, "reference", None) or "teacher")
    reference_metrics = reference.metrics() if reference.metrics_file.is_file() else None
    variants = [v for v in run_dir.variants() if v.metrics_file.is_file()]
    if tracking.mlflow is not None:
        _log_mlflow(tracking.mlflow, run_dir, variants, reference_metrics, reporter)
    if tracking.wandb is not None:
        _log_wandb(tracking.wandb, run_dir, variants, reference_metrics, reporter)


def _log_mlflow(
    spec: Any,
    run_dir: RunDir,
    variants: list[VariantDir],
    reference_metrics: dict[str, Any] | None,
    reporter: Reporter,
) -> None:
    try:
        import mlflow
    except ImportError as exc:
        raise UserError(
            "tracking.mlflow is set but MLflow is not installed",
            expected="pip install 'emocompress[tracking]'",
        ) from exc
    mlflow.set_tracking_uri(spec.tracking_uri)
    mlflow.set_experiment(spec.experiment)
    run_name = run_dir.state().get("name", run_dir.root.name)
    for variant in variants:
        with mlflow.start_run(run_name=f"{run_name}/{variant.name}"):
            mlflow.set_tags(
                {
                    "emocompress.run_dir": str(run_dir.root.resolve()),
                    "emocompress.variant": variant.name,
                }
            )
            mlflow.log_params(variant_params(variant))
            mlflow.log_metrics(variant_scalars(variant_row(variant, reference_metrics)))
            for name, value, step in curves(variant):
                mlflow.log_metric(name, value, step=step)
    reporter.log(f"tracking: {len(variants)} variants logged to MLflow {spec.tracking_uri}")


def _log_wandb(
    spec: Any,
    run_dir: RunDir,
    variants: list[VariantDir],
    reference_metrics: dict[str, Any] | None,
    reporter: Reporter,
) -> None:
    try:
        import wandb
    except ImportError as exc:
        raise UserError(
            "tracking.wandb is set but wandb is not installed", expected="pip install wandb"
        ) from exc
    run_name = run_dir.state().get("name", run_dir.root.name)
    for variant in variants:
        run = wandb.init(
            project=spec.project,
            entity=spec.entity,
            name=f"{run_name}/{variant.name}",
            config=variant_params(variant),
            reinit=True,
        )
        for name, value, step in curves(variant):
            run.log({name: value}, step=step)
        run.summary.update(variant_scalars(variant_row(variant, reference_metrics)))
        run.finish()
    reporter.log(f"tracking: {len(variants)} variants logged to W&B project {spec.project}")
