"""W&B in offline mode, against the real wandb package: the offline run files read back
hold the same figures, curves, tables and files as the run directory."""

from __future__ import annotations

import pytest

from emocompress.artifacts.rundir import RunDir
from emocompress.run.tracking.content import metric_figures
from emocompress.run.tracking.wandb_offline import find_offline_run, read_offline_run

pytest.importorskip("wandb")


@pytest.fixture(scope="module")
def offline(wandb_logged):
    root, ids = wandb_logged
    runs = {name: read_offline_run(find_offline_run(root, run_id)) for name, run_id in ids.items()}
    return root, ids, runs


def test_summary_equals_metrics_json(tiny_run, offline):
    _, ids, runs = offline
    assert sorted(ids) == ["student-1l", "teacher"]
    for name, run in runs.items():
        expected = metric_figures(RunDir(tiny_run).variant(name).load_metrics())
        assert {key: run.summary[key] for key in expected} == expected
        assert run.name == f"tiny/{name}" and run.group == "tiny"


def test_config_curves_and_per_emotion_table(tiny_run, offline):
    _, _, runs = offline
    student = runs["student-1l"]
    assert student.config["operation"] == "distil"
    assert student.config["parents"] == ["teacher"]
    history = RunDir(tiny_run).variant("student-1l").load_history()
    logged_losses = [row["train_loss"] for row in student.history if "train_loss" in row]
    assert logged_losses == pytest.approx([p.loss for p in history.steps])
    assert student.summary["per_emotion"]["nrows"] == 28


def test_artifacts_carry_the_files_and_the_lineage(tiny_run, offline):
    _, _, runs = offline
    teacher = runs["teacher"].artifact("model")
    student = runs["student-1l"].artifact("model")
    assert teacher.name == "tiny-teacher" and teacher.metadata["parents"] == []
    assert student.metadata["parents"] == ["teacher"]
    assert student.metadata["parent_artifacts"] == ["tiny-teacher"]
    paths = {entry.path for entry in student.files}
    assert {"variant/metrics.json", "variant/model.safetensors"} <= paths
    weights = next(e for e in student.files if e.path == "variant/model.safetensors")
    source = RunDir(tiny_run).variant("student-1l").path / "model.safetensors"
    assert weights.staged.read_bytes() == source.read_bytes()
