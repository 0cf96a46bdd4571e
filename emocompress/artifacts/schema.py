"""The run directory's files as typed models: the one contract between writers and readers.

Every file of a run directory (docs/run-directory.md) is a pydantic model here, read with
:meth:`ArtifactFile.read` and written with :meth:`ArtifactFile.write` (atomically). Readers
use attributes, never string keys, so two readers of one figure cannot disagree about where
it lives, and a writer cannot leave a key out: unknown keys and wrong types are errors.

Versions. Each file carries ``schema_version`` (:data:`SCHEMA_VERSION`). Files written
before typed models (a ``"schema": "emocompress.metrics/1"`` string, or nothing) are read as
version 1 and upgraded in memory by the model's ``upgrade_v1``; a file from a newer
emocompress is refused with a message saying so. Every problem is one :class:`UserError`
naming the file, never a KeyError.

Conventions. An optional section that is ``None`` was not measured and is left out of the
file; a figure inside a section that is ``None`` was measured as not applicable and is
written as ``null`` (shown as "n/a", never 0).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from emocompress.artifacts.jsonfile import read_json_object
from emocompress.errors import UserError
from emocompress.format import fmt

SCHEMA_VERSION = 2

# names inside a run directory (the files' own names are each model's FILE)
RECIPE_FILE = "recipe.yaml"
GATES_XML_FILE = "gates.xml"
VARIANTS_DIR = "variants"
CACHE_DIR = "cache"
PREDICTIONS_DIR = "predictions"
# held (an OS file lock) by the process writing the run; holds that process's pid and host
LOCK_FILE = "run.lock"
# unexpected crashes append their traceback here (the one-line message names it)
CRASH_LOG = "crash.log"
# files of a model directory that the run directory's readers also look for
ONNX_FILE = "model.onnx"
CONFIG_FILE = "config.json"

A = TypeVar("A", bound="ArtifactFile")


class Record(BaseModel):
    """A closed part of a file: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


class OpenRecord(BaseModel):
    """A part whose extra keys belong to its writer (versions, loss terms): kept as they are."""

    model_config = ConfigDict(extra="allow")


class ArtifactFile(Record):
    """A whole file of the run directory."""

    FILE: ClassVar[str]
    # the ``schema`` string files had before schema_version (None: they had none)
    LEGACY_SCHEMA: ClassVar[str | None] = None
    # sections left out of the file when None (not measured), rather than written as null
    OPTIONAL_SECTIONS: ClassVar[tuple[str, ...]] = ()

    schema_version: int = SCHEMA_VERSION

    @classmethod
    def upgrade_v1(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Version 1 (untyped) content in today's shape; most files need no change."""
        return data

    @classmethod
    def read(cls: type[A], path: str | Path) -> A:
        path = Path(path)
        data = read_json_object(path)
        version = data.pop("schema_version", None)
        if version is None:
            legacy = data.pop("schema", None)
            if legacy is not None and legacy != cls.LEGACY_SCHEMA:
                raise UserError(
                    f"{path}: schema {legacy!r} is not that of a {cls.FILE}",
                    expected=cls.LEGACY_SCHEMA or f"schema_version {SCHEMA_VERSION}",
                )
            version = 1
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise UserError(f"{path}: schema_version {version!r} is not a positive integer")
        if version > SCHEMA_VERSION:
            raise UserError(
                f"{path}: written by a newer emocompress (schema_version {version}; "
                f"this one reads up to {SCHEMA_VERSION})",
                expected="a newer emocompress (pip install -U emocompress)",
            )
        if version == 1:
            data = cls.upgrade_v1(data)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise UserError(
                f"{path}: {describe_validation_error(exc)}",
                expected=f"a {cls.FILE} as docs/run-directory.md describes",
            ) from None

    def to_json(self) -> dict[str, Any]:
        dropped = {name for name in self.OPTIONAL_SECTIONS if getattr(self, name) is None}
        return self.model_dump(mode="json", exclude=dropped)

    def write(self, path: str | Path) -> None:
        from emocompress.artifacts.atomic import write_json

        write_json(path, self.to_json())


def describe_validation_error(exc: ValidationError) -> str:
    """The first problem of a validation error as ``key.path: message`` (and how many more)."""
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "(top level)"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


# ------------------------------------------------------------------------------ run.json

RunStatus = Literal["running", "finished", "failed", "cancelled", "interrupted"]


class Environment(OpenRecord):
    """Versions and hardware (package versions are extra keys named like the package)."""

    python: str | None = None
    emocompress: str | None = None
    cpu: str | None = None
    cores: int | None = None
    platform: str | None = None
    gpu: str | None = None
    cpu_flags: list[str] | None = None  # the instruction sets int8 speed depends on (cpu.py)
    # bench adds what the measurement ran under
    threads: int | None = None
    load_average: float | None = None


class StepRecord(Record):
    status: Literal["done"] = "done"
    op: str = Field(description="the operation that made the variant")
    hash: str = Field(description="sha256 of the step's inputs; equal hash: resume skips it")
    seconds: float | None = Field(None, description="wall time of the whole step")
    finished: str | None = None


class RunFile(ArtifactFile):
    """run.json: the run's status, its finished steps and what it ran on."""

    FILE: ClassVar[str] = "run.json"
    LEGACY_SCHEMA: ClassVar[str | None] = "emocompress.run/1"

    name: str | None = Field(None, description="the recipe's name")
    status: RunStatus = "running"
    seed: int | None = None
    started: str | None = Field(None, description="ISO 8601, UTC")
    finished: str | None = None
    steps: dict[str, StepRecord] = Field(
        default_factory=dict, description="finished steps by variant name, in run order"
    )
    environment: Environment = Field(
        default_factory=Environment, description="package versions and hardware"
    )
    gates_passed: bool | None = Field(None, description="null until the gates ran")


# ------------------------------------------------------------------------ emocompress.json


class Lineage(ArtifactFile):
    """emocompress.json: where a variant came from and what made it."""

    FILE: ClassVar[str] = "emocompress.json"
    LEGACY_SCHEMA: ClassVar[str | None] = "emocompress.variant/1"

    name: str
    parent: str | list[str] | None = Field(
        None, description="parent variant(s); null: made from the model reference `source`"
    )
    source: str | None = Field(None, description="model reference (path, hub id, pkg:NAME)")
    operation: str
    settings: dict[str, Any] = Field(
        default_factory=dict, description="the operation's settings, defaults filled in"
    )
    format: Literal["pytorch", "onnx"] = "pytorch"
    shape_plan: dict[str, Any] | None = Field(
        None, description="module shapes config.json cannot express (also shape_plan.json)"
    )
    facts: dict[str, Any] = Field(
        default_factory=dict, description="what the operation recorded (its own keys)"
    )

    @property
    def parents(self) -> list[str]:
        if self.parent is None:
            return []
        return [self.parent] if isinstance(self.parent, str) else list(self.parent)


# --------------------------------------------------------------------------- metrics.json


class SplitInfo(Record):
    split: str
    examples: int
    description: str


class DataInfo(Record):
    train: SplitInfo | None = None
    tune: SplitInfo | None = None
    report: SplitInfo | None = None


class Scores(Record):
    f1: float | None
    precision: float | None
    recall: float | None


class LabelScores(Scores):
    support: int
    tp: int
    fp: int
    fn: int
    threshold: float | None = None


class StrategyResult(Record):
    params: dict[str, Any] = Field(description="what was chosen on the tune split")
    micro: Scores
    macro: Scores
    per_label: dict[str, LabelScores]
    tune_macro_f1: float | None = Field(
        None, description="the same strategy's macro F1 on the tune split"
    )


class AucFigures(Record):
    micro: float | None
    macro: float | None = Field(description="mean over labels with positives and negatives")
    per_label: dict[str, float | None] = Field(
        description="null: the label has no positive (or no negative) in the split"
    )
    labels_without_positives: list[str] = Field(default_factory=list)
    labels_without_negatives: list[str] = Field(default_factory=list)


class Quality(Record):
    """Thresholds chosen on ``tune_split``; every figure measured on ``report_split``."""

    tune_split: str = Field(description="the split thresholds were chosen on")
    report_split: str = Field(description="the split every figure was measured on")
    n_tune: int
    n_report: int
    auc: AucFigures
    strategies: dict[str, StrategyResult] = Field(
        description="threshold strategies by name (docs/metrics.md)"
    )
    selected_strategy: str = Field(description="highest macro F1 on the tune split")
    selected_because: str

    @model_validator(mode="after")
    def _selected_is_a_strategy(self) -> Quality:
        # readers take quality.selected for granted: a dangling name is the file's error
        if self.selected_strategy not in self.strategies:
            known = ", ".join(self.strategies) or "none"
            raise ValueError(
                f"selected_strategy {self.selected_strategy!r} is not one of the strategies ({known})"
            )
        return self

    @property
    def selected(self) -> StrategyResult:
        return self.strategies[self.selected_strategy]


class BootstrapSpec(Record):
    """How intervals are computed: a paired percentile bootstrap over report examples."""

    resamples: int = Field(1000, ge=20, description="bootstrap resamples of the report split")
    seed: int | None = Field(
        None, description="null: the run's seed; equal seeds give equal resamples (paired)"
    )
    confidence: float = Field(0.95, gt=0, lt=1, description="two-sided interval level")


class Interval(Record):
    """A figure with its bootstrap interval; null bounds: not defined in enough resamples."""

    point: float | None = Field(description="the figure on the whole report split")
    low: float | None
    high: float | None


class ScoreIntervals(Record):
    f1: Interval
    precision: Interval
    recall: Interval


class LabelIntervals(ScoreIntervals):
    auc: Interval
    support: int = Field(description="positives of the label in the report split")


class QualityIntervals(Record):
    """Bootstrap intervals of the quality figures (docs/metrics.md, "Intervals")."""

    resamples: int
    seed: int
    confidence: float
    report_split: str
    n_report: int
    strategy: str = Field(description="the threshold strategy the F1 figures are for (selected)")
    auc_micro: Interval
    auc_macro: Interval
    micro: ScoreIntervals
    macro: ScoreIntervals
    per_label: dict[str, LabelIntervals]


class ThresholdSupport(Record):
    """How many tune-split positives each label's tuned threshold rests on."""

    tune_split: str
    min_positives: int = Field(description="fewer tune positives than this: a warning")
    positives: dict[str, int] = Field(description="tune-split positives per label")
    fallback: list[str] = Field(
        default_factory=list,
        description="labels per_label could not tune (best tune F1 0): the global threshold",
    )
    warnings: list[str] = Field(default_factory=list)


class Size(Record):
    parameters: int = Field(description="floating-point parameters (integer buffers not counted)")
    parameters_without_embeddings: int
    bytes_on_disk: int | None = Field(
        description="the weight files (safetensors, or ONNX with its external data)"
    )
    dtypes: dict[str, int] = Field(default_factory=dict)
    components: dict[str, int] = Field(default_factory=dict)

    @property
    def megabytes(self) -> float | None:
        return None if self.bytes_on_disk is None else self.bytes_on_disk / 1e6


class BatchLatency(Record):
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    mean_ms: float | None = None
    texts_per_s: float | None = None
    runs: int | None = None
    # what the timed batches really computed (padding included); null in older files
    tokens_per_text: float | None = Field(
        None, description="tokens computed per text, padding to the batch's longest included"
    )
    padding_share: float | None = Field(None, description="padded tokens / tokens computed")
    flops_per_text: float | None = Field(
        None, description="matmul FLOPs computed per text, padding included"
    )
    achieved_gflops: float | None = Field(None, description="computed FLOPs per text x texts/s")
    share_of_limit: float | None = Field(
        None, description="achieved_gflops over the limit of the same runtime and threads"
    )
    speedup: float | None = Field(
        None, description="texts/s over the baseline's, same batch, mode, threads, device"
    )


class SpeedRun(Record):
    """One thread count and batching mode of a runtime: every batch size measured."""

    threads: int
    mode: Literal["plain", "bucketed"] = Field(
        description="plain: texts batched in the order given; bucketed: sorted by length"
    )
    batches: dict[int, BatchLatency] = Field(default_factory=dict, description="by batch size")


class RuntimeSpeed(Record):
    """One runtime of one variant (pytorch, onnx_fp32, onnx_int8, ...); batches by size."""

    batches: dict[int, BatchLatency] = Field(default_factory=dict, description="by batch size")
    device: str | None = None
    precision: str | None = None
    threads: int | None = None
    peak_rss_mb: float | None = None
    gpu_peak_mb: float | None = Field(None, description="null: no GPU measured (never 0)")
    speedup: dict[int, float | None] = Field(
        default_factory=dict, description="texts/s against the baseline's, by batch size"
    )
    achieved_gflops: float | None = None
    share_of_limit: float | None = Field(
        None, description="achieved GFLOP/s over the machine's measured matmul limit"
    )
    mode: Literal["plain", "bucketed"] | None = Field(
        None, description="batching of `batches` (the headline figures); null in older files"
    )
    grid: list[SpeedRun] = Field(
        default_factory=list, description="every thread count and batching mode measured"
    )

    def batch(self, size: int) -> BatchLatency:
        return self.batches.get(size) or BatchLatency()

    def speedup_at(self, size: int) -> float | None:
        """The headline speedup at batch ``size``: the cell's, else the runtime-level figure
        (older files kept it only there)."""
        speedup = self.batch(size).speedup
        return speedup if speedup is not None else self.speedup.get(size)

    def cells(self) -> list[tuple[int | None, str | None, dict[int, BatchLatency]]]:
        """(threads, mode, batches) of every grid cell measured; an older file's headline
        figures alone when it has no grid."""
        if self.grid:
            return [(run.threads, run.mode, run.batches) for run in self.grid]
        return [(self.threads, self.mode, self.batches)]


class MachineLimit(Record):
    size: int | None = None
    threads: int | None = None
    fp32_gflops: float | None = Field(None, description="torch.mm fp32 (the PyTorch runtime)")
    int8_gops: float | None = Field(None, description="ONNX Runtime MatMulInteger u8 x s8")
    onnx_fp32_gflops: float | None = Field(
        None, description="ONNX Runtime MatMul fp32 (onnx_fp32 / onnx_fp16); null in older files"
    )

    def rates(self) -> str:
        """``torch fp32 96, ORT fp32 100 GFLOP/s, ORT int8 432 GOP/s`` (n/a where unmeasured)."""
        return (
            f"torch fp32 {fmt(self.fp32_gflops, '.0f')}, "
            f"ORT fp32 {fmt(self.onnx_fp32_gflops, '.0f')} GFLOP/s, "
            f"ORT int8 {fmt(self.int8_gops, '.0f')} GOP/s"
        )


class BenchTexts(Record):
    source: str
    split: str | None = Field(None, description="null: the texts are lines of a file")
    seed: int | None = None
    count: int
    max_length: int | None = None


class Speed(Record):
    baseline: str | None = Field(
        None, description="speedups are against this variant, measured in the same call"
    )
    flops_per_text: float | None = Field(
        None, description="useful matmul FLOPs per text, each at its own length (no padding)"
    )
    limit: MachineLimit | None = None
    limits: list[MachineLimit] = Field(
        default_factory=list, description="the limit at every thread count measured"
    )
    runtimes: dict[str, RuntimeSpeed] = Field(default_factory=dict)
    machine: Environment | None = None
    texts: BenchTexts | None = None
    measured: str | None = None

    @property
    def primary(self) -> RuntimeSpeed | None:
        """The runtime a variant ships with: its only one, else the first measured."""
        return next(iter(self.runtimes.values()), None)


class Parity(Record):
    max_abs_logit_diff: float | None = Field(description="against the parent's logits")
    tolerance: float | None = Field(
        description="null for int8 graphs (no fixed tolerance; the AUC-drop gate holds)"
    )
    texts: int
    reference: str | None = Field(None, description="the variant compared against")


class AgainstParent(Record):
    parent: str
    parent_macro_auc: float | None
    macro_auc_drop: float | None = Field(description="parent's macro AUC minus this one's")


class TrainingSummary(Record):
    """What training kept (no wall times: equal seeds give equal files; see history.json)."""

    best_epoch: float | None = None
    best_tune_macro_auc: float | None = None
    steps: int = 0
    stopped_early: bool = False
    mode: str | None = Field(None, description="prune recovery: finetune or distil")


class Metrics(ArtifactFile):
    """metrics.json: one schema for every variant."""

    FILE: ClassVar[str] = "metrics.json"
    LEGACY_SCHEMA: ClassVar[str | None] = "emocompress.metrics/1"
    OPTIONAL_SECTIONS: ClassVar[tuple[str, ...]] = (
        "data",
        "quality",
        "size",
        "training",
        "parity",
        "quantization",
        "pruning",
        "merge",
        "against_parent",
        "speed",
        "intervals",
        "threshold_support",
    )

    variant: str
    labels: list[str] = Field(default_factory=list)
    data: DataInfo | None = None
    quality: Quality | None = None
    size: Size | None = None
    # sections an operation contributes (Operation.metrics_sections)
    training: TrainingSummary | None = None
    parity: Parity | None = None
    quantization: dict[str, Any] | None = None
    pruning: dict[str, Any] | None = None
    merge: dict[str, Any] | None = None
    against_parent: AgainstParent | None = None
    speed: Speed | None = Field(None, description="written by bench")
    intervals: QualityIntervals | None = Field(
        None, description="bootstrap intervals of the quality figures (older files: none)"
    )
    threshold_support: ThresholdSupport | None = None

    @classmethod
    def upgrade_v1(cls, data: dict[str, Any]) -> dict[str, Any]:
        if isinstance(data.get("speed"), dict):
            data["speed"] = upgrade_speed_v1(data["speed"])
        return data

    @property
    def macro_auc(self) -> float | None:
        return self.quality.auc.macro if self.quality else None


_BATCH_KEY = re.compile(r"^(speedup_)?batch_(\d+)$")


def upgrade_speed_v1(speed: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept batches as ``batch_32`` / ``speedup_batch_32`` keys of each runtime."""
    runtimes = {}
    for name, runtime in (speed.get("runtimes") or {}).items():
        if not isinstance(runtime, dict):
            runtimes[name] = runtime
            continue
        upgraded: dict[str, Any] = {"batches": {}, "speedup": {}}
        for key, value in runtime.items():
            match = _BATCH_KEY.match(key)
            if match is None:
                upgraded[key] = value
            else:
                upgraded["speedup" if match.group(1) else "batches"][int(match.group(2))] = value
        runtimes[name] = upgraded
    return {**speed, "runtimes": runtimes}


# --------------------------------------------------------------------------- history.json


class HistoryStep(OpenRecord):
    """One optimiser step; loss terms beyond ``loss`` (bce, hard, soft, ...) are extra keys."""

    step: int
    loss: float
    lr: float | None = None


class Evaluation(Record):
    epoch: float
    step: int
    tune_macro_auc: float | None
    tune_loss: float | None = None
    train_loss: float | None = None


class History(ArtifactFile):
    """history.json: a trained variant's losses, tune evaluations and wall time."""

    FILE: ClassVar[str] = "history.json"

    variant: str
    settings: dict[str, Any] = Field(default_factory=dict)
    machine: Environment | None = None
    threads: int | None = None
    steps: list[HistoryStep] = Field(default_factory=list)
    evaluations: list[Evaluation] = Field(default_factory=list)
    best: Evaluation | None = None
    seconds: float | None = Field(
        None, description="wall time of the training loop: the one train time of a variant"
    )
    stopped_early: bool = False


# ----------------------------------------------------------------------------- bench.json


class BenchVariant(Record):
    path: str
    speed: Speed


class BenchFile(ArtifactFile):
    """bench.json: the last bench call of the run, every variant against one baseline."""

    FILE: ClassVar[str] = "bench.json"
    LEGACY_SCHEMA: ClassVar[str | None] = "emocompress.bench/1"

    created: str | None = None
    settings: dict[str, Any] = Field(default_factory=dict)
    baseline: str | None = None
    machine: Environment = Field(default_factory=Environment)
    limit: MachineLimit | None = None
    limits: list[MachineLimit] = Field(
        default_factory=list, description="the limit at every thread count measured"
    )
    texts: BenchTexts | None = None
    variants: dict[str, BenchVariant] = Field(default_factory=dict)

    @classmethod
    def upgrade_v1(cls, data: dict[str, Any]) -> dict[str, Any]:
        for entry in (data.get("variants") or {}).values():
            if isinstance(entry, dict) and isinstance(entry.get("speed"), dict):
                entry["speed"] = upgrade_speed_v1(entry["speed"])
        return data


# ----------------------------------------------------------------------------- gates.json


class GateOutcome(Record):
    variant: str
    gate: str
    value: float | None = Field(description="the measured figure; null when it is missing")
    bound: float
    passed: bool
    message: str
    interval: list[float] | None = Field(
        None, description="[low, high] of the figure when the gate was checked at a confidence"
    )
    decided_by: Literal["point", "bound"] | None = Field(
        None, description="bound: the interval's bound decided, where the point alone would not"
    )


class GatesFile(ArtifactFile):
    """gates.json: every gate's outcome (gates.xml holds the same as JUnit for CI)."""

    FILE: ClassVar[str] = "gates.json"

    results: list[GateOutcome] = Field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(result.passed for result in self.results)


# ------------------------------------------------------------------------ comparison.json


class Delta(Record):
    """``variant - against`` on the same resampled examples (paired)."""

    point: float | None
    low: float | None
    high: float | None
    significant: bool = Field(description="the interval excludes 0")


class DeltaFigures(Record):
    macro_auc: Delta
    micro_auc: Delta
    macro_f1: Delta
    micro_f1: Delta
    macro_precision: Delta
    macro_recall: Delta


class LabelDelta(Record):
    label: str
    support: int = Field(description="positives of the label in the report split")
    f1: Delta
    auc: Delta
    f1_variant: float | None = None
    f1_against: float | None = None


class ExampleChange(Record):
    """One report example on which the two variants disagree."""

    index: int = Field(description="row in predictions/<report>.npz")
    text: str | None = Field(description="null: the run's data could not be read again")
    gold: list[str]
    gained: list[str] = Field(description="labels the variant predicts and the other does not")
    lost: list[str] = Field(description="labels the other predicts and the variant does not")
    largest_change: float = Field(description="largest |probability change| over the labels")
    changed_label: str
    probability_before: float
    probability_after: float


class PairComparison(Record):
    variant: str
    against: str
    roles: list[Literal["reference", "parent"]]
    strategy: str = Field(description="the variant's selected threshold strategy")
    against_strategy: str
    figures: DeltaFigures
    per_label: list[LabelDelta] = Field(description="significant F1 drops first, then by F1 delta")
    significant_f1_drops: list[str]
    flipped_decisions: int = Field(description="(example, label) decisions that differ")
    flipped_examples: int
    examples: list[ExampleChange] = Field(description="most flips first, then largest change")


class ComparisonFile(ArtifactFile):
    """comparison.json: bootstrap intervals and paired deltas of a run, and what compression forgot."""

    FILE: ClassVar[str] = "comparison.json"

    created: str | None = None
    bootstrap: BootstrapSpec
    report_split: str
    n_report: int
    reference: str | None = None
    inputs: dict[str, str] = Field(
        default_factory=dict,
        description="per variant, a fingerprint of its predictions and metrics (reuse check)",
    )
    variants: dict[str, QualityIntervals] = Field(default_factory=dict)
    comparisons: list[PairComparison] = Field(default_factory=list)

    def pair(self, variant: str, against: str) -> PairComparison | None:
        return next(
            (c for c in self.comparisons if c.variant == variant and c.against == against), None
        )


# ------------------------------------------------------------------------ shape_plan.json


class ShapePlanFile(ArtifactFile):
    """shape_plan.json beside the weights: module shapes config.json cannot express.

    Its content is described in :mod:`emocompress.models.shape_plan`; emocompress.json
    holds the same plan under ``shape_plan``.
    """

    FILE: ClassVar[str] = "shape_plan.json"
    LEGACY_SCHEMA: ClassVar[str | None] = "emocompress.shape_plan/1"

    modules: dict[str, dict[str, Any]] = Field(default_factory=dict)
    attention: dict[str, dict[str, Any]] = Field(default_factory=dict)


# --------------------------------------------------------------------------- recipe.yaml


class RecipeData(OpenRecord):
    source: str = "demo"
    report: str = "dev"
    max_length: int = 128


class RecipeEvaluation(OpenRecord):
    bootstrap: BootstrapSpec = Field(default_factory=BootstrapSpec)


class ResolvedRecipe(OpenRecord):
    """recipe.yaml as its readers see it: the figures a report, bench or the TUI take from the
    run's recipe. The file is the recipe itself (emocompress.recipe.schema.Recipe, every
    default filled in); validating it whole is the recipe loader's job, which sits above
    this layer, so the keys no reader takes are kept as they are."""

    name: str | None = None
    description: str | None = None
    reference: str = "teacher"
    seed: int | None = None
    data: RecipeData = Field(default_factory=RecipeData)
    evaluation: RecipeEvaluation = Field(default_factory=RecipeEvaluation)

    # the run's copy is written by emocompress; a hand-made one larger than this is refused
    MAX_BYTES: ClassVar[int] = 1024 * 1024

    @classmethod
    def read(cls, path: str | Path) -> ResolvedRecipe:
        import yaml

        from emocompress.artifacts.yamlfile import YamlLimit, load_yaml

        path = Path(path)
        try:
            if path.stat().st_size > cls.MAX_BYTES:
                raise UserError(f"{path}: too large for a recipe", expected="at most 1 MiB")
            data = load_yaml(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UserError(f"{path}: file not found") from None
        except YamlLimit as exc:
            raise UserError(f"{path}: {exc}") from None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise UserError(f"{path}: not a readable YAML recipe ({type(exc).__name__})") from None
        if not isinstance(data, dict):
            raise UserError(f"{path}: expected a YAML mapping")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise UserError(f"{path}: {describe_validation_error(exc)}") from None


ARTIFACT_FILES: tuple[type[ArtifactFile], ...] = (
    RunFile,
    Lineage,
    Metrics,
    History,
    BenchFile,
    GatesFile,
    ShapePlanFile,
    ComparisonFile,
)
