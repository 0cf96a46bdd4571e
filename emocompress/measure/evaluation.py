"""Measuring a variant the same way every time: predictions on the tune and report splits,
the quality section (thresholds chosen on tune, figures on report) and the size section.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emocompress.artifacts.predictions import save_predictions
from emocompress.artifacts.rundir import METRICS_SCHEMA, VariantDir
from emocompress.measure.metrics import compute_quality
from emocompress.ops.context import DataContext
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
    if (variant_path / "model.onnx").is_file():
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
    extra: dict[str, Any] | None = None,
    parent: VariantDir | None = None,
) -> dict[str, Any]:
    """Write predictions/<split>.npz and metrics.json into ``variant_path``; return the metrics.

    With ``parent`` (the variant this one was made from), metrics.json also holds
    ``against_parent``: the macro-AUC drop on the same report split.
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
    quality = compute_quality(
        tune_probs,
        tune.labels,
        report_probs,
        report.labels,
        report.label_names,
        tune_split=tune.name,
        report_split=report.name,
    )
    previous = variant.metrics() if variant.metrics_file.is_file() else {}
    metrics = {
        **previous,
        "schema": METRICS_SCHEMA,
        "variant": name or variant.name,
        "labels": list(report.label_names),
        "data": data.describe(),
        "quality": quality,
        "size": size_summary(variant.path),
        **(extra or {}),
    }
    if parent is not None:
        metrics["against_parent"] = against_parent(metrics, parent)
    from emocompress.artifacts.atomic import write_json

    write_json(variant.metrics_file, metrics)
    return metrics


def against_parent(metrics: dict[str, Any], parent: VariantDir) -> dict[str, Any]:
    """The variant's macro AUC against its parent's, on the same report split."""
    parent_metrics = parent.metrics() if parent.metrics_file.is_file() else {}
    parent_quality = parent_metrics.get("quality") or {}
    mine = metrics["quality"]["auc"]["macro"]
    theirs = (parent_quality.get("auc") or {}).get("macro")
    same_split = parent_quality.get("report_split") == metrics["quality"]["report_split"]
    drop = theirs - mine if same_split and None not in (mine, theirs) else None
    return {
        "parent": parent.name,
        "parent_macro_auc": theirs if same_split else None,
        "macro_auc_drop": drop,
    }
