"""Gates: each bound passing and failing, missing figures failing, JUnit output."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from emocompress.artifacts.schema import (
    AgainstParent,
    AucFigures,
    BatchLatency,
    GateOutcome,
    LabelScores,
    Metrics,
    Parity,
    Quality,
    RuntimeSpeed,
    Scores,
    Size,
    Speed,
    StrategyResult,
)
from emocompress.measure.gates import GATES, Gates, SpeedupGate, evaluate_gates, write_junit


def _strategy(micro: float, macro: float, grief: float = 0.4) -> StrategyResult:
    def label(f1: float) -> LabelScores:
        return LabelScores(f1=f1, precision=f1, recall=f1, support=5, tp=2, fp=1, fn=3)

    return StrategyResult(
        params={},
        micro=Scores(f1=micro, precision=micro, recall=micro),
        macro=Scores(f1=macro, precision=macro, recall=macro),
        per_label={"joy": label(macro), "grief": label(grief)},
    )


def _quality(auc: float, report_split: str = "dev") -> Quality:
    return Quality(
        tune_split="tune",
        report_split=report_split,
        n_tune=10,
        n_report=20,
        auc=AucFigures(micro=0.95, macro=auc, per_label={}),
        # grief's F1 follows the AUC, so the reference (0.94) has 0.02 more than metrics()
        strategies={
            "fixed": _strategy(0.40, 0.30),
            "per_label": _strategy(0.55, 0.45, grief=auc - 0.5),
        },
        selected_strategy="per_label",
        selected_because="highest macro F1 on the tune split",
    )


def metrics(auc: float = 0.92, report_split: str = "dev", **overrides: Any) -> Metrics:
    """A variant with every figure a gate reads; ``overrides`` replace whole sections."""
    sections: dict[str, Any] = {
        "quality": _quality(auc, report_split),
        "size": Size(
            parameters=22_000_000,
            parameters_without_embeddings=10_000_000,
            bytes_on_disk=88_000_000,
        ),
        "speed": Speed(
            runtimes={
                "pytorch": RuntimeSpeed(batches={32: BatchLatency(p50_ms=10)}, speedup={32: 2.5}),
                "onnx_int8": RuntimeSpeed(speedup={32: 4.0, 1: 3.0}),
            }
        ),
        "parity": Parity(max_abs_logit_diff=2e-5, tolerance=1e-4, texts=8),
        "against_parent": AgainstParent(parent="big", parent_macro_auc=0.925, macro_auc_drop=0.005),
    }
    return Metrics(variant="small", **{**sections, **overrides})


REFERENCE = metrics(auc=0.94)

# gate -> (bound that passes, bound that fails, the figure read from metrics())
CASES = {
    "min_macro_auc": (0.9, 0.93, 0.92),
    "max_auc_drop": (0.03, 0.01, 0.94 - 0.92),
    "max_parent_auc_drop": (0.005, 0.004, 0.005),
    "min_auc_share": (0.97, 0.99, 0.92 / 0.94),
    "min_macro_f1": (0.45, 0.5, 0.45),  # per_label is the selected strategy
    "min_micro_f1": (0.5, 0.6, 0.55),
    "max_mb": (90, 80, 88.0),
    "max_parameters": (22_000_000, 21_000_000, 22_000_000),
    "min_speedup": (2, 3, 2.5),
    "max_parity_diff": (1e-4, 1e-5, 2e-5),
    "max_emotion_f1_drop": (0.03, 0.01, 0.02),  # grief: 0.44 - 0.42
}


def check(gate: str, bound: Any, data: Metrics | None = None) -> GateOutcome:
    [result] = evaluate_gates("small", Gates(**{gate: bound}), data or metrics(), REFERENCE)
    return result


def test_every_gate_has_a_case() -> None:
    assert set(CASES) == set(Gates.gate_names())
    assert set(Gates.model_fields) == set(CASES) | set(Gates.OPTIONS)


@pytest.mark.parametrize("gate", sorted(CASES))
def test_gate_passes_within_its_bound(gate: str) -> None:
    passing, _, figure = CASES[gate]
    result = check(gate, passing)
    assert result.passed, result.message
    assert (result.variant, result.gate) == ("small", gate)
    assert result.value == pytest.approx(figure)
    assert result.bound == pytest.approx(float(passing))
    assert "meets" in result.message


@pytest.mark.parametrize("gate", sorted(CASES))
def test_gate_fails_beyond_its_bound(gate: str) -> None:
    _, failing, figure = CASES[gate]
    result = check(gate, failing)
    assert not result.passed
    assert result.value == pytest.approx(figure)
    assert (
        "is below the minimum" if gate.startswith("min") else "is above the maximum"
    ) in result.message


@pytest.mark.parametrize("gate", sorted(CASES))
def test_gate_fails_when_its_figure_is_missing(gate: str) -> None:
    passing, _, _ = CASES[gate]
    empty = Metrics(variant="small")
    [result] = evaluate_gates("small", Gates(**{gate: passing}), empty, Metrics(variant="ref"))
    assert not result.passed and result.value is None
    assert "cannot check" in result.message and "missing" in result.message


def test_missing_message_names_the_figure() -> None:
    data = metrics(size=None)
    assert "size.bytes_on_disk is missing" in check("max_mb", 100, data).message


def test_missing_runtime_and_batch_are_named() -> None:
    # a selected strategy the file does not hold cannot reach a gate: the file is refused
    dangling = _quality(0.92).model_dump() | {"selected_strategy": "top_k"}
    with pytest.raises(ValidationError, match="'top_k' is not one of the strategies"):
        metrics(quality=dangling)
    no_batch = check("min_speedup", {"value": 1, "runtime": "onnx_int8", "batch": 8}).message
    assert "speed.runtimes.onnx_int8.speedup.8 is missing" in no_batch
    no_speed = check("min_speedup", 1, metrics(speed=None)).message
    assert "speed.runtimes.pytorch.speedup.32 is missing" in no_speed


def test_no_metrics_at_all_fails_every_gate() -> None:
    [result] = evaluate_gates("small", Gates(max_mb=100), None, REFERENCE)
    assert not result.passed and "metrics.json is missing" in result.message


def test_unknown_gate_name_is_one_user_error() -> None:
    from emocompress.errors import UserError

    with pytest.raises(UserError, match="unknown gate 'max_speed'.*max_mb"):
        GATES.lookup("max_speed")


def test_null_figure_fails_as_not_applicable() -> None:
    data = metrics(parity=Parity(max_abs_logit_diff=None, tolerance=None, texts=8))
    result = check("max_parity_diff", 1.0, data)
    assert not result.passed and "null (n/a)" in result.message


def test_reference_gates_need_reference_metrics() -> None:
    [result] = evaluate_gates("small", Gates(max_auc_drop=0.5), metrics(), None)
    assert not result.passed and "reference" in result.message


def test_reference_on_another_split_cannot_be_compared() -> None:
    other = metrics(auc=0.94, report_split="test")
    [result] = evaluate_gates("small", Gates(min_auc_share=0.5), metrics(), other)
    assert not result.passed and "'test'" in result.message


def test_bound_equal_up_to_float_noise_passes() -> None:
    # 0.93 - 0.92 is 0.010000000000000009 in floats
    [result] = evaluate_gates("s", Gates(max_auc_drop=0.01), metrics(0.92), metrics(0.93))
    assert result.passed


def test_speedup_short_and_long_forms() -> None:
    assert Gates(min_speedup=2).min_speedup == SpeedupGate(value=2, runtime="pytorch", batch=32)
    long = Gates(min_speedup={"value": 3.5, "runtime": "onnx_int8", "batch": 1})
    assert check("min_speedup", long.min_speedup).value == 3.0
    result = check("min_speedup", {"value": 1, "runtime": "onnx_fp16"})
    assert not result.passed and "speed.runtimes.onnx_fp16.speedup.32" in result.message


def test_unset_gates_are_not_checked_and_order_is_stable() -> None:
    assert evaluate_gates("s", Gates(), metrics(), REFERENCE) == []
    results = evaluate_gates("s", Gates(max_mb=100, min_macro_auc=0.5), metrics(), REFERENCE)
    assert [r.gate for r in results] == ["min_macro_auc", "max_mb"]


def test_unknown_gate_and_bad_bound_are_rejected() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Gates.model_validate({"max_latency": 3})
    with pytest.raises(ValidationError, match="number or a mapping"):
        Gates.model_validate({"min_speedup": "fast"})


def test_junit_xml_names_each_gate_and_the_failures(tmp_path: Path) -> None:
    results = [
        *evaluate_gates("teacher", Gates(min_macro_auc=0.9), REFERENCE, REFERENCE),
        *evaluate_gates("small", Gates(max_mb=100, max_auc_drop=0.001), metrics(), REFERENCE),
    ]
    path = tmp_path / "run" / "gates.xml"
    write_junit(results, path)
    assert [p.name for p in path.parent.iterdir()] == ["gates.xml"]  # no temporary left behind
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    assert suite.get("name") == "emocompress.gates"
    assert (suite.get("tests"), suite.get("failures")) == ("3", "1")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert list(cases) == ["teacher.min_macro_auc", "small.max_auc_drop", "small.max_mb"]
    failure = cases["small.max_auc_drop"].find("failure")
    assert failure is not None and "macro AUC drop" in failure.get("message", "")
    assert cases["small.max_mb"].find("failure") is None


def test_junit_with_no_gates(tmp_path: Path) -> None:
    write_junit([], tmp_path / "gates.xml")
    suite = ET.parse(tmp_path / "gates.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "0"
