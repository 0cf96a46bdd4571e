"""Time the paired bootstrap of a run (comparison.json) on GoEmotions dev: 5,426 x 28.

Two inputs:

- ``--run RUN_DIR``: a real run directory (its variants' predictions/<report>.npz); the
  comparison is computed in memory (nothing is written into RUN_DIR);
- default: the real GoEmotions dev labels (``--data``) with synthetic scores for a teacher
  and two students (logits: 2.5 x gold + noise; students add more noise), written as a run
  directory in a temporary folder by the real writers.

Measured in the same process: the whole comparison (every variant's intervals, every paired
delta, per-emotion deltas, example flips) with ``--resamples`` (1000), and as the baseline a
naive bootstrap (draw indices, recompute metrics.auc_scores and metrics.prf per resample) for
``--naive`` resamples, extrapolated to ``--resamples``. Run single-threaded:

    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 python bench/bootstrap.py
    OMP_NUM_THREADS=1 python bench/bootstrap.py --run runs/goemotions-minilm
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from emocompress.artifacts.predictions import load_predictions, save_predictions
from emocompress.artifacts.rundir import RunDir
from emocompress.artifacts.schema import BootstrapSpec, Lineage, Metrics, Quality
from emocompress.data.readers import load_splits
from emocompress.measure.bootstrap import resample_counts, selected_resamples
from emocompress.measure.comparison import ensure_comparison
from emocompress.measure.metrics import apply_thresholds, auc_scores, compute_quality, prf

STUDENTS = {"teacher": 0.0, "student-3l": 0.3, "student-2l": 0.45}


def synthetic_run(root: Path, data: str, seed: int = 0) -> RunDir:
    """Real dev labels (report) and 4,300 train labels (tune), synthetic scores per variant."""
    splits = load_splits(data)
    dev, train = splits["dev"], splits["train"]
    tune_labels = train.labels[:4300]
    rng = np.random.default_rng(seed)
    names = list(dev.label_names)
    run = RunDir(root)
    base = {
        role: 2.5 * labels + rng.normal(size=labels.shape) - 3.0
        for role, labels in (("dev", dev.labels), ("tune", tune_labels))
    }
    for name, noise in STUDENTS.items():
        probs = {
            role: (1 / (1 + np.exp(-(logits + noise * rng.normal(size=logits.shape))))).astype(
                np.float32
            )
            for role, logits in base.items()
        }
        variant = run.variant(name)
        save_predictions(variant.predictions_file("tune"), probs["tune"], tune_labels, names)
        save_predictions(variant.predictions_file("dev"), probs["dev"], dev.labels, names)
        quality = compute_quality(probs["tune"], tune_labels, probs["dev"], dev.labels, names)
        variant.write_metrics(
            Metrics(variant=name, labels=names, quality=Quality.model_validate(quality))
        )
        parent = None if name == "teacher" else "teacher"
        variant.write_lineage(
            Lineage(name=name, parent=parent, source="synthetic" if not parent else None,
                    operation="distil")
        )  # fmt: skip
    return run


def naive_seconds_per_resample(run: RunDir, resamples: int, seed: int = 0) -> float:
    """The baseline: per resample, index the arrays and recompute AUC and F1 from scratch."""
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    for vdir in run.variants():
        quality = vdir.load_metrics().quality
        assert quality is not None
        report = load_predictions(vdir.predictions_file(quality.report_split))
        pred = apply_thresholds(report.probs, quality.selected.params, report.label_names)
        for _ in range(resamples):
            drawn = rng.integers(0, len(report.probs), len(report.probs))
            auc_scores(report.probs[drawn], report.labels[drawn], report.label_names)
            prf(pred[drawn], report.labels[drawn], report.label_names)
    return (time.perf_counter() - started) / resamples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/work/shared/data/goemotions")
    parser.add_argument("--run", help="a real run directory instead of synthetic scores")
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--naive", type=int, default=20, help="resamples of the naive baseline")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    with tempfile.TemporaryDirectory() as scratch:
        if args.run:
            run, source = RunDir(args.run), f"run directory {args.run}"
        else:
            run, source = (
                synthetic_run(Path(scratch) / "run", args.data),
                (f"real GoEmotions dev labels ({args.data}), synthetic scores"),
            )
        spec = BootstrapSpec(resamples=args.resamples, seed=13)
        variants = [v for v in run.variants() if v.has_metrics()]
        first = variants[0].load_metrics().quality
        assert first is not None
        n = len(load_predictions(variants[0].predictions_file(first.report_split)).probs)
        comparison_times, per_variant = [], []
        for _ in range(args.repeats):
            started = time.perf_counter()
            comparison = ensure_comparison(run, spec, write=False, reuse=False)
            comparison_times.append(time.perf_counter() - started)
        for vdir in variants:
            quality = vdir.load_metrics().quality
            assert quality is not None
            report = load_predictions(vdir.predictions_file(quality.report_split))
            started = time.perf_counter()
            selected_resamples(quality, report.probs, report.labels, report.label_names, spec)
            per_variant.append(time.perf_counter() - started)
        started = time.perf_counter()
        resample_counts(n, args.resamples, 13)
        counts_seconds = time.perf_counter() - started
        naive = naive_seconds_per_resample(run, args.naive)
        shape = f"{n} x {len(first.auc.per_label)}"
        print(f"input: {source}; {len(variants)} variants, report split {shape}")
        print(f"OMP_NUM_THREADS={threads}, cores {os.cpu_count()}, load {os.getloadavg()[0]:.2f}")
        print(
            f"comparison ({args.resamples} resamples, all variants, {len(comparison.comparisons)}"
            f" pairs): best {min(comparison_times):.2f}s of {args.repeats}, "
            f"all {', '.join(f'{t:.2f}' for t in comparison_times)}"
        )
        print(f"  drawing the counts: {counts_seconds:.2f}s")
        print(f"  one variant's figures: {', '.join(f'{t:.2f}s' for t in per_variant)}")
        naive_total = naive * args.resamples
        print(
            f"naive baseline: {naive * 1000:.0f} ms per resample for all variants "
            f"({args.naive} measured), {naive_total:.0f}s for {args.resamples}: "
            f"{naive_total / min(comparison_times):.0f}x slower"
        )
        for pair in comparison.comparisons:
            auc, f1 = pair.figures.macro_auc, pair.figures.macro_f1
            print(
                f"  {pair.variant} - {pair.against}: macro AUC {auc.point:+.4f} "
                f"[{auc.low:+.4f}, {auc.high:+.4f}], macro F1 {f1.point:+.4f} "
                f"[{f1.low:+.4f}, {f1.high:+.4f}], significant F1 drops: "
                f"{', '.join(pair.significant_f1_drops) or 'none'}"
            )


if __name__ == "__main__":
    main()
