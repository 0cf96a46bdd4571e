"""comparison.json: paired deltas of a run directory, reuse, older directories, interval gates.

The run directories here are written from synthetic predictions with the real writers
(tests/synthetic_runs.py), so every figure is recomputed by the code under test; tiny_run
(a real recipe run) is checked at the end.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from synthetic_runs import NAMES, make_run

from emocompress.artifacts.predictions import load_predictions, save_predictions
from emocompress.artifacts.rundir import RunDir
from emocompress.artifacts.schema import BootstrapSpec
from emocompress.measure.comparison import ensure_comparison
from emocompress.measure.gates import Gates, evaluate_gates

SPEC = BootstrapSpec(resamples=300, seed=7)


def test_comparison_is_written_once_and_reused(tmp_path):
    run = make_run(tmp_path / "run", {"student": 0.2})
    first = ensure_comparison(run, SPEC)
    assert run.comparison_file.is_file()
    stamp = run.comparison_file.stat().st_mtime_ns
    again = ensure_comparison(run, SPEC)
    assert again == first and run.comparison_file.stat().st_mtime_ns == stamp
    # other settings or other predictions: computed again
    assert (
        ensure_comparison(run, SPEC.model_copy(update={"resamples": 100})).bootstrap.resamples
        == 100
    )
    pair = first.pair("student", "teacher")
    assert pair is not None and pair.roles == ["reference", "parent"]
    report = load_predictions(run.variant("student").predictions_file("dev"))
    save_predictions(
        run.variant("student").predictions_file("dev"),
        report.probs * 0.5,
        report.labels,
        report.label_names,
    )
    changed = ensure_comparison(run, SPEC).pair("student", "teacher")
    assert changed is not None and changed.figures.macro_f1.point != pair.figures.macro_f1.point


def test_a_broken_comparison_file_is_made_again(tmp_path):
    run = make_run(tmp_path / "run", {"student": 0.2})
    run.comparison_file.write_text("{not json")
    assert ensure_comparison(run, SPEC).pair("student", "teacher") is not None
    assert run.load_comparison() is not None


def test_an_older_run_directory_gets_intervals_in_metrics(tmp_path):
    run = make_run(tmp_path / "run", {"student": 0.2})
    assert run.variant("student").load_metrics().intervals is None  # made before intervals
    comparison = ensure_comparison(run, SPEC)
    for name in ("teacher", "student"):
        metrics = run.variant(name).load_metrics()
        assert metrics.intervals == comparison.variants[name]
        assert metrics.intervals.auc_macro.point == pytest.approx(metrics.quality.auc.macro)
        assert metrics.intervals.macro.f1.point == pytest.approx(metrics.quality.selected.macro.f1)
        # and the tune positives its thresholds rest on, from predictions/tune.npz
        assert metrics.threshold_support is not None
        assert sum(metrics.threshold_support.positives.values()) == int(
            load_predictions(run.variant(name).predictions_file("tune")).labels.sum()
        )


def test_other_bootstrap_settings_replace_the_intervals_of_metrics(tmp_path):
    run = make_run(tmp_path / "run", {"student": 0.2})
    ensure_comparison(run, SPEC)
    other = ensure_comparison(run, SPEC.model_copy(update={"resamples": 100}))
    metrics = run.variant("student").load_metrics()
    assert metrics.intervals == other.variants["student"] and metrics.intervals.resamples == 100
    assert metrics.quality is not None  # the rest of metrics.json is as it was


def test_write_false_leaves_the_directory_alone(tmp_path):
    run = make_run(tmp_path / "run", {"student": 0.2})
    ensure_comparison(run, SPEC, write=False)
    assert not run.comparison_file.exists()
    assert run.variant("student").load_metrics().intervals is None


def test_a_copy_of_the_reference_has_no_significant_delta_and_no_flip(tmp_path):
    run = make_run(tmp_path / "run", {})
    shutil.copytree(run.variant("teacher").path, run.variant("copy").path)
    lineage = run.variant("copy").load_lineage()
    run.variant("copy").write_lineage(
        lineage.model_copy(update={"name": "copy", "parent": "teacher"})
    )
    pair = ensure_comparison(run, SPEC).pair("copy", "teacher")
    assert pair is not None
    for figure in pair.figures.model_dump().values():
        assert figure["low"] <= 0 <= figure["high"] and not figure["significant"]
    assert pair.significant_f1_drops == [] and pair.flipped_decisions == 0


def test_a_weak_student_forgets_emotions_significantly_and_lists_its_flips(tmp_path):
    run = make_run(tmp_path / "run", {"weak": 0.0}, n=600)
    pair = ensure_comparison(run, SPEC).pair("weak", "teacher")
    assert pair is not None
    assert pair.figures.macro_auc.significant and pair.figures.macro_auc.high < 0
    assert pair.significant_f1_drops, "a student with no signal of its own loses F1"
    # significant drops first, each with its support and an interval below 0
    first = pair.per_label[: len(pair.significant_f1_drops)]
    assert [row.label for row in first] == pair.significant_f1_drops
    assert all(row.f1.high < 0 and row.support > 0 for row in first)
    assert pair.flipped_examples > 0 and pair.examples
    flips = [len(e.gained) + len(e.lost) for e in pair.examples]
    assert flips == sorted(flips, reverse=True)
    labels = load_predictions(run.variant("weak").predictions_file("dev")).labels
    top = pair.examples[0]
    assert top.gold == [NAMES[j] for j in np.flatnonzero(labels[top.index])]
    assert top.largest_change == pytest.approx(abs(top.probability_after - top.probability_before))


def _drop_gate(run: RunDir, comparison, gates: Gates):
    metrics = run.variant("student").load_metrics()
    reference = run.variant("teacher").load_metrics()
    return evaluate_gates("student", gates, metrics, reference, comparison=comparison)


def test_a_gate_passes_on_the_point_estimate_and_fails_at_the_interval_bound(tmp_path):
    run = make_run(tmp_path / "run", {"student": 0.3}, n=200)
    comparison = ensure_comparison(run, BootstrapSpec(resamples=500, seed=3))
    delta = comparison.pair("student", "teacher").figures.macro_auc
    point_drop, upper = -delta.point, -delta.low
    assert upper > point_drop  # 200 examples: an interval of real width
    bound = point_drop + 0.25 * (upper - point_drop)  # above the point, below the upper bound
    [point_only] = _drop_gate(run, comparison, Gates(max_auc_drop=bound))
    assert point_only.passed and point_only.decided_by is None
    [at_bound] = _drop_gate(run, comparison, Gates(max_auc_drop=bound, confidence=0.95))
    assert not at_bound.passed and at_bound.decided_by == "bound"
    assert at_bound.interval == pytest.approx([-delta.high, -delta.low])
    assert "the point estimate alone passes: the worst-side bound decided" in at_bound.message
    assert "95% interval" in at_bound.message
    # the other way round: a drop beyond the bound only on the point estimate is noise
    lower = -delta.high
    noisy = point_drop - 0.25 * (point_drop - lower)
    [strict] = _drop_gate(run, comparison, Gates(max_auc_drop=noisy))
    [lenient] = _drop_gate(
        run, comparison, Gates(max_auc_drop=noisy, confidence=0.95, interval_side="best")
    )
    assert not strict.passed and lenient.passed and lenient.decided_by == "bound"


def test_emotion_f1_drop_gate_names_the_emotion_and_its_bound(tmp_path):
    run = make_run(tmp_path / "run", {"student": 0.0}, n=400)
    comparison = ensure_comparison(run, SPEC)
    pair = comparison.pair("student", "teacher")
    [point] = _drop_gate(run, comparison, Gates(max_emotion_f1_drop=1.0))
    assert point.passed and point.value == pytest.approx(
        max(-row.f1.point for row in pair.per_label)
    )
    worst_upper = max(-row.f1.low for row in pair.per_label)
    [at_bound] = _drop_gate(
        run, comparison, Gates(max_emotion_f1_drop=worst_upper - 1e-3, confidence=0.95)
    )
    worst = max(pair.per_label, key=lambda row: -row.f1.low)
    assert not at_bound.passed and f"interval of {worst.label}" in at_bound.message


def test_interval_gates_need_intervals_at_their_confidence(tmp_path):
    run = make_run(tmp_path / "run", {"student": 0.2})
    [missing] = _drop_gate(run, None, Gates(min_macro_auc=0.5, confidence=0.95))
    assert not missing.passed and "intervals are missing" in missing.message
    comparison = ensure_comparison(run, SPEC)  # 0.95
    [other] = _drop_gate(run, comparison, Gates(max_auc_drop=0.5, confidence=0.9))
    assert not other.passed and "computed at 0.95, the gate asks 0.9" in other.message


def test_a_real_run_has_intervals_in_metrics_and_a_comparison(tiny_run):
    run = RunDir(tiny_run)
    comparison = run.load_comparison()
    assert comparison is not None and comparison.reference == "teacher"
    student = run.variant("student-1l").load_metrics()
    assert student.intervals is not None and student.intervals.resamples == 1000
    assert student.intervals.auc_macro.point == pytest.approx(student.quality.auc.macro)
    assert comparison.variants["student-1l"] == student.intervals
    assert student.threshold_support is not None
    assert set(student.threshold_support.positives) == set(student.labels)
    pair = comparison.pair("student-1l", "teacher")
    assert pair is not None and len(pair.per_label) == len(student.labels)
    # the demo texts were read again: every listed example has its text and gold labels
    assert pair.examples and all(example.text for example in pair.examples)
    assert ensure_comparison(run) == comparison  # reused, not recomputed
    # the run summary (and `run --json`) carries the intervals and the paired delta
    from emocompress.run.runner import summary_rows

    rows = {row["variant"]: row for row in summary_rows(run, comparison=comparison)}
    assert rows["student-1l"]["macro_auc_low"] == student.intervals.auc_macro.low
    assert rows["student-1l"]["delta_macro_auc"] == pair.figures.macro_auc.point
    assert "delta_macro_auc" not in rows["teacher"]
