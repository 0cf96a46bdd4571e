"""Measuring a variant the same way every time: predictions on the tune and report splits,
the quality section (thresholds chosen on tune, figures on report) and the size section.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emocompress.artifacts.predictions import save_predictions
from emocompress.artifacts.rundir import VariantDir
from emocompress.artifacts.schema import (
    AgainstParent,
    BootstrapSpec,
    DataInfo,
    Metrics,
    Quality,
    Size,
    ThresholdSupport,
)
from emocompress.data.context import DataContext
from emocompress.measure.bootstrap import intervals_of_quality, resolved
from emocompress.measure.metrics import MIN_TUNE_POSITIVES, compute_quality, threshold_support
from emocompress.progress import Reporter


def score_texts(
    variant_path: Path,
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    max_length: int = 128,
    device: str = "cpu",
    reporter: Reporter | None = None,
    description: str = "scoring",
) -> tuple[np.ndarray, list[str]]:
    """Probabilities (n, L) and label names from whichever runtime the variant is for."""
    if VariantDir(variant_path).is_onnx:
        from emocompress.models.ort import predict_probs as ort_predict_probs

        return ort_predict_probs(variant_path, texts, batch_size=batch_size, max_length=max_length)
    from emocompress.measure.inference import predict_probs
    from emocompress.models.classifier import label_names_of, load_classifier, load_tokenizer

    model = load_classifier(variant_path, device=device)
    probs = predict_probs(
        model,
        load_tokenizer(variant_path),
        texts,
        batch_size=batch_size,
        max_length=max_length,
        reporter=reporter,
        description=description,
    )
    return probs, label_names_of(model)


def evaluate_variant(
    variant_path: Path,
    data: DataContext,
    *,
    name: str | None = None,
    batch_size: int = 64,
    device: str = "cpu",
    reporter: Reporter | None = None,
    sections: Mapping[str, Any] | None = None,
    parent: VariantDir | None = None,
    bootstrap: BootstrapSpec | None = None,
    min_tune_positives: int = MIN_TUNE_POSITIVES,
    strategies: Sequence[str] | None = None,
) -> Metrics:
    """Write predictions/<split>.npz and metrics.json into ``variant_path``; return the metrics.

    ``sections`` are the operation's own metrics sections (training, parity, ...). With
    ``parent`` (the variant this one was made from), metrics.json also holds
    ``against_parent``: the macro-AUC drop on the same report split. Sections measured
    earlier and not measured again (a bench's speed) are kept. ``bootstrap`` sets the
    intervals (default: 1000 resamples, the data's seed, 95%); tune labels with fewer than
    ``min_tune_positives`` positives are warned about in ``threshold_support``.
    ``strategies``: the threshold strategies measured and selected among (default: all).
    """
    from emocompress.data.readers import check_label_set
    from emocompress.models.inspect import size_summary

    variant = VariantDir(Path(variant_path))
    reporter = reporter or Reporter("quiet")
    scored = {}
    for role in ("tune", "report"):
        split = data.split(role)
        probs, model_labels = score_texts(
            variant.path,
            split.texts,
            batch_size=batch_size,
            max_length=data.max_length,
            device=device,
            reporter=reporter,
            description=f"{name or variant.name}: scoring {role} ({split.name})",
        )
        check_label_set(split.label_names, model_labels, where=str(variant.path))
        save_predictions(
            variant.predictions_file(split.name), probs, split.labels, split.label_names
        )
        scored[role] = (split, probs)
    (tune, tune_probs), (report, report_probs) = scored["tune"], scored["report"]
    quality = Quality.model_validate(
        compute_quality(
            tune_probs,
            tune.labels,
            report_probs,
            report.labels,
            report.label_names,
            tune_split=tune.name,
            report_split=report.name,
            strategies=strategies,
        )
    )
    measured = Metrics(
        variant=name or variant.name,
        labels=list(report.label_names),
        data=DataInfo.model_validate(data.describe()),
        quality=quality,
        size=Size.model_validate(size_summary(variant.path)),
        intervals=intervals_of_quality(
            quality,
            report_probs,
            report.labels,
            report.label_names,
            resolved(bootstrap, data.seed),
        ),
        threshold_support=ThresholdSupport.model_validate(
            threshold_support(
                tune_probs,
                tune.labels,
                report.label_names,
                tune_split=tune.name,
                min_positives=min_tune_positives,
            )
        ),
        against_parent=against_parent(quality, parent) if parent is not None else None,
        **(sections or {}),
    )
    previous = variant.load_metrics_or_none()
    metrics = measured if previous is None else _updated(previous, measured)
    variant.write_metrics(metrics)
    return metrics


def evaluation_is_current(
    metrics: Metrics, strategies: Sequence[str] | None, bootstrap: BootstrapSpec
) -> bool:
    """Whether ``metrics`` were measured with these threshold strategies and intervals (a
    resumed run whose recipe changed ``evaluation`` re-measures from the predictions)."""
    from emocompress.measure.metrics import STRATEGIES

    quality, intervals = metrics.quality, metrics.intervals
    if quality is None:
        return True  # not an evaluated variant
    wanted = list(dict.fromkeys(strategies)) if strategies else list(STRATEGIES)
    if sorted(quality.strategies) != sorted(wanted):
        return False
    if intervals is None:
        return False
    return (intervals.resamples, intervals.seed, intervals.confidence) == (
        bootstrap.resamples,
        bootstrap.seed,
        bootstrap.confidence,
    )


def remeasure_from_predictions(
    variant: VariantDir, *, strategies: Sequence[str] | None, bootstrap: BootstrapSpec
) -> Metrics:
    """The quality and intervals sections again from the variant's saved predictions (no
    model is loaded), with these strategies and intervals; every other section is kept."""
    from emocompress.artifacts.predictions import load_predictions
    from emocompress.measure.metrics import quality_from_files

    previous = variant.load_metrics()
    old = previous.quality
    assert old is not None, "only evaluated variants are re-measured"
    tune_file = variant.predictions_file(old.tune_split)
    report_file = variant.predictions_file(old.report_split)
    quality = Quality.model_validate(
        quality_from_files(tune_file, report_file, strategies=strategies)
    )
    report = load_predictions(report_file)
    intervals = intervals_of_quality(
        quality, report.probs, report.labels, report.label_names, bootstrap
    )
    metrics = previous.model_copy(update={"quality": quality, "intervals": intervals})
    variant.write_metrics(metrics)
    return metrics


def _updated(previous: Metrics, measured: Metrics) -> Metrics:
    """``previous`` with every section measured now replaced (the rest, e.g. speed, kept)."""
    return previous.model_copy(
        update={name: getattr(measured, name) for name in measured.model_fields_set}
    )


def against_parent(quality: Quality, parent: VariantDir) -> AgainstParent:
    """The variant's macro AUC against its parent's, on the same report split."""
    parent_metrics = parent.load_metrics_or_none()
    theirs = parent_metrics.quality if parent_metrics is not None else None
    same_split = theirs is not None and theirs.report_split == quality.report_split
    parent_auc = theirs.auc.macro if same_split and theirs is not None else None
    mine = quality.auc.macro
    drop = parent_auc - mine if parent_auc is not None and mine is not None else None
    return AgainstParent(parent=parent.name, parent_macro_auc=parent_auc, macro_auc_drop=drop)
