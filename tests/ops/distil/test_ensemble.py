"""Teachers from elsewhere (evaluate with settings.model) and students of an ensemble of them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import build_tiny_classifier, tiny_recipe_head

from emocompress.artifacts.rundir import RunDir
from emocompress.cli import main


@pytest.fixture(scope="module")
def second_teacher(tmp_path_factory) -> Path:
    return build_tiny_classifier(tmp_path_factory.mktemp("seed7") / "model", seed=7)


def _recipe(folder: Path, teacher: Path, second: str, *, extra_settings: str = "") -> Path:
    recipe = folder / "ensemble.yaml"
    recipe.write_text(
        tiny_recipe_head("ensemble", teacher)
        + textwrap.dedent(
            f"""\
            variants:
              - name: teacher-b
                op: evaluate
                settings: {{model: {second}}}
              - name: single
                op: distil
                settings: {{init: {{layers: [0]}}, epochs: 1, batch_size: 16, lr: 1.0e-3}}
              - name: both
                op: distil
                parent: [teacher, teacher-b]
                settings: {{init: {{layers: [0]}}, epochs: 1, batch_size: 16, lr: 1.0e-3{extra_settings}}}
            """
        ),
        encoding="utf-8",
    )
    return recipe


@pytest.mark.integration
def test_a_student_learns_the_mean_of_two_teachers_logits(
    tmp_path, tiny_classifier, second_teacher, capsys
):
    recipe = _recipe(tmp_path, tiny_classifier, str(second_teacher))
    out = tmp_path / "run"
    assert main(["run", str(recipe), "--out", str(out), "--quiet"]) in (0, 1)
    run = RunDir(out)
    lineage = run.variant("both").load_lineage()
    assert lineage.parent == ["teacher", "teacher-b"]
    assert lineage.facts["teachers"] == ["teacher", "teacher-b"]
    assert run.variant("teacher-b").load_lineage().facts["model"] == str(second_teacher)
    # one cache per teacher; the ensemble's targets are their mean, the single student's not
    caches = sorted(run.cache_dir.glob("teacher-logits-*.npy"))
    assert len(caches) == 2
    first, second = (np.load(c) for c in caches)
    assert not np.allclose(first, second)  # two different teachers
    both_history = run.variant("both").load_history()
    single_history = run.variant("single").load_history()
    assert (
        both_history.steps[0].model_dump()["soft"] != single_history.steps[0].model_dump()["soft"]
    )
    assert np.isfinite(run.variant("both").load_metrics().quality.auc.macro)


@pytest.mark.integration
def test_an_ensemble_with_hidden_losses_is_one_line_and_exit_2(
    tmp_path, tiny_classifier, second_teacher, capsys
):
    recipe = _recipe(
        tmp_path, tiny_classifier, str(second_teacher), extra_settings=", hidden_weight: 1.0"
    )
    assert main(["run", str(recipe), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "follow one teacher" in err[0]


def test_a_missing_evaluate_model_fails_at_recipe_load(tmp_path, tiny_classifier, capsys):
    recipe = _recipe(tmp_path, tiny_classifier, str(tmp_path / "nowhere"))
    assert main(["run", str(recipe), "--out", str(tmp_path / "run"), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "variants[0].settings.model: no such file or directory" in err
    assert not (tmp_path / "run").exists()


def test_the_dry_run_plans_an_evaluated_model_and_an_ensemble(
    tmp_path, tiny_classifier, second_teacher, capsys
):
    recipe = _recipe(tmp_path, tiny_classifier, str(second_teacher))
    assert main(["run", str(recipe), "--out", str(tmp_path / "run"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "teacher-b" in out and "both" in out and "The recipe is valid." in out
