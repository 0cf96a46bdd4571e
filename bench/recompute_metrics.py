"""Recompute a variant's metrics.json figures with scikit-learn from its saved predictions.

Every figure emocompress reports must be recomputable from the run directory; this script is
the independent check: AUC micro/macro from predictions/<report>.npz, and precision/recall/F1
under each threshold strategy whose parameters metrics.json records (chosen on the tune
split), compared with what metrics.json says.

    python bench/recompute_metrics.py runs/quickstart/variants/teacher [more variant dirs]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

from emocompress.artifacts.predictions import load_predictions
from emocompress.measure.metrics import apply_thresholds


def recompute(variant: Path) -> list[tuple[str, float, float]]:
    metrics = json.loads((variant / "metrics.json").read_text())
    quality = metrics["quality"]
    report = load_predictions(variant / "predictions" / f"{quality['report_split']}.npz")
    usable = [
        j
        for j in range(report.labels.shape[1])
        if 0 < report.labels[:, j].sum() < len(report.labels)
    ]
    rows = [
        (
            "auc.micro",
            quality["auc"]["micro"],
            roc_auc_score(report.labels, report.probs, average="micro"),
        ),
        (
            "auc.macro",
            quality["auc"]["macro"],
            roc_auc_score(report.labels[:, usable], report.probs[:, usable], average="macro"),
        ),
    ]
    for name, entry in quality["strategies"].items():
        pred = apply_thresholds(report.probs, entry, report.label_names)
        for average in ("micro", "macro"):
            p, r, f, _ = precision_recall_fscore_support(
                report.labels, pred, average=average, zero_division=0
            )
            rows += [
                (f"{name}.{average}.f1", entry[average]["f1"], f),
                (f"{name}.{average}.precision", entry[average]["precision"], p),
                (f"{name}.{average}.recall", entry[average]["recall"], r),
            ]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("variants", nargs="+", type=Path)
    parser.add_argument("--tolerance", type=float, default=1e-9)
    args = parser.parse_args(argv)
    worst = 0.0
    for variant in args.variants:
        print(f"{variant}")
        for name, recorded, recomputed in recompute(variant):
            diff = abs(recorded - recomputed)
            worst = max(worst, diff)
            print(
                f"  {name:28s} metrics.json {recorded:.6f}  scikit-learn {recomputed:.6f}  |diff| {diff:.1e}"
            )
    print(f"largest difference: {worst:.1e} (tolerance {args.tolerance:.0e})")
    return 0 if worst <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
