"""MLflow: one MLflow run per variant, with params, figures, curves, the per-emotion table
and the variant's files (and bundle) as artifacts; lineage as tags naming the parents' runs.

A SQLite tracking URI (``sqlite:///runs/mlflow.db``) keeps everything local: the experiment
is created with its artifacts in ``mlflow-artifacts/`` beside the database, not in the
current directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from emocompress.artifacts.rundir import RunDir
from emocompress.run.tracking.content import TrackedVariant
from emocompress.run.tracking.files import artifact_folders
from emocompress.run.tracking.modules import require

PER_EMOTION_FILE = "per_emotion.json"
TAG_RUN_DIR = "emocompress.run_dir"
TAG_RUN = "emocompress.run"
TAG_VARIANT = "emocompress.variant"
TAG_PARENTS = "emocompress.parents"
TAG_PARENT_RUN_IDS = "emocompress.parent_run_ids"


def mlflow_module() -> Any:
    return require("mlflow", "tracking.mlflow", "pip install 'emocompress[tracking]'")


def sqlite_artifact_root(tracking_uri: str) -> str | None:
    """``file://`` folder beside a SQLite store; None for other stores (their own default)."""
    prefix = "sqlite:///"
    if not tracking_uri.startswith(prefix):
        return None
    database = Path(tracking_uri[len(prefix) :]).resolve()
    return (database.parent / "mlflow-artifacts").as_uri()


def use_experiment(mlflow: Any, tracking_uri: str, experiment: str) -> str:
    """Point MLflow at the store and experiment (created when missing); its id."""
    if tracking_uri.startswith("sqlite:///"):
        Path(tracking_uri[len("sqlite:///") :]).parent.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(tracking_uri)
    found = mlflow.get_experiment_by_name(experiment)
    if found is not None:
        mlflow.set_experiment(experiment)
        return found.experiment_id
    experiment_id = mlflow.create_experiment(
        experiment, artifact_location=sqlite_artifact_root(tracking_uri)
    )
    mlflow.set_experiment(experiment)
    return experiment_id


def log_variants(spec: Any, run_dir: RunDir, variants: list[TrackedVariant]) -> dict[str, str]:
    """Log each variant as an MLflow run; ``{variant: MLflow run id}``."""
    mlflow = mlflow_module()
    use_experiment(mlflow, spec.tracking_uri, spec.experiment)
    run_ids: dict[str, str] = {}
    for variant in variants:
        with mlflow.start_run(run_name=variant.name) as active:
            mlflow.set_tags(
                {
                    TAG_RUN_DIR: str(run_dir.root.resolve()),
                    TAG_RUN: variant.run_name,
                    TAG_VARIANT: variant.variant.name,
                    TAG_PARENTS: ",".join(variant.parents),
                    TAG_PARENT_RUN_IDS: ",".join(
                        run_ids[p] for p in variant.parents if p in run_ids
                    ),
                }
            )
            mlflow.log_params(variant.params)
            mlflow.log_metrics(variant.figures)
            for name, value, step in variant.curves:
                mlflow.log_metric(name, value, step=step)
            mlflow.log_dict({"rows": variant.per_emotion}, PER_EMOTION_FILE)
            with artifact_folders(variant) as folders:
                for artifact, folder in folders.items():
                    mlflow.log_artifacts(str(folder), artifact_path=artifact)
            run_ids[variant.variant.name] = active.info.run_id
    return run_ids
