"""The tiny run logged once to a local MLflow store and once to offline W&B."""

from __future__ import annotations

import pytest

from emocompress.artifacts.rundir import RunDir
from emocompress.progress import Reporter
from emocompress.recipe.schema import MlflowSpec, TrackingSpec, WandbSpec
from emocompress.run.tracking import log_run


@pytest.fixture(scope="session")
def mlflow_logged(tiny_run, tmp_path_factory):
    """(tracking URI, {variant: MLflow run id}, store folder)."""
    pytest.importorskip("mlflow")
    store = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{store / 'mlflow.db'}"
    tracking = TrackingSpec(mlflow=MlflowSpec(tracking_uri=uri, experiment="tiny"))
    ids = log_run(tracking, RunDir(tiny_run), Reporter("quiet"))["MLflow"]
    return uri, ids, store


@pytest.fixture(scope="session")
def wandb_logged(tiny_run, tmp_path_factory):
    """(offline W&B folder, {variant: W&B run id})."""
    pytest.importorskip("wandb")
    root = tmp_path_factory.mktemp("wandb")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WANDB_DATA_DIR", str(root / "data"))  # staged artifact copies
        env.setenv("WANDB_CACHE_DIR", str(root / "cache"))
        env.setenv("WANDB_SILENT", "true")
        tracking = TrackingSpec(wandb=WandbSpec(project="tiny", mode="offline", dir=str(root)))
        ids = log_run(tracking, RunDir(tiny_run), Reporter("quiet"))["W&B"]
    return root, ids
