"""Run directories written from synthetic predictions with the real writers.

save_predictions, compute_quality, Metrics and Lineage make each variant as evaluate_variant
leaves it (no weights), so comparison.json, the gates and the TUI read real files. A
teacher (signal 0.5) and students that mix its scores with weaker ones of their own.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from emocompress.artifacts.predictions import save_predictions
from emocompress.artifacts.rundir import RunDir
from emocompress.artifacts.schema import BootstrapSpec, Lineage, Metrics, Quality
from emocompress.measure.metrics import compute_quality

NAMES = ["joy", "anger", "grief", "relief"]
RATES = np.array([0.3, 0.2, 0.08, 0.05])


def _labels(seed: int, n: int) -> np.ndarray:
    return (np.random.default_rng(seed).random((n, len(NAMES))) < RATES).astype(np.uint8)


def _probs(labels: np.ndarray, signal: float, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).random(labels.shape)
    return np.clip(signal * labels + (1 - signal) * noise, 0, 1).astype(np.float32)


def write_variant(
    run: RunDir,
    name: str,
    report_probs: np.ndarray,
    tune_probs: np.ndarray,
    *,
    parent: str | None,
    report_labels: np.ndarray,
    tune_labels: np.ndarray,
    intervals: bool = False,
) -> None:
    """A variant folder as evaluate_variant leaves it (no model weights)."""
    variant = run.variant(name)
    save_predictions(variant.predictions_file("tune"), tune_probs, tune_labels, NAMES)
    save_predictions(variant.predictions_file("dev"), report_probs, report_labels, NAMES)
    quality = Quality.model_validate(
        compute_quality(tune_probs, tune_labels, report_probs, report_labels, NAMES)
    )
    metrics = Metrics(variant=name, labels=NAMES, quality=quality)
    if intervals:
        from emocompress.measure.bootstrap import intervals_of_quality

        spec = BootstrapSpec(resamples=200, seed=13)
        metrics = metrics.model_copy(
            update={
                "intervals": intervals_of_quality(quality, report_probs, report_labels, NAMES, spec)
            }
        )
    variant.write_metrics(metrics)
    variant.write_lineage(
        Lineage(name=name, parent=parent, source=None if parent else "m", operation="distil")
    )


def make_run(root: Path, students: dict[str, float], *, n: int = 300) -> RunDir:
    """teacher (signal 0.5) and students with the given signal, each distilled from it."""
    run = RunDir(root)
    report_labels, tune_labels = _labels(1, n), _labels(2, 200)
    teacher = (_probs(report_labels, 0.5, 10), _probs(tune_labels, 0.5, 11))
    write_variant(
        run, "teacher", *teacher, parent=None, report_labels=report_labels, tune_labels=tune_labels
    )
    for i, (name, signal) in enumerate(students.items()):
        # a student: the teacher's scores mixed with its own, weaker ones
        own = (_probs(report_labels, signal, 20 + i), _probs(tune_labels, signal, 30 + i))
        probs = [
            np.clip(0.5 * t + 0.5 * o, 0, 1).astype(np.float32)
            for t, o in zip(teacher, own, strict=True)
        ]
        write_variant(
            run,
            name,
            *probs,
            parent="teacher",
            report_labels=report_labels,
            tune_labels=tune_labels,
        )
    return run
