"""The comparison of a run directory: intervals of every variant, paired deltas, what was forgot.

:func:`ensure_comparison` computes comparison.json once from the variants' report
predictions (predictions/<report>.npz) and their selected thresholds (metrics.json), and
reuses it while those inputs and the bootstrap settings are unchanged. It works on run
directories made before intervals existed: a variant whose metrics.json has no
``intervals`` section gets one (a section added, nothing replaced).

Pairs: every variant against the reference (the recipe's, or ``teacher``) and against its
parent when that is another variant of the run. All variants are resampled with the same
counts (one seed, one report split), so every delta is paired.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emocompress.artifacts.predictions import load_predictions
from emocompress.artifacts.rundir import RunDir, VariantDir, now
from emocompress.artifacts.schema import (
    BootstrapSpec,
    ComparisonFile,
    PairComparison,
    Quality,
    ResolvedRecipe,
    ThresholdSupport,
)
from emocompress.errors import UserError
from emocompress.measure.bootstrap import (
    Resampled,
    delta_figures,
    quality_intervals,
    resample_counts,
    resample_figures,
    resolved,
)
from emocompress.measure.forgot import example_changes, is_significant_drop, label_deltas
from emocompress.measure.metrics import apply_thresholds, threshold_support
from emocompress.progress import Reporter

DEFAULT_SEED = 13


@dataclass(frozen=True, eq=False)
class _Variant:
    name: str
    dir: VariantDir
    quality: Quality
    probs: np.ndarray
    labels: np.ndarray
    label_names: tuple[str, ...]
    predicted: np.ndarray
    parent: str | None
    fingerprint: str


def run_bootstrap_spec(run: RunDir, spec: BootstrapSpec | None = None) -> BootstrapSpec:
    """``spec``, else the run's recipe's ``evaluation.bootstrap``; the seed filled in."""
    recipe = _recipe(run)
    if spec is None:
        spec = recipe.evaluation.bootstrap if recipe is not None else BootstrapSpec()
    seed = recipe.seed if recipe is not None and recipe.seed is not None else DEFAULT_SEED
    return resolved(spec, seed)


def ensure_comparison(
    run_dir: str | Path | RunDir,
    spec: BootstrapSpec | None = None,
    *,
    reference: str | None = None,
    write: bool = True,
    reuse: bool = True,
    reporter: Reporter | None = None,
) -> ComparisonFile:
    """comparison.json of the run: reused when up to date, else computed (and written).

    ``write=False`` computes in memory only (a reader that must not touch the directory);
    ``reuse=False`` computes even when the file is up to date (a benchmark).
    """
    run = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    spec = run_bootstrap_spec(run, spec)
    reference = reference or _reference_name(run)
    variants = _load_variants(run)
    existing = _existing(run) if reuse else None
    inputs = {v.name: v.fingerprint for v in variants}
    if (
        existing is not None
        and existing.bootstrap == spec
        and existing.inputs == inputs
        and existing.reference == (reference if reference in inputs else None)
    ):
        return existing
    comparison = compute_comparison(run, variants, spec, reference, reporter=reporter)
    if write:
        run.write_comparison(comparison)
        _fill_metrics_intervals(comparison, variants)
    return comparison


def _existing(run: RunDir) -> ComparisonFile | None:
    """The comparison.json on disk; an unreadable one (emocompress's own file) is made again."""
    try:
        return run.load_comparison()
    except UserError:
        return None


def compute_comparison(
    run: RunDir,
    variants: Sequence[_Variant],
    spec: BootstrapSpec,
    reference: str,
    *,
    reporter: Reporter | None = None,
) -> ComparisonFile:
    """Every variant resampled with the same counts; every pair of :func:`comparison_pairs`.

    Variants on another report split (or other examples) than the reference are left out,
    with a log line.
    """
    reporter = reporter or Reporter("quiet")
    if not variants:
        raise UserError(f"{run.root}: no variant with quality and report predictions")
    base = next((v for v in variants if v.name == reference), variants[0])
    split, n = base.quality.report_split, len(base.probs)
    same = [v for v in variants if _comparable(v, base)]
    kept = {v.name for v in same}
    for other in variants:
        if other.name not in kept:
            reporter.log(
                f"compare: {other.name} left out (report split {other.quality.report_split!r}, "
                f"{len(other.probs)} examples; the others: {split!r}, {n})"
            )
    assert spec.seed is not None
    counts = resample_counts(n, spec.resamples, spec.seed)
    texts = _report_texts(run, base)
    figures: dict[str, Resampled] = {}
    for variant in same:
        reporter.log(f"compare: {variant.name}: {spec.resamples} resamples of {n} examples")
        figures[variant.name] = resample_figures(
            variant.probs, variant.labels, variant.predicted, variant.label_names, counts
        )
    by_name = {v.name: v for v in same}
    comparisons = [
        _pair(by_name[mine], by_name[theirs], roles, figures, spec.confidence, texts)
        for mine, theirs, roles in comparison_pairs(same, reference)
    ]
    return ComparisonFile(
        created=now(),
        bootstrap=spec,
        report_split=split,
        n_report=n,
        reference=reference if reference in by_name else None,
        inputs={v.name: v.fingerprint for v in variants},
        variants={
            name: quality_intervals(
                figures[name],
                spec,
                report_split=split,
                strategy=by_name[name].quality.selected_strategy,
            )
            for name in figures
        },
        comparisons=comparisons,
    )


def comparison_pairs(
    variants: Sequence[_Variant], reference: str
) -> list[tuple[str, str, list[str]]]:
    """(variant, against, roles): each variant against the reference and its parent."""
    names = {v.name for v in variants}
    pairs: list[tuple[str, str, list[str]]] = []
    for variant in variants:
        against: dict[str, list[str]] = {}
        if reference in names and variant.name != reference:
            against.setdefault(reference, []).append("reference")
        if variant.parent in names and variant.parent != variant.name:
            against.setdefault(variant.parent, []).append("parent")
        pairs.extend((variant.name, other, roles) for other, roles in against.items())
    return pairs


def _pair(
    mine: _Variant,
    theirs: _Variant,
    roles: list[str],
    figures: dict[str, Resampled],
    confidence: float,
    texts: list[str] | None,
) -> PairComparison:
    a, b = figures[mine.name], figures[theirs.name]
    per_label = label_deltas(a, b, confidence)
    flipped, flipped_examples, examples = example_changes(
        mine.probs, mine.predicted, theirs.probs, theirs.predicted, mine.labels,
        mine.label_names, texts,
    )  # fmt: skip
    return PairComparison(
        variant=mine.name,
        against=theirs.name,
        roles=roles,
        strategy=mine.quality.selected_strategy,
        against_strategy=theirs.quality.selected_strategy,
        figures=delta_figures(a, b, confidence),
        per_label=per_label,
        significant_f1_drops=[row.label for row in per_label if is_significant_drop(row)],
        flipped_decisions=flipped,
        flipped_examples=flipped_examples,
        examples=examples,
    )


def _comparable(variant: _Variant, base: _Variant) -> bool:
    return (
        variant.quality.report_split == base.quality.report_split
        and variant.label_names == base.label_names
        and variant.labels.shape == base.labels.shape
        and np.array_equal(variant.labels, base.labels)
    )


def _load_variants(run: RunDir) -> list[_Variant]:
    """The run's variants with a quality section and report predictions, in run order."""
    found = []
    for vdir in run.variants():
        metrics = vdir.load_metrics_or_none()
        if metrics is None or metrics.quality is None:
            continue
        quality = metrics.quality
        report_file = vdir.predictions_file(quality.report_split)
        if not report_file.is_file():
            continue
        report = load_predictions(report_file)
        lineage = vdir.load_lineage_or_none()
        parents = lineage.parents if lineage is not None else []
        selected = quality.selected
        fingerprint = hashlib.sha256(report_file.read_bytes())
        fingerprint.update(
            json.dumps([quality.selected_strategy, selected.params], sort_keys=True).encode()
        )
        found.append(
            _Variant(
                name=vdir.name,
                dir=vdir,
                quality=quality,
                probs=report.probs,
                labels=report.labels,
                label_names=report.label_names,
                predicted=apply_thresholds(report.probs, selected.params, report.label_names),
                parent=parents[0] if len(parents) == 1 else None,
                fingerprint=fingerprint.hexdigest(),
            )
        )
    return found


def _fill_metrics_intervals(comparison: ComparisonFile, variants: Sequence[_Variant]) -> None:
    """Give metrics.json the comparison's ``intervals`` section where it has none (older run
    directories) or one computed with other bootstrap settings; nothing else changes."""
    for variant in variants:
        section = comparison.variants.get(variant.name)
        metrics = variant.dir.load_metrics_or_none()
        if section is None or metrics is None or metrics.intervals == section:
            continue
        old = metrics.intervals
        if old is None or (old.resamples, old.seed, old.confidence) != (
            section.resamples,
            section.seed,
            section.confidence,
        ):
            variant.dir.update_sections(intervals=section)
        if metrics.threshold_support is None:
            support = _threshold_support(variant)
            if support is not None:
                variant.dir.update_sections(threshold_support=support)


def _threshold_support(variant: _Variant) -> ThresholdSupport | None:
    """The tune positives of an older variant, from its predictions/<tune>.npz."""
    tune_file = variant.dir.predictions_file(variant.quality.tune_split)
    if not tune_file.is_file():
        return None
    tune = load_predictions(tune_file)
    return ThresholdSupport.model_validate(
        threshold_support(
            tune.probs, tune.labels, tune.label_names, tune_split=variant.quality.tune_split
        )
    )


def _recipe(run: RunDir) -> ResolvedRecipe | None:
    try:
        return run.load_recipe()
    except UserError:
        return None


def _reference_name(run: RunDir) -> str:
    recipe = _recipe(run)
    return recipe.reference if recipe is not None else "teacher"


def _report_texts(run: RunDir, base: _Variant) -> list[str] | None:
    """The report split's texts, read again from the run's data; None when that fails.

    Predictions keep the split's order, so row i is text i; the gold labels must match.
    """
    from emocompress.data.context import DataContext

    recipe = _recipe(run)
    if recipe is None:
        return None
    data = recipe.data.model_dump()
    try:
        context = DataContext(
            source=str(data.get("source", "demo")),
            train=str(data.get("train", "train")),
            tune=data.get("tune") or {"carve_from": "train", "fraction": 0.1},
            report=str(data.get("report", "dev")),
            max_length=int(data.get("max_length", 128)),
            max_examples=dict(data.get("max_examples") or {}),
            seed=recipe.seed if recipe.seed is not None else DEFAULT_SEED,
        )
        split = context.split("report")
    except Exception:  # noqa: BLE001 - the texts are optional (a hub source offline, a moved file)
        return None
    if split.name != base.quality.report_split or not np.array_equal(
        np.asarray(split.labels, dtype=np.uint8), base.labels
    ):
        return None
    return list(split.texts)
