"""Model cards: Hub front matter with a model-index equal to metrics.json, and load snippets
that really load the model."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from emocompress.artifacts.rundir import RunDir
from emocompress.artifacts.schema import Metrics
from emocompress.cli import main
from emocompress.data.labels import GOEMOTIONS_LABELS
from emocompress.deploy.model_card import (
    GOEMOTIONS_HUB_ID,
    card_facts,
    card_json_summary,
    dataset_entry,
    model_card,
)
from emocompress.models.ort import OrtClassifier


def _python_blocks(card: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", card, flags=re.S)


def _index_values(card: str) -> dict[str, float]:
    matter = card_json_summary(card)
    (entry,) = matter["model-index"]
    (result,) = entry["results"]
    return {m["name"]: m["value"] for m in result["metrics"]}


def test_bundle_card_model_index_equals_metrics_json(bundle):
    card = (bundle / "README.md").read_text()
    matter = card_json_summary(card)
    assert matter["library_name"] == "onnx" and matter["pipeline_tag"] == "text-classification"
    metrics = card_facts(bundle).metrics
    quality = metrics.quality
    values = _index_values(card)
    assert values["macro AUC"] == pytest.approx(quality.auc.macro, abs=1e-6)
    strategy = quality.selected_strategy
    assert values[f"macro F1 ({strategy} thresholds)"] == pytest.approx(
        quality.selected.macro.f1, abs=1e-6
    )
    dataset = matter["model-index"][0]["results"][0]["dataset"]
    assert dataset["split"] == quality.report_split
    assert f"chosen on `{quality.tune_split}`" in card


def test_bundle_card_onnxruntime_snippet_gives_the_bundles_probabilities(bundle, monkeypatch):
    (snippet,) = _python_blocks((bundle / "README.md").read_text())
    monkeypatch.chdir(bundle)
    scope: dict = {}
    exec(snippet, scope)  # the card's own code, as a user would paste it
    text = "I can't believe how kind you are"
    expected = OrtClassifier(bundle).probs([text])
    np.testing.assert_allclose(scope["probs"], expected, atol=1e-5)


def test_every_variant_of_a_run_gets_a_card_whose_snippet_loads_it(tiny_run, monkeypatch):
    import torch

    teacher = RunDir(tiny_run).variant("teacher")
    for variant in RunDir(tiny_run).variants():
        assert (variant.path / "README.md").is_file()
    card = (teacher.path / "README.md").read_text()
    assert card_json_summary(card)["library_name"] == "transformers"
    (snippet,) = _python_blocks(card)
    scope: dict = {}
    with torch.no_grad():
        exec(snippet.replace("PATH_OR_REPO", str(teacher.path)), scope)
    assert scope["probs"].shape == (1, 28) and torch.isfinite(scope["probs"]).all()


def test_goemotions_runs_name_the_hub_dataset(tiny_run):
    facts = card_facts(RunDir(tiny_run).variant("teacher").path)
    assert dataset_entry(facts)["type"] == "emocompress-demo"
    goemotions = dataclasses.replace(
        facts, labels=list(GOEMOTIONS_LABELS), data_source="../shared/data/goemotions"
    )
    assert dataset_entry(goemotions) == {
        "name": "GoEmotions",
        "type": GOEMOTIONS_HUB_ID,
        "split": facts.metrics.quality.report_split,
    }


def test_limits_name_rare_emotions_with_their_support(tiny_run):
    card = model_card(RunDir(tiny_run).variant("student-1l").path)
    metrics = RunDir(tiny_run).variant("student-1l").load_metrics()
    rare = [
        (label, s.support)
        for label, s in metrics.quality.selected.per_label.items()
        if s.support < 20
    ]
    assert rare, "the demo dev split has few positives per label"
    label, support = rare[0]
    assert f"{label} ({support})" in card


def test_a_users_own_readme_is_never_replaced(bundle, tmp_path, capsys):
    import shutil

    copy = tmp_path / "b"
    shutil.copytree(bundle, copy)
    (copy / "README.md").write_text("my notes\n")
    assert main(["card", str(copy)]) == 2
    assert (copy / "README.md").read_text() == "my notes\n"
    err = capsys.readouterr().err
    # the message named an option the command does not have: "(expected --out)"
    assert "not an emocompress model card" in err and "--out" not in err
    assert "--print" in err
    assert main(["card", str(copy), "--print"]) == 0
    assert "model-index" in capsys.readouterr().out


def test_card_of_a_missing_folder_or_a_file_says_so(bundle, tmp_path, capsys):
    # both were "no metrics.json (expected a measured variant or bundle)"
    assert main(["card", str(tmp_path / "nonexistent")]) == 2
    assert "nonexistent: not a folder" in capsys.readouterr().err
    assert main(["card", str(bundle / "config.json")]) == 2
    assert "config.json: not a folder" in capsys.readouterr().err


def test_push_dry_run_lists_the_files_and_keeps_predictions_back(tiny_run, tmp_path, capsys):
    import shutil

    variant = tmp_path / "student"
    shutil.copytree(RunDir(tiny_run).variant("student-1l").path, variant)
    assert main(["push", str(variant), "me/student", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "README.md" in out and "model.safetensors" in out and "predictions" not in out


@pytest.mark.parametrize(
    "env, message",
    [
        ({"HF_HUB_OFFLINE": "1"}, "HF_HUB_OFFLINE is set: nothing was uploaded"),
        (
            {"HF_ENDPOINT": "http://127.0.0.1:9", "HF_TOKEN": "hf_" + "x" * 34},
            "cannot push to the Hugging Face Hub repo me/student",
        ),
    ],
)
def test_push_offline_is_one_clear_line(bundle, tmp_path, env, message):
    import shutil

    copy = tmp_path / "b"
    shutil.copytree(bundle, copy)
    run_env = {**os.environ, **env}
    run_env.pop("HF_HUB_OFFLINE", None) if "HF_HUB_OFFLINE" not in env else None
    done = subprocess.run(
        [sys.executable, "-m", "emocompress", "push", str(copy), "me/student"],
        capture_output=True,
        text=True,
        env=run_env,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and "Traceback" not in done.stderr


def test_model_index_carries_the_bootstrap_intervals(tiny_run):
    variant = RunDir(tiny_run).variant("student-1l")
    spans = variant.load_metrics().intervals
    assert spans is not None, "a run computes its comparison (and intervals) at the end"
    card = model_card(variant.path)
    (entry,) = card_json_summary(card)["model-index"]
    macro = next(m for m in entry["results"][0]["metrics"] if m["name"] == "macro AUC")
    assert macro["args"]["ci_low"] == pytest.approx(spans.auc_macro.low, abs=1e-6)
    assert macro["args"]["ci_high"] == pytest.approx(spans.auc_macro.high, abs=1e-6)
    assert macro["args"]["ci_low"] <= macro["value"] <= macro["args"]["ci_high"]
    assert f"[{spans.auc_macro.low:.4f}, {spans.auc_macro.high:.4f}] (95% interval)" in card


def test_the_card_rounds_a_figure_once(tiny_run, tmp_path):
    """An interval end just above a half (…55 + 1e-10) reads as the 4-decimal figure of the
    measured value, as in every other table: rounding to 6 decimals first made it …5."""
    import shutil

    copy = tmp_path / "student"
    shutil.copytree(RunDir(tiny_run).variant("student-1l").path, copy)
    metrics_file = copy / "metrics.json"
    metrics = Metrics.read(metrics_file)
    spans = metrics.intervals
    assert spans is not None
    low = 0.4415500001  # 0.4416 to 4 decimals; round(low, 6) = 0.44155, which reads 0.4415
    moved = spans.model_copy(update={"auc_macro": spans.auc_macro.model_copy(update={"low": low})})
    metrics.model_copy(update={"intervals": moved}).write(metrics_file)
    card = model_card(copy)
    assert f"[0.4416, {spans.auc_macro.high:.4f}] (95% interval)" in card


@pytest.mark.parametrize("repo_id", ["bad repo id!!", "me/team/student", "me/x--y"])
def test_push_dry_run_checks_the_repo_id(tiny_run, tmp_path, capsys, repo_id):
    # a dry run said all was well for a repo id the Hub refuses; the real push then failed
    import shutil

    variant = tmp_path / "student"
    shutil.copytree(RunDir(tiny_run).variant("student-1l").path, variant)
    before = (variant / "README.md").read_bytes()
    assert main(["push", str(variant), repo_id, "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert f"{repo_id}: not a Hugging Face Hub repo id" in err and len(err.splitlines()) == 1
    assert (variant / "README.md").read_bytes() == before
