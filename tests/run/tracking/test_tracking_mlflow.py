"""MLflow with a real local SQLite store: what it holds equals the run directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from emocompress.artifacts.rundir import RunDir
from emocompress.progress import Reporter
from emocompress.recipe.schema import MlflowSpec, TrackingSpec
from emocompress.run.tracking import log_run
from emocompress.run.tracking.content import metric_figures, per_emotion_rows

mlflow = pytest.importorskip("mlflow")


@pytest.fixture
def logged(mlflow_logged):
    return mlflow_logged


def test_each_variant_is_a_run_whose_metrics_equal_metrics_json(tiny_run, logged):
    uri, ids, _ = logged
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    assert sorted(ids) == ["student-1l", "teacher"]
    for name, run_id in ids.items():
        run = client.get_run(run_id)
        assert run.info.run_name == f"tiny/{name}"
        expected = metric_figures(RunDir(tiny_run).variant(name).load_metrics())
        assert expected["quality.auc.macro"] > 0
        logged_figures = {k: v for k, v in run.data.metrics.items() if k in expected}
        assert logged_figures == pytest.approx(expected, rel=0, abs=0)
        assert set(expected) <= set(run.data.metrics)


def test_params_curves_lineage_and_per_emotion_table(tiny_run, logged):
    uri, ids, _ = logged
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    student = client.get_run(ids["student-1l"])
    assert student.data.params["operation"] == "distil"
    assert student.data.params["settings.init.layers"] == "[0]"
    assert student.data.tags["emocompress.parents"] == "teacher"
    assert student.data.tags["emocompress.parent_run_ids"] == ids["teacher"]
    losses = client.get_metric_history(student.info.run_id, "train_loss")
    history = RunDir(tiny_run).variant("student-1l").load_history()
    assert [p.value for p in losses] == pytest.approx([p.loss for p in history.steps])
    table = Path(client.download_artifacts(student.info.run_id, "per_emotion.json"))
    rows = json.loads(table.read_text())["rows"]
    expected = per_emotion_rows(RunDir(tiny_run).variant("student-1l").load_metrics())
    assert rows == json.loads(json.dumps(expected))
    assert len(rows) == 28


def test_artifacts_live_beside_the_database_and_hold_the_variant(tiny_run, logged):
    uri, ids, store = logged
    client = mlflow.tracking.MlflowClient(tracking_uri=uri)
    names = {a.path for a in client.list_artifacts(ids["teacher"], "variant")}
    assert {"variant/metrics.json", "variant/config.json", "variant/model.safetensors"} <= names
    assert (store / "mlflow-artifacts").is_dir()


def test_a_tracking_failure_is_a_warning_and_the_run_goes_on(tiny_run, tmp_path):
    # a store that cannot be opened: a directory where the database file should be
    (tmp_path / "db").mkdir()
    tracking = TrackingSpec(mlflow=MlflowSpec(tracking_uri=f"sqlite:///{tmp_path / 'db'}"))
    reporter = Reporter("quiet")
    lines: list[str] = []
    reporter.subscribe(lambda event: lines.append(event[1]) if event[0] == "log" else None)
    assert log_run(tracking, RunDir(tiny_run), reporter) == {}
    assert any(line.startswith("warning: tracking to MLflow failed") for line in lines)
