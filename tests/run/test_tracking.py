"""MLflow tracking with an offline SQLite store: the same figures as the run directory."""

from __future__ import annotations

import pytest

from emocompress.artifacts.rundir import RunDir
from emocompress.measure.summary import variant_row
from emocompress.progress import Reporter
from emocompress.recipe.schema import MlflowSpec, TrackingSpec
from emocompress.run.tracking import log_run

mlflow = pytest.importorskip("mlflow")


def test_mlflow_sqlite_store_receives_each_variant(tiny_run, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracking = TrackingSpec(mlflow=MlflowSpec(tracking_uri=uri, experiment="tiny"))
    log_run(tracking, RunDir(tiny_run), Reporter("quiet"))

    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("tiny")
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    assert sorted(runs) == ["tiny/student-1l", "tiny/teacher"]
    student = runs["tiny/student-1l"]
    row = variant_row(RunDir(tiny_run).variant("student-1l"))
    assert student.data.metrics["macro_auc"] == pytest.approx(row["macro_auc"])
    assert student.data.params["operation"] == "distil"
    losses = client.get_metric_history(student.info.run_id, "train_loss")
    assert len(losses) >= 1 and all(point.value > 0 for point in losses)
