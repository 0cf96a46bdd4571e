"""Quality gates: bounds a variant's metrics must meet, their evaluation, and JUnit output.

A recipe gives each variant (and the teacher) optional ``gates``; after a run the runner calls
:func:`evaluate_gates` with the variant's typed metrics and the reference variant's, and
:func:`write_junit` turns the results into ``gates.xml`` for CI. A gate whose figure is
missing (not measured, or ``null``) fails and says what is missing: a gate never passes by
default. Import-light on purpose: pydantic and the standard library only.

With ``confidence`` set (0.95), the quality gates are checked at the bound of the figure's
bootstrap interval (metrics.json ``intervals``; paired deltas from comparison.json): by
default the pessimistic bound (``interval_side: worst``: a drop must be below the maximum at
the interval's upper end, so a drop that is only luckily small fails); ``best`` fails only
when even the optimistic bound is beyond (so noise alone never fails a gate). Each message
says whether the point estimate or the bound decided.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

from emocompress.artifacts.atomic import write_bytes
from emocompress.artifacts.schema import ComparisonFile, GateOutcome, Interval, Metrics
from emocompress.registry import Registry

JUNIT_SUITE = "emocompress.gates"


class SpeedupGate(BaseModel):
    """``min_speedup`` in full: a bound on ``speed.runtimes.<runtime>.speedup.<batch>``."""

    model_config = ConfigDict(extra="forbid")

    value: float = Field(gt=0, description="least speedup over the bench baseline")
    runtime: str = Field(
        "pytorch", description="runtime section of metrics.json speed, e.g. onnx_int8"
    )
    batch: int = Field(32, ge=1, description="batch size whose speedup is read")


class Gates(BaseModel):
    """Bounds on one variant's metrics. Unset (null) gates are not checked."""

    model_config = ConfigDict(extra="forbid")

    min_macro_auc: float | None = Field(None, ge=0, le=1, description="least macro AUC")
    max_auc_drop: float | None = Field(
        None, description="most macro AUC lost against the reference (reference minus this)"
    )
    max_parent_auc_drop: float | None = Field(
        None, description="most macro AUC lost against the parent variant (parent minus this)"
    )
    min_auc_share: float | None = Field(
        None, ge=0, description="least share of the reference's macro AUC kept (0.98 = 98%)"
    )
    min_macro_f1: float | None = Field(
        None, ge=0, le=1, description="least macro F1 under the selected threshold strategy"
    )
    min_micro_f1: float | None = Field(
        None, ge=0, le=1, description="least micro F1 under the selected threshold strategy"
    )
    max_mb: float | None = Field(None, gt=0, description="most weight-file size, MB (1e6 bytes)")
    max_parameters: int | None = Field(None, ge=1, description="most parameters")
    min_speedup: SpeedupGate | None = Field(
        None,
        description="least speedup over the bench baseline: a number (pytorch, batch 32) "
        "or {value, runtime, batch}",
    )
    max_parity_diff: float | None = Field(
        None, ge=0, description="most |logit| difference from PyTorch (exported variants)"
    )
    max_emotion_f1_drop: float | None = Field(
        None,
        description="most F1 any single emotion loses against the reference (selected strategies)",
    )
    confidence: float | None = Field(
        None,
        gt=0,
        lt=1,
        description="check quality gates at this bootstrap interval's bound (e.g. 0.95); "
        "null: on the point estimate",
    )
    interval_side: Literal["worst", "best"] | None = Field(
        None,
        description="with confidence: worst (default) must hold at the pessimistic bound; "
        "best fails only when the optimistic bound is beyond",
    )

    # settings of how gates are checked, not gates themselves
    OPTIONS: ClassVar[tuple[str, ...]] = ("confidence", "interval_side")

    @field_validator("min_speedup", mode="before")
    @classmethod
    def _flat_speedup(cls, value: Any) -> Any:
        # the short form `min_speedup: 2` means pytorch, batch 32
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"value": value}
        if isinstance(value, str):
            try:
                return {"value": float(value)}
            except ValueError:
                raise ValueError("expected a number or a mapping {value, runtime, batch}") from None
        return value

    @model_serializer(mode="wrap")
    def _only_set(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # unset gates are not checked; leaving them out keeps resolved recipes readable
        return {k: v for k, v in handler(self).items() if v is not None}

    def active(self) -> dict[str, Any]:
        """The gates that are set, in declaration order (not the options)."""
        return {
            name: getattr(self, name)
            for name in type(self).model_fields
            if name not in self.OPTIONS and getattr(self, name) is not None
        }

    @classmethod
    def gate_names(cls) -> list[str]:
        return [name for name in cls.model_fields if name not in cls.OPTIONS]


class MissingFigure(Exception):
    """A figure a gate needs is absent or null; the message says which."""


@dataclass(frozen=True)
class Checked:
    """What a gate sees: the metrics, the reference's, and the run's comparison."""

    metrics: Metrics
    reference: Metrics | None
    comparison: ComparisonFile | None
    variant: str


@dataclass(frozen=True)
class GateDef:
    """One kind of gate: its field in :class:`Gates`, how it reads its figure, its bound's sense.

    ``interval`` reads the figure's (low, high) bootstrap interval for ``confidence``
    checks; a gate without one is always checked on its point estimate.
    """

    name: str
    label: str
    direction: Literal["min", "max"]
    read: Callable[[Metrics, Metrics | None, Any], float]
    fmt: str = ".4f"
    interval: Callable[[Checked, Any], tuple[float, float, str]] | None = None


S = TypeVar("S")


def _section(section: S | None, figure: str, whose: str = "metrics") -> S:
    """The section holding ``figure``; missing (not measured) fails the gate."""
    if section is None:
        raise MissingFigure(f"{figure} is missing from the {whose}")
    return section


def _number(value: float | None, figure: str, whose: str = "metrics") -> float:
    """A measured figure; null (not applicable) fails the gate."""
    if value is None:
        raise MissingFigure(f"{figure} is null (n/a) in the {whose}")
    return float(value)


def _auc_of(metrics: Metrics, whose: str = "metrics") -> float:
    figure = "quality.auc.macro"
    return _number(_section(metrics.quality, figure, whose).auc.macro, figure, whose)


def _macro_auc(metrics: Metrics, *_: Any) -> float:
    return _auc_of(metrics)


def _reference_auc(metrics: Metrics, reference: Metrics | None) -> tuple[float, float]:
    if reference is None:
        raise MissingFigure("the reference variant's metrics are missing")
    if metrics.quality is None or reference.quality is None:
        whose = "metrics" if metrics.quality is None else "reference metrics"
        raise MissingFigure(f"quality is missing from the {whose}")
    mine, theirs = metrics.quality.report_split, reference.quality.report_split
    if mine != theirs:
        raise MissingFigure(f"reference measured on split {theirs!r}, this variant on {mine!r}")
    return _auc_of(metrics), _auc_of(reference, "reference metrics")


def _auc_drop(metrics: Metrics, reference: Metrics | None, _: Any) -> float:
    mine, theirs = _reference_auc(metrics, reference)
    return theirs - mine


def _auc_share(metrics: Metrics, reference: Metrics | None, _: Any) -> float:
    mine, theirs = _reference_auc(metrics, reference)
    if theirs <= 0:
        raise MissingFigure("the reference's macro AUC is 0")
    return mine / theirs


def _parent_auc_drop(metrics: Metrics, *_: Any) -> float:
    figure = "against_parent.macro_auc_drop"
    return _number(_section(metrics.against_parent, figure).macro_auc_drop, figure)


def _selected_f1(average: Literal["micro", "macro"]) -> Callable[..., float]:
    def read(metrics: Metrics, *_: Any) -> float:
        quality = _section(metrics.quality, f"quality.strategies.<selected>.{average}.f1")
        figure = f"quality.strategies.{quality.selected_strategy}.{average}.f1"
        selected = _section(quality.strategies.get(quality.selected_strategy), figure)
        return _number((selected.micro if average == "micro" else selected.macro).f1, figure)

    return read


def _megabytes(metrics: Metrics, *_: Any) -> float:
    figure = "size.bytes_on_disk"
    return _number(_section(metrics.size, figure).bytes_on_disk, figure) / 1e6


def _parameters(metrics: Metrics, *_: Any) -> float:
    return float(_section(metrics.size, "size.parameters").parameters)


def _speedup(metrics: Metrics, _: Any, gate: SpeedupGate) -> float:
    figure = f"speed.runtimes.{gate.runtime}.speedup.{gate.batch}"
    runtime = _section(_section(metrics.speed, figure).runtimes.get(gate.runtime), figure)
    if gate.batch not in runtime.speedup:
        raise MissingFigure(f"{figure} is missing from the metrics")
    return _number(runtime.speedup[gate.batch], figure)


def _parity(metrics: Metrics, *_: Any) -> float:
    figure = "parity.max_abs_logit_diff"
    return _number(_section(metrics.parity, figure).max_abs_logit_diff, figure)


def _emotion_f1_drop(metrics: Metrics, reference: Metrics | None, _: Any) -> float:
    return _largest_emotion_drop(metrics, reference)[1]


def _largest_emotion_drop(metrics: Metrics, reference: Metrics | None) -> tuple[str, float]:
    """(emotion, reference's F1 minus this one's) for the emotion that lost most."""
    _reference_auc(metrics, reference)  # same split, both measured
    assert metrics.quality is not None and reference is not None and reference.quality
    mine, theirs = metrics.quality.selected.per_label, reference.quality.selected.per_label
    drops = {
        name: float(theirs[name].f1 or 0.0) - float(scores.f1 or 0.0)
        for name, scores in mine.items()
        if name in theirs
    }
    if not drops:
        raise MissingFigure("no per-emotion F1 shared with the reference")
    worst = max(drops, key=lambda name: (drops[name], name))
    return worst, drops[worst]


def _bounds(interval: Interval, figure: str) -> tuple[float, float]:
    if interval.low is None or interval.high is None:
        raise MissingFigure(f"the interval of {figure} is undefined (too few resamples define it)")
    return float(interval.low), float(interval.high)


def _own_intervals(metrics: Metrics):
    if metrics.intervals is None:
        raise MissingFigure("intervals are missing from the metrics (run `emocompress compare`)")
    return metrics.intervals


def _pair(checked: Checked, against: str, figure: str):
    comparison = checked.comparison
    if comparison is None:
        raise MissingFigure(f"{figure}: no comparison.json (run `emocompress compare`)")
    pair = comparison.pair(checked.variant, against)
    if pair is None:
        raise MissingFigure(f"{figure}: comparison.json has no {checked.variant} - {against}")
    return pair


def _reference_name(checked: Checked) -> str:
    if checked.comparison is None or checked.comparison.reference is None:
        raise MissingFigure("no reference in comparison.json (run `emocompress compare`)")
    return checked.comparison.reference


def _interval_macro_auc(checked: Checked, _: Any) -> tuple[float, float, str]:
    return (*_bounds(_own_intervals(checked.metrics).auc_macro, "macro AUC"), "")


def _interval_f1(average: Literal["micro", "macro"]):
    def read(checked: Checked, _: Any) -> tuple[float, float, str]:
        section = _own_intervals(checked.metrics)
        scores = section.micro if average == "micro" else section.macro
        return (*_bounds(scores.f1, f"{average} F1"), "")

    return read


def _drop_bounds(delta_low: float | None, delta_high: float | None, figure: str):
    # a drop is minus the delta (variant - other): its interval is [-high, -low]
    if delta_low is None or delta_high is None:
        raise MissingFigure(f"the interval of {figure} is undefined")
    return -float(delta_high) + 0.0, -float(delta_low) + 0.0  # + 0.0: no "-0.0000"


def _interval_auc_drop(checked: Checked, _: Any) -> tuple[float, float, str]:
    pair = _pair(checked, _reference_name(checked), "macro AUC drop")
    return (*_drop_bounds(pair.figures.macro_auc.low, pair.figures.macro_auc.high, "it"), "")


def _interval_parent_auc_drop(checked: Checked, _: Any) -> tuple[float, float, str]:
    parent = checked.metrics.against_parent
    if parent is None:
        raise MissingFigure("against_parent is missing from the metrics")
    pair = _pair(checked, parent.parent, "macro AUC drop vs parent")
    return (*_drop_bounds(pair.figures.macro_auc.low, pair.figures.macro_auc.high, "it"), "")


def _interval_emotion_drop(checked: Checked, setting: Any) -> tuple[float, float, str]:
    """The bounds of the emotion whose drop is largest at the side that is checked."""
    pair = _pair(checked, _reference_name(checked), "per-emotion F1 drop")
    bounds = {
        row.label: _drop_bounds(row.f1.low, row.f1.high, f"{row.label} F1 drop")
        for row in pair.per_label
    }
    if not bounds:
        raise MissingFigure("comparison.json has no per-emotion F1")
    # worst side: the largest upper bound; best side: the largest lower bound
    side = 1 if setting == "worst" else 0
    worst = max(bounds, key=lambda name: (bounds[name][side], name))
    return (*bounds[worst], worst)


GATES: Registry[GateDef] = Registry(
    "gate",
    [
        GateDef("min_macro_auc", "macro AUC", "min", _macro_auc, interval=_interval_macro_auc),
        GateDef(
            "max_auc_drop",
            "macro AUC drop vs reference",
            "max",
            _auc_drop,
            interval=_interval_auc_drop,
        ),
        GateDef(
            "max_parent_auc_drop",
            "macro AUC drop vs parent",
            "max",
            _parent_auc_drop,
            interval=_interval_parent_auc_drop,
        ),
        GateDef("min_auc_share", "share of reference macro AUC", "min", _auc_share),
        GateDef(
            "min_macro_f1",
            "macro F1 (selected strategy)",
            "min",
            _selected_f1("macro"),
            interval=_interval_f1("macro"),
        ),
        GateDef(
            "min_micro_f1",
            "micro F1 (selected strategy)",
            "min",
            _selected_f1("micro"),
            interval=_interval_f1("micro"),
        ),
        GateDef("max_mb", "size MB", "max", _megabytes, ".1f"),
        GateDef("max_parameters", "parameters", "max", _parameters, ",.0f"),
        GateDef("min_speedup", "speedup", "min", _speedup, ".2f"),
        GateDef("max_parity_diff", "max |logit diff| vs PyTorch", "max", _parity, ".2e"),
        GateDef(
            "max_emotion_f1_drop",
            "largest emotion F1 drop vs reference",
            "max",
            _emotion_f1_drop,
            interval=_interval_emotion_drop,
        ),
    ],
    name=lambda gate: gate.name,
)
assert set(GATES) == set(Gates.gate_names()), "every gate field needs a definition"


def _within(value: float, bound: float, direction: str) -> bool:
    # metrics are rounded floats: a figure equal to its bound up to float noise passes
    if math.isclose(value, bound, rel_tol=1e-9, abs_tol=1e-12):
        return True
    return value >= bound if direction == "min" else value <= bound


def _evaluate_one(
    variant: str,
    name: str,
    setting: Any,
    metrics: Metrics | None,
    reference: Metrics | None,
    gates: Gates,
    comparison: ComparisonFile | None,
) -> GateOutcome:
    gate = GATES.lookup(name)
    bound = float(setting.value if isinstance(setting, SpeedupGate) else setting)
    at_interval = gates.confidence is not None and gate.interval is not None
    side = gates.interval_side or "worst"
    try:
        if metrics is None:
            raise MissingFigure(f"{Metrics.FILE} is missing")
        value = gate.read(metrics, reference, setting)
        if at_interval:
            assert gate.interval is not None and gates.confidence is not None
            _check_confidence(metrics, comparison, gates.confidence, name)
            low, high, which = gate.interval(Checked(metrics, reference, comparison, variant), side)
    except MissingFigure as missing:
        return GateOutcome(
            variant=variant,
            gate=name,
            value=None,
            bound=bound,
            passed=False,
            message=f"{gate.label}: cannot check, {missing}",
        )
    word = "minimum" if gate.direction == "min" else "maximum"
    f = gate.fmt
    point_passed = _within(value, bound, gate.direction)
    passed, interval, decided_by = point_passed, None, None
    message = f"{gate.label} {value:{f}} {_relation(point_passed, gate)} {word} {bound:{f}}"
    if at_interval:
        pessimistic = (gate.direction == "max") == (side == "worst")
        decisive = high if pessimistic else low
        passed = _within(decisive, bound, gate.direction)
        interval, decided_by = [low, high], "bound" if passed != point_passed else "point"
        percent = f"{100 * (gates.confidence or 0):g}%"
        verdict = "passes" if point_passed else "fails"
        tail = (
            f"; the point estimate alone {verdict}: the {side}-side bound decided"
            if decided_by == "bound"
            else f"; point and {side}-side bound agree"
        )
        message = (
            f"{gate.label} {value:{f}}, {percent} interval{f' of {which}' if which else ''} "
            f"[{low:{f}}, {high:{f}}]: {'upper' if decisive == high else 'lower'} bound "
            f"{decisive:{f}} {_relation(passed, gate)} {word} {bound:{f}}{tail}"
        )
    return GateOutcome(
        variant=variant,
        gate=name,
        value=value,
        bound=bound,
        passed=passed,
        message=message,
        interval=interval,
        decided_by=decided_by,
    )


def _relation(passed: bool, gate: GateDef) -> str:
    if passed:
        return "meets the"
    return "is below the" if gate.direction == "min" else "is above the"


def _check_confidence(
    metrics: Metrics, comparison: ComparisonFile | None, confidence: float, gate: str
) -> None:
    """The stored intervals must be at the confidence the gate asks for."""
    stored = None
    if metrics.intervals is not None and gate in {"min_macro_auc", "min_macro_f1", "min_micro_f1"}:
        stored = metrics.intervals.confidence
    elif comparison is not None:
        stored = comparison.bootstrap.confidence
    if stored is not None and not math.isclose(stored, confidence):
        raise MissingFigure(
            f"intervals were computed at {stored:g}, the gate asks {confidence:g} "
            "(set evaluation.bootstrap.confidence to match)"
        )


def evaluate_gates(
    variant: str,
    gates: Gates,
    metrics: Metrics | None,
    reference: Metrics | None,
    *,
    comparison: ComparisonFile | None = None,
) -> list[GateOutcome]:
    """Check every set gate of one variant; one outcome per gate, in declaration order.

    ``comparison`` (comparison.json) holds the paired intervals that ``confidence``
    checks of the reference and parent gates read.
    """
    return [
        _evaluate_one(variant, name, setting, metrics, reference, gates, comparison)
        for name, setting in gates.active().items()
    ]


def junit_xml(results: Iterable[GateOutcome]) -> bytes:
    results = list(results)
    failures = sum(not r.passed for r in results)
    root = ET.Element(
        "testsuites", name=JUNIT_SUITE, tests=str(len(results)), failures=str(failures)
    )
    suite = ET.SubElement(
        root,
        "testsuite",
        name=JUNIT_SUITE,
        tests=str(len(results)),
        failures=str(failures),
        errors="0",
    )
    for result in results:
        case = ET.SubElement(
            suite, "testcase", classname=JUNIT_SUITE, name=f"{result.variant}.{result.gate}"
        )
        if result.passed:
            ET.SubElement(case, "system-out").text = result.message
        else:
            ET.SubElement(
                case, "failure", message=result.message, type="gate"
            ).text = result.message
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def write_junit(results: Iterable[GateOutcome], path: str | Path) -> None:
    """Write JUnit XML (suite ``emocompress.gates``, one test case per gate) atomically."""
    write_bytes(path, junit_xml(results))
