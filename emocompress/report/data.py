"""Everything a report needs, read from a run directory (and recomputed from its predictions).

Nothing here is estimated: figures come from metrics.json, history.json, run.json and
bench.json as written, read through the typed models (emocompress.artifacts.schema), and
the per-label confusion counts and ROC curves come from predictions/<report split>.npz at
the thresholds metrics.json recorded. Before anything is reported, each variant's quality
section is recomputed from its predictions files and any disagreement is listed in the
report.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np

from emocompress.artifacts.rundir import RunDir, VariantDir
from emocompress.artifacts.schema import (
    BenchFile,
    ComparisonFile,
    History,
    Lineage,
    Metrics,
    Quality,
    ResolvedRecipe,
    RunFile,
    Scores,
    StepRecord,
    StrategyResult,
)
from emocompress.errors import UserError
from emocompress.measure.summary import variant_row

Average = Literal["micro", "macro"]
AVERAGES: tuple[Average, ...] = ("micro", "macro")


def scores_of(strategy: StrategyResult, average: Average) -> Scores:
    """The micro or macro scores of a strategy."""
    return strategy.micro if average == "micro" else strategy.macro


def auc_of(quality: Quality, average: Average) -> float | None:
    """The micro or macro AUC of a quality section."""
    return quality.auc.micro if average == "micro" else quality.auc.macro


@dataclass
class LabelCounts:
    """Per-label confusion counts of one variant at its selected strategy (report split)."""

    label_names: tuple[str, ...]
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tn: np.ndarray

    def row(self, label: str) -> dict[str, int]:
        j = self.label_names.index(label)
        return {
            "tp": int(self.tp[j]),
            "fp": int(self.fp[j]),
            "fn": int(self.fn[j]),
            "tn": int(self.tn[j]),
        }


@dataclass
class VariantData:
    """One finished variant: its files, read through the typed models, and what its
    predictions say."""

    dir: VariantDir
    metrics: Metrics
    lineage: Lineage
    history: History | None
    row: dict[str, Any]  # summary.variant_row against the baseline, plus a few keys (_row)
    step: StepRecord | None  # its entry in run.json steps
    checks: list[str] = field(default_factory=list)  # recomputation disagreements

    @property
    def name(self) -> str:
        return self.dir.name

    @property
    def quality(self) -> Quality | None:
        return self.metrics.quality

    @property
    def evaluated_quality(self) -> Quality:
        """The quality section of a variant that is reported (see :attr:`not_evaluated`)."""
        if self.quality is None:
            raise UserError("no quality section", where=str(self.dir.metrics_file))
        return self.quality

    @property
    def selected_strategy(self) -> str | None:
        return self.quality.selected_strategy if self.quality else None

    @property
    def selected(self) -> StrategyResult:
        """The strategy selected on the tune split (of a reported variant)."""
        return self.evaluated_quality.selected

    @property
    def tune_file(self) -> Path:
        return self.dir.predictions_file(self.evaluated_quality.tune_split)

    @property
    def report_file(self) -> Path:
        return self.dir.predictions_file(self.evaluated_quality.report_split)

    @cached_property
    def report_predictions(self):
        from emocompress.artifacts.predictions import load_predictions

        return load_predictions(self.report_file)

    @cached_property
    def counts(self) -> LabelCounts:
        """TP/FP/FN/TN per label from the report predictions at the selected thresholds."""
        from emocompress.measure.metrics import confusion_counts

        preds = self.report_predictions
        pred = self.predicted
        tp, fp, fn = confusion_counts(pred, preds.labels)
        tn = len(pred) - tp - fp - fn
        return LabelCounts(preds.label_names, tp, fp, fn, tn)

    @property
    def not_evaluated(self) -> str | None:
        """Why the quality of this variant cannot be reported (None: it can)."""
        if self.quality is None:
            return f"{Metrics.FILE} has no quality section"
        for path in (self.tune_file, self.report_file):
            if not path.is_file():
                return f"{path.relative_to(self.dir.path)} is missing, so nothing can be checked"
        return None

    @cached_property
    def predicted(self) -> np.ndarray:
        """0/1 (n, L) predictions on the report split at the selected thresholds."""
        from emocompress.measure.metrics import apply_thresholds

        preds = self.report_predictions
        return apply_thresholds(preds.probs, self.selected.params, preds.label_names)

    @cached_property
    def tune_support(self) -> dict[str, int]:
        """Positive examples per label in the tune split (what the thresholds were chosen on)."""
        from emocompress.artifacts.predictions import load_predictions

        preds = load_predictions(self.tune_file)
        counts = np.asarray(preds.labels).astype(bool).sum(axis=0)
        return {name: int(n) for name, n in zip(preds.label_names, counts, strict=True)}

    @property
    def trained(self) -> bool:
        return bool(self.history and self.history.steps)

    @property
    def train_seconds(self) -> float | None:
        """The one train time of the variant (history.json), as every other reader shows it."""
        return self.dir.train_seconds()


@dataclass
class ReportData:
    run: RunDir
    state: RunFile
    variants: list[VariantData]
    baseline: str
    bench: BenchFile | None  # bench.json when bench ran
    skipped: list[str]  # variant folders without metrics.json / emocompress.json
    unreadable: list[str] = field(default_factory=list)  # "name: the file's problem", left out
    recipe: ResolvedRecipe | None = None  # recipe.yaml (None: missing or unreadable)
    comparison: ComparisonFile | None = None  # comparison.json (intervals, paired deltas)

    @property
    def evaluated(self) -> list[VariantData]:
        """The variants whose quality is reported: a quality section and both predictions."""
        return [v for v in self.variants if not v.not_evaluated]

    @property
    def not_evaluated(self) -> list[VariantData]:
        return [v for v in self.variants if v.not_evaluated]

    def variant(self, name: str) -> VariantData:
        return next(v for v in self.variants if v.name == name)

    @property
    def base(self) -> VariantData:
        return self.variant(self.baseline)

    @property
    def label_names(self) -> tuple[str, ...]:
        return tuple(self.base.metrics.labels or self.base.report_predictions.label_names)


def gather(
    run_dir: str | Path,
    baseline: str | None = None,
    *,
    verify: bool = True,
    write_comparison: bool = False,
) -> ReportData:
    """Read a run directory; UserError when it is not one or holds no finished variant.

    ``baseline`` defaults to the recipe's ``reference`` (the run's copy of the recipe),
    else ``teacher``, else the first variant made. ``verify`` recomputes each quality
    section from the predictions files (docs/metrics.md) and keeps the disagreements.
    The run's comparison.json (intervals, paired deltas against the baseline) is reused, or
    computed: written into the run directory with ``write_comparison``, else kept in memory.
    """
    run = RunDir(run_dir)
    if not run.root.is_dir():
        raise UserError(f"{run.root}: no such directory", expected="a run directory")
    if not RunDir.is_run_dir(run.root):
        raise UserError(
            f"{run.root}: not a run directory", expected=f"{RunFile.FILE} and variants/ inside"
        )
    state = run.load_state()
    found = run.variants()
    complete = [v for v in found if v.is_complete()]
    if not complete:
        raise UserError(
            f"{run.root}: no finished variant",
            expected=f"variants/<name>/{Metrics.FILE} and {Lineage.FILE} (run the recipe first)",
        )
    unchecked, unreadable = [], []
    for variant in complete:  # one broken file costs its variant, not the report
        try:
            unchecked.append(_read_variant(variant, None, state, verify=False))
        except UserError as error:
            unreadable.append(f"{variant.name}: {error}")
    names = [v.name for v in unchecked if not v.not_evaluated]
    if not names:
        reasons = "; ".join([f"{v.name}: {v.not_evaluated}" for v in unchecked] + unreadable)
        raise UserError(f"{run.root}: no variant with quality to report ({reasons})")
    recipe = read_recipe(run)
    baseline = baseline or _default_baseline(recipe, names)
    if baseline not in names:
        raise UserError(
            f"baseline {baseline!r} is not a finished, evaluated variant of {run.root}",
            expected=f"one of {', '.join(names)}",
        )
    base_metrics = next(v for v in unchecked if v.name == baseline).metrics
    variants = [_read_variant(v.dir, base_metrics, state, verify) for v in unchecked]
    return ReportData(
        run=run,
        state=state,
        variants=variants,
        baseline=baseline,
        bench=run.load_bench(),
        skipped=[v.name for v in found if not v.is_complete()],
        unreadable=unreadable,
        recipe=recipe,
        comparison=_comparison_of(run, baseline, write_comparison),
    )


def _comparison_of(run: RunDir, baseline: str, write: bool) -> ComparisonFile | None:
    from emocompress.measure.comparison import ensure_comparison

    try:
        return ensure_comparison(run, reference=baseline, write=write)
    except UserError:  # nothing comparable (no report predictions): the section says so
        return None


def read_recipe(run: RunDir) -> ResolvedRecipe | None:
    """The run's copy of its recipe; None when it is missing or unreadable (the report only
    shows its description and default baseline, so an odd recipe does not stop it)."""
    try:
        return run.load_recipe()
    except UserError:
        return None


def _default_baseline(recipe: ResolvedRecipe | None, names: list[str]) -> str:
    for candidate in (recipe.reference if recipe else None, "teacher"):
        if candidate in names:
            return candidate
    return names[0]


def _read_variant(
    vdir: VariantDir, base_metrics: Metrics | None, state: RunFile, verify: bool
) -> VariantData:
    metrics = vdir.load_metrics()
    data = VariantData(
        dir=vdir,
        metrics=metrics,
        lineage=vdir.load_lineage(),
        history=vdir.load_history(),
        row=_row(vdir, metrics, base_metrics),
        step=state.steps.get(vdir.name),
    )
    if verify and not data.not_evaluated:
        data.checks = _recheck(data)
    return data


def _row(vdir: VariantDir, metrics: Metrics, base_metrics: Metrics | None) -> dict[str, Any]:
    """emocompress.measure.summary.variant_row plus the figures the comparison adds to it."""
    row = variant_row(vdir, base_metrics)
    runtime = (
        metrics.speed.runtimes.get(row["runtime"]) if metrics.speed and row["runtime"] else None
    )
    largest = max(runtime.batches) if runtime and runtime.batches else None
    selected = metrics.quality.selected if metrics.quality else None
    facts = _architecture(vdir)
    return {
        **row,
        "micro_precision": selected.micro.precision if selected else None,
        "micro_recall": selected.micro.recall if selected else None,
        "best_epoch": metrics.training.best_epoch if metrics.training else None,
        "max_positions": facts.get("max_positions"),
        # p50 latency at the largest batch measured (the latency of the trade-off figure)
        "latency_batch": largest,
        "latency_ms": runtime.batch(largest).p50_ms if runtime and largest else None,
        "macro_precision": selected.macro.precision if selected else None,
        "macro_recall": selected.macro.recall if selected else None,
        "weight_bytes": metrics.size.bytes_on_disk if metrics.size else None,
    }


def _architecture(vdir: VariantDir) -> dict[str, Any]:
    """config.json facts of the variant (empty when it has none or it cannot be read)."""
    from emocompress.models.inspect import architecture

    try:
        return architecture(vdir.path) or {}
    except UserError:
        return {}


def _recheck(variant: VariantData) -> list[str]:
    """Disagreements between metrics.json and the quality recomputed from predictions."""
    from emocompress.measure.metrics import quality_differences, quality_from_files

    quality = variant.evaluated_quality
    recomputed = Quality.model_validate(
        quality_from_files(
            variant.tune_file,
            variant.report_file,
            tune_split=quality.tune_split,
            report_split=quality.report_split,
        )
    )
    problems = quality_differences(
        quality.model_dump(mode="json"), recomputed.model_dump(mode="json"), tol=1e-9
    )
    # the counts this report draws must be those metrics.json holds, label by label
    per_label = variant.selected.per_label
    counts = variant.counts
    for label in counts.label_names:
        recorded = per_label.get(label)
        if recorded is None:
            continue
        mine = counts.row(label)
        for key, theirs in (("tp", recorded.tp), ("fp", recorded.fp), ("fn", recorded.fn)):
            if theirs != mine[key]:
                problems.append(f"{label}.{key}: {Metrics.FILE} {theirs} != {mine[key]}")
    return problems


# ------------------------------------------------------------------ derived figures

BCE, GOLD_LOSS, DISTILLATION = "bce", "gold-loss", "distillation"


def loss_kind(variant: VariantData) -> str:
    """What the variant's training loss is: the distillation objective (a distilled variant,
    or a prune recovery by distillation), another gold-label loss (focal, ASL, class-balanced
    weights, label smoothing: not on BCE's scale) or the plain BCE of fine-tuning."""
    training = variant.metrics.training
    if variant.lineage.operation == "distil" or (training and training.mode == "distil"):
        return DISTILLATION
    settings = variant.history.settings if variant.history else {}
    if (
        settings.get("loss") not in (None, "bce")
        or settings.get("class_weights") not in (None, "none")
        or settings.get("label_smoothing")
    ):
        return GOLD_LOSS
    return BCE


def tune_bce(variant: VariantData) -> float | None:
    """Mean binary cross-entropy of the final model on the tune split (from tune.npz).

    The model saved is the best checkpoint, so this is the tune loss at the best epoch
    (older history.json files record no per-epoch tune loss).
    """
    from emocompress.artifacts.predictions import load_predictions

    if variant.not_evaluated:
        return None
    preds = load_predictions(variant.tune_file)
    p = np.clip(preds.probs.astype(np.float64), 1e-7, 1 - 1e-7)
    y = preds.labels.astype(np.float64)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


# below this many positive tune examples a label's own threshold is a guess
MIN_TUNE_SUPPORT = 10
# a strategy that beats the selected one on the report split by more than this is worth a note
STRATEGY_MARGIN = 0.005


@dataclass(frozen=True)
class StrategyUpset:
    selected: str
    selected_f1: float
    tune_f1: float | None
    winner: str
    winner_f1: float
    winner_tune_f1: float | None


def strategy_upset(variant: VariantData) -> StrategyUpset | None:
    """The strategy that scores a higher report macro F1 than the selected one (chosen on
    the tune split) by more than STRATEGY_MARGIN, if any."""
    quality = variant.evaluated_quality
    chosen = quality.selected.macro.f1
    if chosen is None:
        return None
    scored = [
        (name, s.macro.f1) for name, s in quality.strategies.items() if s.macro.f1 is not None
    ]
    name, best = max(scored, key=lambda item: item[1])
    if name == quality.selected_strategy or best - chosen <= STRATEGY_MARGIN:
        return None
    return StrategyUpset(
        quality.selected_strategy,
        chosen,
        quality.selected.tune_macro_f1,
        name,
        best,
        quality.strategies[name].tune_macro_f1,
    )


def thin_labels(variant: VariantData) -> dict[str, int]:
    """Labels with fewer than MIN_TUNE_SUPPORT positive tune examples, and their counts."""
    return {k: n for k, n in variant.tune_support.items() if n < MIN_TUNE_SUPPORT}


@dataclass(frozen=True)
class GoldCountRow:
    gold: str  # "0", "1", "2", "3+"
    texts: int
    micro_f1: float | None
    exact: float | None  # share of texts whose predicted label set is the gold one


def by_gold_count(variant: VariantData) -> list[GoldCountRow]:
    """Micro F1 and exact-match share on the report split, by the number of gold labels a
    text has (the multi-label complexity analysis), at the selected thresholds."""
    gold = np.asarray(variant.report_predictions.labels).astype(bool)
    pred = np.asarray(variant.predicted).astype(bool)
    counts = gold.sum(axis=1)
    rows = []
    for name, mask in (
        ("0", counts == 0),
        ("1", counts == 1),
        ("2", counts == 2),
        ("3+", counts >= 3),
    ):
        if not mask.any():
            continue
        g, p = gold[mask], pred[mask]
        tp = int((g & p).sum())
        denominator = 2 * tp + int((~g & p).sum()) + int((g & ~p).sum())
        rows.append(
            GoldCountRow(
                name,
                int(mask.sum()),
                2 * tp / denominator if denominator else None,
                float((g == p).all(axis=1).mean()),
            )
        )
    return rows


def correlation(x: list[float], y: list[float]) -> dict[str, float | None]:
    """Pearson and Spearman (Pearson of average ranks) correlation; None when undefined."""
    from emocompress.measure.metrics import _average_ranks

    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def pearson(u: np.ndarray, v: np.ndarray) -> float | None:
        if len(u) < 2 or u.std() == 0 or v.std() == 0:
            return None
        return float(np.corrcoef(u, v)[0, 1])

    return {
        "pearson": pearson(a, b),
        "spearman": pearson(_average_ranks(a), _average_ranks(b)),
        "n": len(a),
    }


def percent_change(value: float | None, base: float | None) -> float | None:
    """(value - base) / |base| in percent; None when either is missing or base is 0."""
    if value is None or base is None or base == 0 or not math.isfinite(base):
        return None
    return (value - base) / abs(base) * 100


@dataclass(frozen=True)
class Artifact:
    path: str  # relative to the variant directory
    bytes: int
    sha256: str


def artifacts(variant: VariantData) -> list[Artifact]:
    """Every file of the variant directory (hidden ones left out), with size and sha256."""
    files = sorted(
        p
        for p in variant.dir.path.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(variant.dir.path).parts)
    )
    return [
        Artifact(str(p.relative_to(variant.dir.path)), p.stat().st_size, _sha256(p)) for p in files
    ]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
