"""`emocompress pull`: a logged variant back by run id, evaluated to the same metrics."""

from __future__ import annotations

import pytest

from emocompress.artifacts.rundir import RunDir
from emocompress.cli import main
from emocompress.measure.evaluation import evaluate_variant
from emocompress.progress import Reporter
from emocompress.recipe.loading import load_recipe
from emocompress.run.runner import data_context
from emocompress.run.tracking.content import metric_figures


def _same_quality(pulled, original) -> None:
    """Every quality figure (AUCs, each strategy's micro and macro scores) within 1e-6."""
    got, expected = metric_figures(pulled), metric_figures(original)
    keys = [key for key in expected if key.startswith("quality.")]
    assert len(keys) > 20
    assert {k: got[k] for k in keys} == pytest.approx({k: expected[k] for k in keys}, abs=1e-6)


def _reevaluated(tiny_run, variant):
    """The pulled variant measured again on the run's own data settings."""
    data = data_context(load_recipe(RunDir(tiny_run).recipe_file))
    return evaluate_variant(variant.path, data, name=variant.name, reporter=Reporter("quiet"))


def test_pull_from_mlflow_and_evaluate_to_the_same_metrics(tiny_run, mlflow_logged, tmp_path):
    uri, ids, _ = mlflow_logged
    out = tmp_path / "pulled"
    code = main(["pull", f"mlflow:{ids['student-1l']}", "--tracking-uri", uri, "--out", str(out)])
    assert code == 0
    pulled = RunDir(out).variant("student-1l")
    original = RunDir(tiny_run).variant("student-1l")
    assert (pulled.path / "model.safetensors").read_bytes() == (
        original.path / "model.safetensors"
    ).read_bytes()
    _same_quality(_reevaluated(tiny_run, pulled), original.load_metrics())


def test_pull_from_offline_wandb(tiny_run, wandb_logged, tmp_path):
    root, ids = wandb_logged
    out = tmp_path / "pulled"
    code = main(["pull", f"wandb:{ids['teacher']}", "--wandb-dir", str(root), "--out", str(out)])
    assert code == 0
    pulled = RunDir(out).variant("teacher")
    _same_quality(pulled.load_metrics(), RunDir(tiny_run).variant("teacher").load_metrics())
    _same_quality(_reevaluated(tiny_run, pulled), pulled.load_metrics())


@pytest.mark.parametrize(
    "argv, message",
    [
        (["pull", "dvc:abc"], "cannot read tracker source"),
        (["pull", "wandb:abc"], "names no project"),
        (
            ["pull", "mlflow:abc", "--tracking-uri", "sqlite:////nonexistent/x.db"],
            "no MLflow store",
        ),
    ],
)
def test_bad_sources_are_one_line_and_exit_2(argv, message, tmp_path, capsys):
    assert main([*argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    # a failed pull into a new --out left that folder behind, holding run.lock alone
    assert not (tmp_path / "o").exists()
    # and an existing run directory (its lock file marks it one) is left as it was
    run = tmp_path / "run"
    (run / "variants" / "teacher").mkdir(parents=True)
    (run / "run.lock").touch()
    assert main([*argv, "--out", str(run)]) == 2
    assert sorted(p.name for p in run.rglob("*")) == ["run.lock", "teacher", "variants"]


def test_an_existing_variant_is_not_replaced(tiny_run, mlflow_logged, tmp_path, capsys):
    uri, ids, _ = mlflow_logged
    target = tmp_path / "pulled" / "variants" / "teacher"
    target.mkdir(parents=True)
    (target / "notes.txt").write_text("mine")
    argv = [
        "pull",
        f"mlflow:{ids['teacher']}",
        "--tracking-uri",
        uri,
        "--out",
        str(tmp_path / "pulled"),
    ]
    assert main(argv) == 2
    assert (target / "notes.txt").read_text() == "mine"
    assert "--overwrite" in capsys.readouterr().err


def test_wandb_online_without_network_is_a_clear_error(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    assert main(["pull", "wandb:me/proj/abc123", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "cannot fetch W&B run me/proj/abc123" in err and "Traceback" not in err


def test_a_folder_that_is_not_a_run_directory_is_refused(mlflow_logged, tmp_path, capsys):
    uri, ids, _ = mlflow_logged
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "todo.txt").write_text("mine")
    argv = ["pull", f"mlflow:{ids['teacher']}", "--tracking-uri", uri, "--out", str(foreign)]
    assert main(argv) == 2
    assert sorted(p.name for p in foreign.iterdir()) == ["todo.txt"]  # no lock, no variant
    assert "not empty" in capsys.readouterr().err
