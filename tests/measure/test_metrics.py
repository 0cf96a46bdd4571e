"""Quality metrics, threshold strategies, predictions files and quality tables.

scikit-learn is the reference implementation; small cases are computed by hand.
"""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from rich.console import Console
from sklearn.metrics import f1_score, precision_recall_fscore_support, roc_auc_score

from emocompress.artifacts.predictions import load_predictions, save_predictions
from emocompress.artifacts.schema import Quality
from emocompress.cli.tables import label_extremes_table, per_label_table, quality_table
from emocompress.data.labels import GOEMOTIONS_LABELS
from emocompress.errors import UserError
from emocompress.measure.metrics import (
    STRATEGIES,
    STRATEGY_ORDER,
    THRESHOLD_GRID,
    apply_thresholds,
    auc_scores,
    compute_quality,
    counts_over_grid,
    fit_global,
    fit_per_label,
    fit_top_k,
    prf,
    quality_differences,
    quality_from_files,
)


def make_split(n: int, n_labels: int, seed: int, rate: float = 0.15):
    """Labels and probabilities that are informative but noisy, rounded so ties occur."""
    rng = np.random.default_rng(seed)
    labels = (rng.random((n, n_labels)) < rate).astype(np.uint8)
    noise = rng.normal(0.0, 0.25, size=(n, n_labels))
    probs = np.clip(0.25 + 0.4 * labels + noise, 0, 1).round(2).astype(np.float32)
    return probs, labels


def names(n_labels: int) -> list[str]:
    return [f"label{j}" for j in range(n_labels)]


def render(table) -> str:
    buffer = io.StringIO()
    Console(file=buffer, width=160).print(table)
    return buffer.getvalue()


# ----------------------------------------------------------------------- AUC


def test_auc_matches_sklearn_micro_macro_and_per_label():
    probs, labels = make_split(300, 6, seed=1)
    auc = auc_scores(probs, labels, names(6))
    assert auc["micro"] == pytest.approx(roc_auc_score(labels, probs, average="micro"))
    assert auc["macro"] == pytest.approx(roc_auc_score(labels, probs, average="macro"))
    per_label = roc_auc_score(labels, probs, average=None)
    assert list(auc["per_label"].values()) == pytest.approx(list(per_label))
    assert auc["labels_without_positives"] == []


def test_auc_by_hand_with_tied_scores():
    probs = np.array([[0.9, 0.5], [0.4, 0.5], [0.6, 0.5], [0.1, 0.2]])
    labels = np.array([[1, 0], [1, 1], [0, 1], [0, 0]])
    auc = auc_scores(probs, labels, ["a", "b"])
    # a: 3 of 4 (positive, negative) pairs ordered correctly
    # b: pairs (0.5, 0.5) tie twice (counted 1/2 each) and (0.5, 0.2) correct twice: 3/4
    assert auc["per_label"] == pytest.approx({"a": 0.75, "b": 0.75})


def test_label_without_positives_is_null_named_and_left_out_of_macro():
    probs, labels = make_split(200, 4, seed=2)
    labels[:, 2] = 0
    auc = auc_scores(probs, labels, names(4))
    assert auc["per_label"]["label2"] is None
    assert auc["labels_without_positives"] == ["label2"]
    kept = [0, 1, 3]
    assert auc["macro"] == pytest.approx(
        roc_auc_score(labels[:, kept], probs[:, kept], average="macro")
    )
    assert auc["micro"] == pytest.approx(roc_auc_score(labels.ravel(), probs.ravel()))


def test_label_without_negatives_is_null_and_named():
    probs, labels = make_split(50, 3, seed=3)
    labels[:, 0] = 1
    auc = auc_scores(probs, labels, names(3))
    assert auc["per_label"]["label0"] is None
    assert auc["labels_without_negatives"] == ["label0"]
    assert auc["macro"] == pytest.approx(
        np.mean([auc["per_label"]["label1"], auc["per_label"]["label2"]])
    )


def test_auc_is_null_when_no_label_has_a_positive():
    probs, labels = make_split(20, 2, seed=4)
    auc = auc_scores(probs, np.zeros_like(labels), ["a", "b"])
    assert auc["micro"] is None and auc["macro"] is None
    assert auc["labels_without_positives"] == ["a", "b"]


# ------------------------------------------------------- precision / recall / F1


def test_prf_by_hand_four_examples_two_labels():
    labels = np.array([[1, 0], [1, 1], [0, 1], [0, 0]])
    pred = np.array([[1, 0], [0, 1], [1, 1], [0, 1]])
    scores = prf(pred, labels, ["a", "b"])
    # a: tp 1 (row 0), fp 1 (row 2), fn 1 (row 1) -> P = R = F1 = 1/2
    assert scores["per_label"]["a"] == {
        "f1": 0.5, "precision": 0.5, "recall": 0.5, "support": 2, "tp": 1, "fp": 1, "fn": 1,
    }  # fmt: skip
    # b: tp 2, fp 1 (row 3), fn 0 -> P = 2/3, R = 1, F1 = 2*2 / (2*2 + 1) = 0.8
    b = scores["per_label"]["b"]
    assert (b["tp"], b["fp"], b["fn"], b["support"]) == (2, 1, 0, 2)
    assert b["precision"] == pytest.approx(2 / 3) and b["recall"] == 1.0
    assert b["f1"] == pytest.approx(0.8)
    # micro pools tp 3, fp 2, fn 1 -> P 0.6, R 0.75, F1 6 / 9
    assert scores["micro"] == pytest.approx({"f1": 2 / 3, "precision": 0.6, "recall": 0.75})
    # macro averages the labels
    assert scores["macro"] == pytest.approx(
        {"f1": 0.65, "precision": (0.5 + 2 / 3) / 2, "recall": 0.75}
    )


@pytest.mark.parametrize("average", ["micro", "macro"])
def test_prf_matches_sklearn_with_zero_division_zero(average):
    probs, labels = make_split(250, 7, seed=5)
    labels[:, 3] = 0  # no positives: its precision, recall and F1 are 0 and count in macro
    pred = apply_thresholds(probs, {"params": {"threshold": 0.5}})
    pred[:, 5] = 0  # never predicted: precision 0/0 -> 0
    precision, recall, f1, _ = precision_recall_fscore_support(
        labels, pred, average=average, zero_division=0
    )
    scores = prf(pred, labels, names(7))[average]
    assert scores == pytest.approx({"f1": f1, "precision": precision, "recall": recall})


def test_prf_per_label_matches_sklearn():
    probs, labels = make_split(250, 5, seed=6)
    pred = (probs >= 0.4).astype(np.uint8)
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, pred, average=None, zero_division=0
    )
    per_label = prf(pred, labels, names(5))["per_label"]
    assert [s["precision"] for s in per_label.values()] == pytest.approx(list(precision))
    assert [s["recall"] for s in per_label.values()] == pytest.approx(list(recall))
    assert [s["f1"] for s in per_label.values()] == pytest.approx(list(f1))
    assert [s["support"] for s in per_label.values()] == list(support)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 30).flatmap(
        lambda n: st.tuples(
            arrays(np.uint8, (n, 4), elements=st.integers(0, 1)),
            arrays(np.uint8, (n, 4), elements=st.integers(0, 1)),
        )
    )
)
def test_property_f1_bounded_and_equal_to_sklearn(matrices):
    pred, labels = matrices
    scores = prf(pred, labels, names(4))
    values = [scores[avg][m] for avg in ("micro", "macro") for m in ("f1", "precision", "recall")]
    values += [s[m] for s in scores["per_label"].values() for m in ("f1", "precision", "recall")]
    assert all(0.0 <= v <= 1.0 for v in values)
    for average in ("micro", "macro"):
        expected = f1_score(labels, pred, average=average, zero_division=0)
        assert scores[average]["f1"] == pytest.approx(expected)


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float32, (12, 3), elements=st.floats(0, 1, width=32)),
    arrays(np.uint8, (12, 3), elements=st.integers(0, 1)),
)
def test_property_auc_bounded_and_equal_to_sklearn(probs, labels):
    auc = auc_scores(probs, labels, names(3))
    for j, value in enumerate(auc["per_label"].values()):
        if value is None:
            assert labels[:, j].min() == labels[:, j].max()
        else:
            assert 0.0 <= value <= 1.0
            assert value == pytest.approx(roc_auc_score(labels[:, j], probs[:, j]))


# ---------------------------------------------------------- threshold strategies


def brute_force_f1(probs, labels, j, threshold):
    pred = probs[:, j] >= np.float32(threshold)
    return f1_score(labels[:, j], pred, zero_division=0)


def test_counts_over_grid_match_direct_comparison():
    probs, labels = make_split(120, 3, seed=7)
    tp, fp, fn = counts_over_grid(probs, labels)
    for g in (0, 24, 49, 73, 98):
        pred = probs >= np.float32(THRESHOLD_GRID[g])
        assert list(tp[g]) == list((pred & (labels == 1)).sum(axis=0))
        assert list(fp[g]) == list((pred & (labels == 0)).sum(axis=0))
        assert list(fn[g]) == list((~pred & (labels == 1)).sum(axis=0))


def test_per_label_thresholds_maximise_tune_f1_brute_force():
    probs, labels = make_split(60, 4, seed=8, rate=0.3)
    thresholds = fit_per_label(probs, labels, names(4))["thresholds"]
    for j, name in enumerate(names(4)):
        f1s = [brute_force_f1(probs, labels, j, t) for t in THRESHOLD_GRID]
        best = max(f1s)
        assert brute_force_f1(probs, labels, j, thresholds[name]) == pytest.approx(best)
        # lowest threshold among the ties
        assert thresholds[name] == THRESHOLD_GRID[f1s.index(best)]


def test_global_threshold_maximises_tune_macro_f1_brute_force():
    probs, labels = make_split(80, 3, seed=9, rate=0.3)
    chosen = fit_global(probs, labels, names(3))["threshold"]

    def macro(t):
        return f1_score(labels, probs >= np.float32(t), average="macro", zero_division=0)

    best = max(macro(t) for t in THRESHOLD_GRID)
    assert macro(chosen) == pytest.approx(best)


def test_per_label_falls_back_to_global_for_label_without_tune_positives():
    probs, labels = make_split(100, 3, seed=10)
    labels[:, 1] = 0
    thresholds = fit_per_label(probs, labels, names(3))["thresholds"]
    assert thresholds["label1"] == fit_global(probs, labels, names(3))["threshold"]


def test_thresholds_are_chosen_on_tune_not_on_report():
    # tune: positives score 0.3, negatives 0.1 -> best thresholds lie in (0.1, 0.3]
    # report: positives 0.8, negatives 0.5  -> best thresholds lie in (0.5, 0.8]
    truth = np.array([[1], [1], [0], [0]], dtype=np.uint8)
    tune = np.array([[0.3], [0.3], [0.1], [0.1]], dtype=np.float32)
    report = np.array([[0.8], [0.8], [0.5], [0.5]], dtype=np.float32)
    quality = compute_quality(tune, truth, report, truth, ["x"])

    assert fit_global(report, truth, ["x"])["threshold"] == 0.51  # what report would pick
    assert quality["strategies"]["global"]["params"] == {"threshold": 0.11}
    assert quality["strategies"]["per_label"]["params"] == {"thresholds": {"x": 0.11}}
    # applied to report, the tune threshold also fires on the negatives at 0.5
    assert quality["strategies"]["global"]["per_label"]["x"]["fp"] == 2
    assert quality["strategies"]["global"]["macro"]["precision"] == 0.5
    assert quality["strategies"]["global"]["tune_macro_f1"] == 1.0
    assert (quality["tune_split"], quality["report_split"]) == ("tune", "dev")


def test_top_k_predicts_exactly_k_labels_per_example():
    probs, _ = make_split(40, 6, seed=11)
    probs[0] = 0.01  # all low and tied: k = 1 still predicts one label
    for k in (1, 2, 3):
        pred = apply_thresholds(probs, {"params": {"k": k}})
        assert (pred.sum(axis=1) == k).all()
        top = np.sort(probs, axis=1)[:, -k]  # k-th highest score per example
        assert (probs[pred == 1] >= np.repeat(top, k)).all()


def test_top_k_chooses_k_by_tune_macro_f1():
    rng = np.random.default_rng(12)
    labels = np.zeros((50, 5), dtype=np.uint8)
    for row in labels:
        row[rng.choice(5, size=2, replace=False)] = 1  # every example has two labels
    probs = np.where(labels == 1, 0.6, 0.2).astype(np.float32) + rng.random((50, 5)) * 0.1
    assert fit_top_k(probs, labels, names(5)) == {"k": 2}
    macro = {
        k: f1_score(labels, apply_thresholds(probs, {"k": k}), average="macro") for k in (1, 2, 3)
    }
    assert max(macro, key=macro.get) == 2 and macro[2] == 1.0


def test_apply_thresholds_reproduces_every_strategy_from_metrics_json():
    tune_probs, tune_labels = make_split(200, 5, seed=13)
    report_probs, report_labels = make_split(150, 5, seed=14)
    quality = compute_quality(tune_probs, tune_labels, report_probs, report_labels, names(5))
    entries = json.loads(json.dumps(quality))["strategies"]
    for name, entry in entries.items():
        pred = apply_thresholds(report_probs, entry, names(5))
        assert prf(pred, report_labels, names(5))["macro"] == entry["macro"], name
        assert apply_thresholds(report_probs, entry).tolist() == pred.tolist()  # dict order


def test_selected_strategy_is_best_on_tune_and_ties_go_to_the_simplest():
    tune_probs, tune_labels = make_split(300, 5, seed=15)
    report_probs, report_labels = make_split(300, 5, seed=16)
    quality = compute_quality(tune_probs, tune_labels, report_probs, report_labels, names(5))
    tune_f1 = {name: s["tune_macro_f1"] for name, s in quality["strategies"].items()}
    assert tune_f1[quality["selected_strategy"]] == max(tune_f1.values())
    assert quality["selected_because"] == "highest macro F1 on the tune split"

    # perfectly separated, one label per example: every strategy scores 1.0 on tune
    labels = np.eye(4, dtype=np.uint8)[np.arange(20) % 4]
    probs = np.where(labels == 1, 0.9, 0.1).astype(np.float32)
    tied = compute_quality(probs, labels, probs, labels, names(4))
    assert {s["tune_macro_f1"] for s in tied["strategies"].values()} == {1.0}
    assert tied["selected_strategy"] == STRATEGY_ORDER[0] == "fixed"


# ------------------------------------------------------------- the quality section


def test_compute_quality_has_the_schema_and_is_json_serialisable():
    tune_probs, tune_labels = make_split(200, 28, seed=17, rate=0.05)
    report_probs, report_labels = make_split(180, 28, seed=18, rate=0.05)
    report_labels[:, 16] = 0  # "grief" without positives in the report split
    quality = compute_quality(
        tune_probs, tune_labels, report_probs, report_labels, GOEMOTIONS_LABELS
    )
    assert json.loads(json.dumps(quality, allow_nan=False)) == quality
    assert set(quality) == {
        "tune_split", "report_split", "n_tune", "n_report", "auc", "strategies",
        "selected_strategy", "selected_because",
    }  # fmt: skip
    assert (quality["n_tune"], quality["n_report"]) == (200, 180)
    assert quality["auc"]["labels_without_positives"] == ["grief"]
    assert set(quality["strategies"]) == set(STRATEGIES.names())
    for entry in quality["strategies"].values():
        assert set(entry) == {"params", "micro", "macro", "per_label", "tune_macro_f1"}
        assert list(entry["per_label"]) == list(GOEMOTIONS_LABELS)
        assert set(entry["per_label"]["grief"]) == {
            "f1", "precision", "recall", "support", "threshold", "tp", "fp", "fn",
        }  # fmt: skip
    assert quality["strategies"]["top_k"]["per_label"]["joy"]["threshold"] is None
    per_label = quality["strategies"]["per_label"]
    assert per_label["per_label"]["joy"]["threshold"] == per_label["params"]["thresholds"]["joy"]


def test_quality_is_recomputable_from_saved_predictions(tmp_path):
    tune_probs, tune_labels = make_split(150, 6, seed=19)
    report_probs, report_labels = make_split(120, 6, seed=20)
    # float64 in memory, float32 on disk: the metrics compare in float32 either way
    tune_probs = tune_probs.astype(np.float64) * (1 - 1e-12)
    quality = compute_quality(
        tune_probs, tune_labels, report_probs, report_labels, names(6), report_split="dev"
    )
    save_predictions(tmp_path / "tune.npz", tune_probs, tune_labels, names(6))
    save_predictions(tmp_path / "dev.npz", report_probs, report_labels, names(6))
    recorded = json.loads(json.dumps(quality))
    recomputed = quality_from_files(tmp_path / "tune.npz", tmp_path / "dev.npz")
    assert quality_differences(recorded, recomputed) == []

    recorded["strategies"]["global"]["macro"]["f1"] += 0.01
    recorded["selected_strategy"] = "other"
    assert quality_differences(recorded, recomputed) == [
        f"quality.strategies.global.macro.f1: {recorded['strategies']['global']['macro']['f1']}"
        f" != {recomputed['strategies']['global']['macro']['f1']}",
        f"quality.selected_strategy: 'other' != {recomputed['selected_strategy']!r}",
    ]


def test_quality_from_files_rejects_different_label_sets(tmp_path):
    probs, labels = make_split(10, 2, seed=21)
    save_predictions(tmp_path / "tune.npz", probs, labels, ["a", "b"])
    save_predictions(tmp_path / "dev.npz", probs, labels, ["a", "c"])
    with pytest.raises(UserError, match="label names differ"):
        quality_from_files(tmp_path / "tune.npz", tmp_path / "dev.npz")


def test_compute_quality_rejects_logits_and_mismatched_shapes():
    probs, labels = make_split(10, 3, seed=22)
    with pytest.raises(UserError, match=r"\[0, 1\]"):
        compute_quality(probs * 5 - 2, labels, probs, labels, names(3))
    with pytest.raises(UserError, match="differ in shape"):
        compute_quality(probs, labels[:, :2], probs, labels, names(3))
    with pytest.raises(UserError, match="label names"):
        compute_quality(probs, labels, probs, labels, names(2))


def test_compute_quality_is_fast_on_goemotions_sized_splits():
    tune_probs, tune_labels = make_split(4341, 28, seed=23, rate=0.05)
    report_probs, report_labels = make_split(5426, 28, seed=24, rate=0.05)
    start = time.perf_counter()
    compute_quality(tune_probs, tune_labels, report_probs, report_labels, GOEMOTIONS_LABELS)
    assert time.perf_counter() - start < 1.0


# ---------------------------------------------------------------- predictions files


def test_predictions_round_trip(tmp_path):
    probs, labels = make_split(30, 4, seed=25)
    path = save_predictions(tmp_path / "predictions" / "dev.npz", probs.astype(np.float64),
                            labels.astype(bool), names(4))  # fmt: skip
    loaded = load_predictions(path)
    assert loaded.probs.dtype == np.float32 and loaded.labels.dtype == np.uint8
    np.testing.assert_array_equal(loaded.probs, probs)
    np.testing.assert_array_equal(loaded.labels, labels)
    assert loaded.label_names == tuple(names(4))
    assert [p.name for p in path.parent.iterdir()] == ["dev.npz"]  # no temporary left over
    with np.load(path, allow_pickle=False) as raw:
        assert raw["label_names"].dtype.kind == "U"


def test_load_predictions_errors_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_predictions(tmp_path / "missing.npz")

    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"PK\x03\x04 not really a zip file")
    with pytest.raises(UserError, match="cannot read predictions"):
        load_predictions(corrupt)

    probs, labels = make_split(5, 3, seed=26)
    np.savez(tmp_path / "partial.npz", probs=probs, labels=labels)
    with pytest.raises(UserError, match="missing array.*label_names"):
        load_predictions(tmp_path / "partial.npz")

    np.savez(tmp_path / "shape.npz", probs=probs, labels=labels[:4], label_names=np.array(names(3)))
    with pytest.raises(UserError, match="differ in shape"):
        load_predictions(tmp_path / "shape.npz")

    pickled = np.array([{"a": 1}], dtype=object)
    np.savez(tmp_path / "pickled.npz", probs=probs, labels=labels, label_names=pickled)
    with pytest.raises(UserError, match="cannot read predictions"):
        load_predictions(tmp_path / "pickled.npz")


def test_save_predictions_refuses_bad_arrays_and_leaves_nothing(tmp_path):
    probs, labels = make_split(5, 3, seed=27)
    with pytest.raises(UserError, match="3 label columns but 2 label names"):
        save_predictions(tmp_path / "dev.npz", probs, labels, ["a", "b"])
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------------------------- tables


def test_tables_name_the_splits_strategies_and_extreme_labels():
    tune_probs, tune_labels = make_split(300, 12, seed=28)
    report_probs, report_labels = make_split(200, 12, seed=29)
    quality = Quality.model_validate(
        compute_quality(tune_probs, tune_labels, report_probs, report_labels, names(12))
    )
    text = render(quality_table(quality))
    assert "Quality on dev (n=200)" in text and "chosen on tune (n=300)" in text
    for name in STRATEGY_ORDER:
        assert name in text
    assert f"{quality.selected_strategy} *" in text

    per_label = quality.selected.per_label
    ranked = sorted(per_label, key=lambda name: (-(per_label[name].f1 or 0.0), name))
    extremes = render(label_extremes_table(quality, n=3))
    shown = [name for name in names(12) if f" {name} " in extremes]
    assert sorted(shown) == sorted(ranked[:3] + ranked[-3:])
    assert "top 3" in extremes and "bottom 3" in extremes

    full = render(per_label_table(quality, strategy="top_k"))
    assert all(f" {name} " in full for name in names(12)) and "n/a" in full

    with pytest.raises(
        UserError,
        match="strategy 'best'.*fixed, global, per_label, top_k, per_label_shrunk, per_label_cv",
    ):
        per_label_table(quality, strategy="best")


def test_strategy_registry_lists_every_strategy_and_refuses_unknown_names():
    every = ["fixed", "global", "per_label", "top_k", "per_label_shrunk", "per_label_cv"]
    assert STRATEGIES.names() == every
    # fewest parameters first; of the per-label ones, the most constrained first
    assert STRATEGY_ORDER == (
        "fixed",
        "global",
        "top_k",
        "per_label_shrunk",
        "per_label_cv",
        "per_label",
    )
    with pytest.raises(UserError, match="unknown threshold strategy 'best'") as error:
        STRATEGIES.lookup("best")
    assert ", ".join(every) in str(error.value)
    # the recipe's evaluation.strategies accepts exactly the registered names
    from typing import get_args

    from emocompress.recipe.schema import EvaluationSpec

    listed = get_args(get_args(EvaluationSpec.model_fields["strategies"].annotation)[0])
    assert sorted(listed) == sorted(every)


def _rare_and_frequent(seed: int):
    """Label 0 frequent (600 tune positives, scored about 0.7), label 1 rare (5, scored about
    0.35, so that its own best threshold is far below the global one)."""
    rng = np.random.default_rng(seed)
    n = 2000
    labels = np.zeros((n, 2), dtype=np.uint8)
    labels[rng.choice(n, 600, replace=False), 0] = 1
    labels[rng.choice(n, 5, replace=False), 1] = 1
    base = np.array([0.2, 0.05]) + np.array([0.5, 0.3]) * labels
    probs = np.clip(base + rng.normal(0, [0.15, 0.05], size=(n, 2)), 0, 1)
    return probs.round(3).astype(np.float32), labels


def test_shrunk_thresholds_pull_a_rare_label_toward_the_global_one():
    from emocompress.measure.metrics import SHRINK_PRIOR, fit_per_label_shrunk

    probs, labels = _rare_and_frequent(seed=3)
    label_names = names(2)
    own = fit_per_label(probs, labels, label_names)["thresholds"]
    overall = fit_global(probs, labels, label_names)["threshold"]
    shrunk = fit_per_label_shrunk(probs, labels, label_names)
    assert shrunk["shrink_prior"] == SHRINK_PRIOR
    rare, frequent = shrunk["thresholds"]["label1"], shrunk["thresholds"]["label0"]
    assert abs(own["label1"] - overall) > 0.05  # the rare label's own choice is far off
    # 5 positives: w = 5 / 55, so the rare label sits within a tenth of the way from global
    expected = 5 / 55 * own["label1"] + 50 / 55 * overall
    assert rare == pytest.approx(expected, abs=0.005 + 1e-9)
    assert abs(rare - overall) < abs(own["label1"] - overall) / 5
    # 600 positives: w = 600 / 650, the frequent label stays near its own threshold
    assert abs(frequent - own["label0"]) <= abs(own["label0"] - overall) * 0.1 + 0.005 + 1e-9
    # every threshold is a grid threshold
    assert all(t in set(THRESHOLD_GRID.tolist()) for t in shrunk["thresholds"].values())
    # k = 0 is per_label itself; a huge k is global for every label
    assert fit_per_label_shrunk(probs, labels, label_names, prior=0)["thresholds"] == own
    assert set(
        fit_per_label_shrunk(probs, labels, label_names, prior=10**9)["thresholds"].values()
    ) == {overall}


def test_cv_thresholds_are_the_mean_of_fold_fits_and_reproducible():
    from emocompress.measure.metrics import CV_FOLDS, CV_SEED, fit_per_label_cv

    probs, labels = _rare_and_frequent(seed=4)
    label_names = names(2)
    cv = fit_per_label_cv(probs, labels, label_names)
    assert cv["folds"] == CV_FOLDS
    assert cv == fit_per_label_cv(probs, labels, label_names)  # a fixed fold assignment
    fold_of = np.random.default_rng(CV_SEED).permutation(len(probs)) % CV_FOLDS
    fits = [
        fit_per_label(probs[fold_of != f], labels[fold_of != f], label_names)["thresholds"]
        for f in range(CV_FOLDS)
    ]
    for name in label_names:
        mean = np.mean([fit[name] for fit in fits])
        assert cv["thresholds"][name] == pytest.approx(mean, abs=0.005 + 1e-9)
    # one row: nothing to fold, per_label's thresholds
    one = fit_per_label_cv(probs[:1], labels[:1], label_names)
    assert one["folds"] == 1
    assert one["thresholds"] == fit_per_label(probs[:1], labels[:1], label_names)["thresholds"]


def test_new_strategies_are_measured_selected_and_recomputed_from_files(tmp_path):
    probs, labels = _rare_and_frequent(seed=5)
    report_probs, report_labels = _rare_and_frequent(seed=6)
    label_names = names(2)
    quality = compute_quality(probs, labels, report_probs, report_labels, label_names)
    for name in ("per_label_shrunk", "per_label_cv"):
        entry = quality["strategies"][name]
        figures = [entry["macro"]["f1"], entry["micro"]["f1"], entry["tune_macro_f1"]]
        assert all(np.isfinite(figures)) and all(0 <= f <= 1 for f in figures)
        predicted = apply_thresholds(report_probs, entry, label_names)
        assert entry["macro"]["f1"] == pytest.approx(
            f1_score(report_labels, predicted, average="macro", zero_division=0)
        )
    Quality.model_validate(quality)  # the metrics.json schema takes them
    # per_label fits each label on the tune split: in sample it is never beaten
    tune_f1 = {n: e["tune_macro_f1"] for n, e in quality["strategies"].items()}
    assert tune_f1["per_label"] >= max(tune_f1["per_label_shrunk"], tune_f1["per_label_cv"])
    # on equal tune F1 the shrunk thresholds win the tie against per_label (rank order)
    tied = compute_quality(
        np.tile(probs[:, :1], 1), labels[:, :1], report_probs[:, :1], report_labels[:, :1], ["a"]
    )
    best = max(e["tune_macro_f1"] for e in tied["strategies"].values())
    winners = [n for n in STRATEGY_ORDER if tied["strategies"][n]["tune_macro_f1"] == best]
    assert tied["selected_strategy"] == winners[0]
    # recomputed from predictions files, the figures agree
    save_predictions(tmp_path / "tune.npz", probs, labels, label_names)
    save_predictions(tmp_path / "dev.npz", report_probs, report_labels, label_names)
    recomputed = quality_from_files(tmp_path / "tune.npz", tmp_path / "dev.npz")
    assert quality_differences(quality, recomputed) == []


def test_threshold_support_counts_tune_positives_and_names_the_fallbacks():
    from emocompress.measure.metrics import threshold_support

    labels = np.zeros((60, 3), dtype=np.uint8)
    labels[:30, 0] = 1  # joy: 30 positives
    labels[:4, 1] = 1  # grief: 4 positives, ranked high
    # relief: 2 positives that score lowest: no grid threshold gives F1 above 0
    labels[58:, 2] = 1
    probs = np.full((60, 3), 0.3, dtype=np.float32)
    probs[:30, 0] = 0.9
    probs[:4, 1] = 0.8
    probs[58:, 2] = 0.0
    found = threshold_support(probs, labels, ["joy", "grief", "relief"], min_positives=5)
    assert found["positives"] == {"joy": 30, "grief": 4, "relief": 2}
    assert found["fallback"] == ["relief"]
    few, fallback = found["warnings"]
    assert "2 of 3 thresholds rest on fewer than 5 positives" in few
    assert few.endswith("relief (2), grief (4)")
    assert "relief could not be tuned" in fallback and "global threshold" in fallback
    assert (
        threshold_support(probs[:, :1], labels[:, :1], ["joy"], min_positives=5)["warnings"] == []
    )


def test_compute_quality_measures_and_selects_among_the_strategies_given():
    rng = np.random.default_rng(3)
    labels = (rng.random((300, 4)) < 0.2).astype(np.uint8)
    probs = np.clip(labels * 0.4 + rng.random((300, 4)) * 0.6, 0, 1).astype(np.float32)
    every = compute_quality(probs, labels, probs, labels, names(4))
    some = compute_quality(
        probs, labels, probs, labels, names(4), strategies=["global", "per_label_cv", "global"]
    )
    assert list(some["strategies"]) == ["global", "per_label_cv"]
    tune_f1 = {
        name: every["strategies"][name]["tune_macro_f1"] for name in ("global", "per_label_cv")
    }
    assert some["selected_strategy"] == max(tune_f1, key=tune_f1.__getitem__)
    for name in ("global", "per_label_cv"):
        assert some["strategies"][name] == every["strategies"][name]
    with pytest.raises(UserError, match="unknown threshold strategy 'best'"):
        compute_quality(probs, labels, probs, labels, names(4), strategies=["best"])
