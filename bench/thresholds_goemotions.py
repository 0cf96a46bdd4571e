"""Per-label threshold strategies on a finished run's stored predictions (no model is run).

For every variant with ``predictions/<tune>.npz`` and ``predictions/<report>.npz``: report
macro F1 under ``global``, ``per_label``, ``per_label_shrunk`` at several shrink priors k
and ``per_label_cv``, each chosen on the tune split; then the same for the ensemble whose
probabilities are the mean of all those variants' (and of the teacher with each student).

    python bench/thresholds_goemotions.py /work/runs/goemotions-minilm [--priors 10 50 200]

Reads the run directory only; writes nothing.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from emocompress.artifacts.predictions import Predictions, load_predictions
from emocompress.artifacts.rundir import RunDir
from emocompress.measure.metrics import (
    SHRINK_PRIOR,
    _macro_f1_of,
    auc_scores,
    fit_global,
    fit_per_label,
    fit_per_label_cv,
    fit_per_label_shrunk,
)


def figures(tune: Predictions, report: Predictions, priors: list[int]) -> dict[str, float]:
    """Report-split macro F1 of each strategy fitted on the tune split, and macro AUC."""
    names = tune.label_names
    fits = {
        "global": fit_global(tune.probs, tune.labels, names),
        "per_label": fit_per_label(tune.probs, tune.labels, names),
        **{
            f"shrunk k={k}": fit_per_label_shrunk(tune.probs, tune.labels, names, prior=k)
            for k in priors
        },
        "per_label_cv": fit_per_label_cv(tune.probs, tune.labels, names),
    }
    out = {name: _macro_f1_of(p, report.probs, report.labels, names) for name, p in fits.items()}
    out["macro AUC"] = auc_scores(report.probs, report.labels, names)["macro"]
    return out


def mean_of(predictions: list[Predictions]) -> Predictions:
    """The ensemble whose probabilities are the mean of its members' (same rows, same labels)."""
    first = predictions[0]
    for other in predictions[1:]:
        if other.label_names != first.label_names or not np.array_equal(other.labels, first.labels):
            raise SystemExit("the variants' predictions are not of the same rows and labels")
    probs = np.mean([p.probs for p in predictions], axis=0).astype(np.float32)
    return Predictions(probs, first.labels, first.label_names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a finished run directory (read only)")
    parser.add_argument("--tune", default="tune", help="tune split name")
    parser.add_argument("--report", default="dev", help="report split name")
    parser.add_argument("--priors", type=int, nargs="+", default=[10, SHRINK_PRIOR, 200])
    args = parser.parse_args()
    run = RunDir(args.run)
    loaded: dict[str, tuple[Predictions, Predictions]] = {}
    for variant in run.variants():
        folder = variant.path / "predictions"
        tune, report = folder / f"{args.tune}.npz", folder / f"{args.report}.npz"
        if tune.is_file() and report.is_file():
            loaded[variant.name] = (load_predictions(tune), load_predictions(report))
    rows = {name: figures(*pair, args.priors) for name, pair in loaded.items()}
    members = list(loaded)
    groups = [members] if len(members) > 2 else []
    if "teacher" in loaded:
        groups += [["teacher", other] for other in members if other != "teacher"]
    groups += [list(pair) for pair in itertools.combinations(members, 2) if "teacher" not in pair]
    for group in groups:
        tune = mean_of([loaded[name][0] for name in group])
        report = mean_of([loaded[name][1] for name in group])
        rows["mean(" + " + ".join(group) + ")"] = figures(tune, report, args.priors)
    columns = list(next(iter(rows.values())))
    print(f"{args.report} macro F1 (thresholds chosen on {args.tune}); run {args.run}")
    print("| variant | " + " | ".join(columns) + " |")
    print("|---|" + "---:|" * len(columns))
    for name, values in rows.items():
        print(f"| {name} | " + " | ".join(f"{values[c]:.4f}" for c in columns) + " |")


if __name__ == "__main__":
    main()
