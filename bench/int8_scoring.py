"""How much a dynamic int8 variant's figures depend on how its texts are batched.

ONNX Runtime's dynamic int8 takes one activation scale per batch, so a text's probabilities
follow the texts scored beside it (docs/onnx.md). emocompress scores such graphs one text at
a time; this script scores the same variant both ways in one call, on the run's own tune and
report splits, and measures each way as the runner does (thresholds chosen on tune, figures
on report, the recipe's strategies):

    python bench/int8_scoring.py runs/quickstart student-int8 [more variants]

Per variant: the largest probability change and the share of report texts whose label set
changes between the two scorings, and macro F1 (selected strategy) and macro AUC under each.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from emocompress.artifacts.rundir import RunDir
from emocompress.measure.metrics import apply_thresholds, compute_quality
from emocompress.models.ort import OrtClassifier
from emocompress.recipe.loading import load_recipe
from emocompress.run.runner import data_context


def scored(model: OrtClassifier, texts: list[str], *, alone: bool, max_length: int):
    model.scores_each_text_alone = alone
    started = time.perf_counter()
    probs = model.probs(texts, batch_size=64, max_length=max_length)
    return probs, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("variants", nargs="+")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    run = RunDir(args.run)
    recipe = load_recipe(run.recipe_file)  # the resolved recipe the run wrote
    data = data_context(recipe)
    tune, report = data.split("tune"), data.split("report")
    strategies = recipe.evaluation.strategies if recipe.evaluation else None
    print(
        f"run {run.root}: tune {len(tune.texts):,} texts, report {report.name} {len(report.texts):,}"
    )
    print(
        "| variant | scoring | report s | macro F1 (strategy) | macro AUC "
        "| max |Δp| | report texts whose labels change |"
    )
    print("|---|---|---:|---|---:|---:|---:|")
    for name in args.variants:
        model = OrtClassifier(run.variant(name).path, threads=args.threads)
        assert model.scores_each_text_alone, f"{name}: not a dynamic int8 graph"
        results = {}
        for alone in (False, True):
            tune_probs, _ = scored(model, list(tune.texts), alone=alone, max_length=data.max_length)
            report_probs, seconds = scored(
                model, list(report.texts), alone=alone, max_length=data.max_length
            )
            quality = compute_quality(
                tune_probs,
                np.asarray(tune.labels),
                report_probs,
                np.asarray(report.labels),
                model.label_names,
                strategies=strategies,
            )
            selected = quality["selected_strategy"]
            entry = quality["strategies"][selected]
            labels = apply_thresholds(report_probs, entry["params"], model.label_names)
            results[alone] = (report_probs, labels, seconds, entry, selected, quality)
        (batched, batched_labels, *_), (alone, alone_labels, *_) = results[False], results[True]
        changed = float(np.mean(np.any(batched_labels != alone_labels, axis=1)))
        for key, label in ((False, "batches of 64 by length"), (True, "each text alone")):
            _, _, seconds, entry, selected, quality = results[key]
            print(
                f"| {name} | {label} | {seconds:.1f} | {entry['macro']['f1']:.4f} ({selected}) "
                f"| {quality['auc']['macro']:.4f} | {np.abs(batched - alone).max():.4f} "
                f"| {changed:.1%} |"
            )


if __name__ == "__main__":
    main()
